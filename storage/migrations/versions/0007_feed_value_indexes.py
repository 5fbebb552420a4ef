"""indexes for the feeds' filter values among cooperation releases (issue 19)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 04:50:00

``stnews feed`` and the server's catalogue list the partners, sources, topics, types and
languages that cooperation releases have (``storage.queries.present_values``). ``SELECT
DISTINCT`` over ``is_cooperation`` read every cooperation release, several times: 12 ms at
1,000 releases, 420 ms at 100,000 (most of the command's growth). With an index on
``is_cooperation`` then the column, each value is one index seek.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_release_coop_source": ["is_cooperation", "source_id"],
    "ix_release_coop_type": ["is_cooperation", "coop_type"],
    "ix_release_coop_language": ["is_cooperation", "language"],
}


def upgrade() -> None:
    with op.batch_alter_table("releases") as batch_op:
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("releases") as batch_op:
        for name in INDEXES:
            batch_op.drop_index(name)

"""indexes for the poll's queries: a source's newest releases (issue 19)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 23:30:00

The health check after every crawl reads a source's newest publication dates
(``storage.health.publishing_rhythm``). With only ``ix_release_published`` SQLite walked
every release of every source in date order to find one source's 30 newest: 0.7 ms at 1,000
releases, 157 ms at 100,000. ``(source_id, published_at)`` answers it from one index range.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("releases") as batch_op:
        batch_op.create_index(
            "ix_release_source_published", ["source_id", "published_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("releases") as batch_op:
        batch_op.drop_index("ix_release_source_published")

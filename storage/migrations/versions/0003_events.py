"""events and event members (issue 14)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 20:30:00

Two new tables only, no change to existing ones: if another migration lands before this
one, renumber this file (revision and down_revision) to follow it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("first_release_id", sa.Integer(), nullable=True),
        sa.Column("parties", sa.JSON(), nullable=False),
        sa.Column("coop_type", sa.String(length=32), nullable=True),
        sa.Column("instrument", sa.String(length=64), nullable=True),
        sa.Column("ordinal", sa.Integer(), nullable=True),
        sa.Column("occurred_on", sa.Date(), nullable=True),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("merged_into", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["first_release_id"], ["releases.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["merged_into"], ["events.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_event_occurred", ["occurred_on"], unique=False)
        batch_op.create_index("ix_event_updated", ["updated_at"], unique=False)

    op.create_table(
        "event_members",
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("joined_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("signals", sa.JSON(), nullable=False),
        sa.Column("signals_version", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["release_id"], ["releases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("release_id"),
    )
    with op.batch_alter_table("event_members", schema=None) as batch_op:
        batch_op.create_index("ix_event_member_event", ["event_id", "release_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event_members", schema=None) as batch_op:
        batch_op.drop_index("ix_event_member_event")
    op.drop_table("event_members")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_event_updated")
        batch_op.drop_index("ix_event_occurred")
    op.drop_table("events")

"""full-text search index of releases (issue 16): FTS5 on SQLite, tsvector + GIN on PostgreSQL

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 21:40:00

A new table only; the releases already stored are indexed here. If another migration lands
before this one, renumber this file (revision and down_revision) to follow it.
"""

from collections.abc import Sequence

from alembic import op

from storage.search import TABLE, rebuild_index

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        op.execute(
            f"CREATE TABLE {TABLE} ("
            "release_id INTEGER PRIMARY KEY REFERENCES releases (id) ON DELETE CASCADE, "
            "document TSVECTOR NOT NULL)"
        )
        op.execute(f"CREATE INDEX ix_{TABLE}_document ON {TABLE} USING gin (document)")
    else:
        # The tokens are made by storage.search (CJK bigrams); FTS5 only splits on spaces
        # and punctuation, keeping them as they are.
        op.execute(
            f"CREATE VIRTUAL TABLE {TABLE} USING fts5("
            "title, body, tokenize = 'unicode61 remove_diacritics 0')"
        )
    rebuild_index(connection)


def downgrade() -> None:
    op.execute(f"DROP TABLE {TABLE}")

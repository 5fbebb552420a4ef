"""HTTP validators (ETag, Last-Modified) of pages, for conditional requests."""

from collections.abc import Mapping

from sqlalchemy.orm import Session

from storage.models import HttpValidator, utcnow
from storage.releases import upsert_insert


def get_validators(session: Session, url: str) -> HttpValidator | None:
    return session.get(HttpValidator, url)


def save_validators(session: Session, validators: Mapping[str, tuple[str | None, str | None]]):
    """Store (etag, last_modified) per URL, replacing what was there."""
    now = utcnow()
    for url, (etag, last_modified) in validators.items():
        # An upsert: two crawls of one source may save the same page's validators at once.
        insert = upsert_insert(session, HttpValidator).values(
            url=url, etag=etag, last_modified=last_modified, updated_at=now
        )
        session.execute(
            insert.on_conflict_do_update(
                index_elements=["url"],
                set_={"etag": etag, "last_modified": last_modified, "updated_at": now},
            )
        )

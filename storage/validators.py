"""HTTP validators (ETag, Last-Modified) of pages, for conditional requests."""

from collections.abc import Mapping

from sqlalchemy import delete
from sqlalchemy.orm import Session

from storage.limits import fit_validator
from storage.models import HttpValidator, utcnow
from storage.releases import upsert_insert


def get_validators(session: Session, url: str) -> HttpValidator | None:
    return session.get(HttpValidator, url)


def save_validators(session: Session, validators: Mapping[str, tuple[str | None, str | None]]):
    """Store (etag, last_modified) per URL, replacing what was there.

    A validator over its column's limit is not kept (logged; ``storage/limits.py``): the page
    is then fetched in full next time, where a cut ETag would be a wrong one. A URL over its
    limit keeps no validators at all.
    """
    now = utcnow()
    rows = []
    for url, (given_etag, given_modified) in validators.items():
        if fit_validator(HttpValidator, "url", url, url) is None:
            continue
        etag = fit_validator(HttpValidator, "etag", given_etag, url)
        last_modified = fit_validator(HttpValidator, "last_modified", given_modified, url)
        if etag is None and last_modified is None:
            # Nothing usable: forget what was stored, so no stale validator is sent.
            session.execute(delete(HttpValidator).where(HttpValidator.url == url))
            continue
        rows.append({"url": url, "etag": etag, "last_modified": last_modified, "updated_at": now})
    if not rows:
        return
    # An upsert: two crawls of one source may save the same page's validators at once. One
    # statement executed for every page (a crawl's list pages: issue 19, one each before).
    # On the session's connection: through the ORM's bulk path, rows with and without a
    # value (None) went by separate statements.
    insert = upsert_insert(session, HttpValidator)
    session.connection().execute(
        insert.on_conflict_do_update(
            index_elements=["url"],
            set_={name: insert.excluded[name] for name in ("etag", "last_modified", "updated_at")},
        ),
        rows,
    )

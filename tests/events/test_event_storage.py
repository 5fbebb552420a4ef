"""storage.events.write_events: what a batch of event writes leaves in the database."""

from __future__ import annotations

from sqlalchemy import select

from storage import Database, save_release
from storage.events import EventSummary, EventWrite, Membership, write_events
from storage.models import Event, EventMember, Release
from tests.feeds.conftest import record


def _summary(members: int, first: int) -> EventSummary:
    return EventSummary(["FR", "TW"], "agreement", None, None, None, first, members)


def _member(release_id: int) -> Membership:
    return Membership(release_id, 0.9, {"k": release_id}, 1, f"fp{release_id}")


def test_a_batch_of_writes_creates_merges_and_moves_members(database: Database) -> None:
    # Issue 19: the events of a batch are flushed once, before their members, instead of
    # once each; what is stored must not change: new events with their members, an absorbed
    # event pointing to its survivor with its members moved, a member moved between events.
    with database.session() as session:
        for n in range(1, 6):
            save_release(session, record(f"r{n}", url=f"https://www.nstc.gov.tw/d/r{n}"))
    with database.session(readonly=True) as session:
        ids = list(session.scalars(select(Release.id).order_by(Release.id)))
    with database.session() as session:  # stored before: "old" with two members
        old = EventWrite("old", _summary(2, ids[0]), [_member(ids[0]), _member(ids[1])])
        write_events(session, [old])
    with database.session() as session:
        written = write_events(
            session,
            [
                EventWrite("a", _summary(4, ids[0]), [_member(ids[2]), _member(ids[3])], ["old"]),
                EventWrite("b", _summary(2, ids[1]), [_member(ids[1]), _member(ids[4])]),
            ],
        )
    assert written == 4
    with database.session(readonly=True) as session:
        events = {e.id: (e.members, e.merged_into) for e in session.scalars(select(Event))}
        query = select(EventMember.release_id, EventMember.event_id)
        members = {release_id: event_id for release_id, event_id in session.execute(query)}
    assert events == {"old": (0, "a"), "a": (4, None), "b": (2, None)}
    assert members == {ids[0]: "a", ids[1]: "b", ids[2]: "a", ids[3]: "a", ids[4]: "b"}

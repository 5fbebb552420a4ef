"""Issue 18, item 6: login, maintenance and error pages served in place of releases are not
stored as news; the source is degraded; the releases are fetched again once the site recovers.

The corpus is `fixtures/bad/interstitial/` (SYNTHETIC pages written by its `make_cases.py`):
for `ey`, `msit` and `nstc` it lists what replaces the site's answer for some release URLs
during an outage (login walls, a redirect to single sign-on, maintenance notices, firewall and
"not found" pages in English, Traditional Chinese, Korean, Japanese, French and German; a
content-less template served twice) and controls that must be kept. Each source is replayed
through its real spider and pipelines from `fixtures/<source>/` with those answers (the
outage), then from `fixtures/<source>/` alone (the site recovered): the list pages are the
same both times, so a list validator saved by the first crawl would turn the second into a
304 that hides the missing releases.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.interstitial import REASONS, has_password_field, phrases_in, recognise
from crawler.urls import canonical_url
from storage import Database
from storage.health import MonitorEvent, SourceHealth
from storage.models import CrawlRun, HttpValidator, Release
from tests.corpus_cases import load_cases
from tests.safety_support import CORPUS, crawl
from tests.support import ROOT

# Whole crawls about the crawler's handling of input, not about the database: SQLite leg only.
pytestmark = pytest.mark.slow

CASES = CORPUS / "interstitial"
FIXTURES = ROOT / "fixtures"

_cases = load_cases("interstitial")
NSTC_PAGES = _cases.NSTC_PAGES


def answers(source: str) -> list[dict]:
    return json.loads((CASES / source / "responses.json").read_text(encoding="utf-8"))["responses"]


def replay_dir(target: Path, source: str, outage: bool) -> Path:
    """``fixtures/<source>`` as a replay directory, with the outage's answers if ``outage``."""
    shutil.copytree(FIXTURES / source, target / source)
    if outage:
        index_path = target / source / "index.json"
        index = json.loads(index_path.read_text(encoding="utf-8"))
        replaced = {answer["url"]: answer for answer in answers(source)}
        kept = [r for r in index["responses"] if r["url"] not in replaced]
        index["responses"] = kept + [
            {k: v for k, v in answer.items() if k != "expect"} for answer in replaced.values()
        ]
        index_path.write_text(json.dumps(index), encoding="utf-8")
        for page in (CASES / source).glob("*.html"):
            shutil.copy(page, target / source / page.name)
    return target


def stored(db: str) -> dict[str, Release]:
    database = Database(db)
    try:
        with database.session(readonly=True) as session:
            rows = {row.url: row for row in session.scalars(select(Release))}
            for row in rows.values():
                session.expunge(row)
            return rows
    finally:
        database.dispose()


def health(db: str, source: str) -> tuple[str, list[str], list[str]]:
    database = Database(db)
    try:
        with database.session(readonly=True) as session:
            row = session.get(SourceHealth, source)
            events = session.scalars(
                select(MonitorEvent.kind).where(MonitorEvent.source == source)
                .order_by(MonitorEvent.id)
            ).all()  # fmt: skip
            assert row is not None
            return row.status, list(row.reasons), list(events)
    finally:
        database.dispose()


# --- the recogniser on its own ---------------------------------------------------------------


def test_phrases_of_every_language_are_found() -> None:
    samples = {
        "login": ["Forgot your password?", "請重新登入", "비밀번호", "パスワード", "mot de passe",
                  "Passwort"],
        "maintenance": ["under maintenance", "系統維護", "시스템 점검", "メンテナンス中",
                        "temporairement indisponible", "Wartungsarbeiten"],
        "error": ["Page not found", "找不到網頁", "페이지를 찾을 수 없", "ページが見つかりません",
                  "page introuvable", "Seite nicht gefunden"],
    }  # fmt: skip
    for kind, texts in samples.items():
        for text in texts:
            assert kind in phrases_in(text), (kind, text)
    # Whole words for Latin phrases: no "login" inside "Bloginfo", no "wartung" in "Erwartung".
    assert phrases_in("Bloginfo and the Erwartungen of partners") == {}


def test_a_release_dated_where_the_source_dates_its_releases_is_never_a_notice() -> None:
    text = "Please log in. Password. Forgot your password? Verification code."
    assert recognise(title="Login", title_from_page=True, body=text, dated_by_layout=False)
    assert recognise(title="Login", title_from_page=True, body=text, dated_by_layout=True) is None


def test_long_or_single_mention_texts_are_kept() -> None:
    one_mention = "Applicants can now log in to the new platform to file their documents. " * 6
    assert len(one_mention) > 300
    assert not recognise(title="T", title_from_page=False, body=one_mention, dated_by_layout=False)
    long_notice = ("System maintenance: the service is temporarily unavailable. " * 40).strip()
    assert len(long_notice) > 2000
    assert not recognise(title="T", title_from_page=False, body=long_notice, dated_by_layout=False)
    # A title that mentions a phrase among other words is a release's title.
    assert recognise(title="Taiwan and Japan sign a pact on password-free login for citizens",
                     title_from_page=True, body="", dated_by_layout=False) is None  # fmt: skip


def test_a_redirect_to_a_login_address_is_a_login_page() -> None:
    found = recognise(
        title="News", title_from_page=True, body="Some text " * 100, dated_by_layout=False,
        requested_url="https://x.gov/news/1", final_url="https://x.gov/Account/Login?r=/news/1",
    )  # fmt: skip
    assert found is not None and found.reason == "login-page"
    # Whole path segments only: a release's slug or id that contains such a word is no sign.
    for final in ("https://x.gov/author/news/1", "https://x.gov/news/error-correction-codes",
                  "https://x.gov/news/404", "https://x.gov/news/1/"):  # fmt: skip
        assert not recognise(title="News", title_from_page=True, body="Some text " * 100,
                             dated_by_layout=False, requested_url="https://x.gov/news/1",
                             final_url=final), final  # fmt: skip


def test_password_fields_are_found_in_linear_time() -> None:
    assert has_password_field(b'<form><input name="p" type="password"></form>')
    assert has_password_field(b"<INPUT TYPE=PASSWORD NAME=x>")
    assert not has_password_field(b'<input type="text" name="password-hint">')
    import time

    hostile = b"<input " * 200_000  # unclosed tags: no quadratic backtracking
    started = time.perf_counter()
    assert not has_password_field(hostile)
    assert time.perf_counter() - started < 2


def test_the_password_field_is_looked_for_only_when_the_verdict_hangs_on_it() -> None:
    # The look is a scan of the raw page (issue 19): a release's own text never needs it.
    asked: list[bool] = []

    def field() -> bool:
        asked.append(True)
        return True

    release = "Taiwan and France sign a quantum research agreement in Paris. " * 3
    assert recognise(title="T", title_from_page=True, body=release, dated_by_layout=False,
                     password_field=field) is None  # fmt: skip
    assert asked == []
    # One login phrase in a short text (over TINY_TEXT): a login page only with a password
    # field.
    notice = "Please log in to continue. " + "The archive of the ministry's news. " * 10
    assert recognise(title="T", title_from_page=True, body=notice, dated_by_layout=False) is None
    found = recognise(title="T", title_from_page=True, body=notice, dated_by_layout=False,
                      password_field=field)  # fmt: skip
    assert asked == [True] and found is not None and found.reason == "login-page"


@pytest.mark.parametrize("name", sorted(NSTC_PAGES))
def test_each_nstc_case_page_alone(name: str) -> None:
    """Each stand-alone page of the corpus, as the generic chain reads it (no date, the text
    of its body), is recognised as what its `expect` says."""
    from lxml import html as lxml_html

    page = (CASES / "nstc" / f"{name}.html").read_bytes()
    root = lxml_html.fromstring(page)
    text = " ".join(root.body.text_content().split())
    title = root.findtext(".//title") or ""
    found = recognise(title=title, title_from_page=True, body=text, dated_by_layout=False,
                      password_field=lambda: has_password_field(page))  # fmt: skip
    assert found is not None and found.reason == NSTC_PAGES[name][3], (name, found)


# --- outage, then recovery, through the real crawls ---------------------------------------------


@pytest.fixture(scope="module", params=["ey", "msit", "nstc"])
def outage(request, tmp_path_factory: pytest.TempPathFactory):
    from tests.databases import new_database_url

    source = request.param
    tmp = tmp_path_factory.mktemp(f"outage-{source}")
    db = new_database_url(tmp)
    # Health is recorded from these replays (by default only real crawls move it): the
    # outage and the recovery are what this test watches.
    judged = {"STNEWS_HEALTH_FROM_REPLAY": "true"}
    broken = crawl(
        db, tmp, source, replay=replay_dir(tmp / "broken", source, outage=True), settings=judged
    )
    during = stored(db), health(db, source)
    recovered = crawl(
        db, tmp, source, replay=replay_dir(tmp / "fixed", source, outage=False), settings=judged
    )
    after = stored(db), health(db, source)
    database = Database(db)
    with database.session(readonly=True) as session:
        runs = [r.status for r in session.scalars(select(CrawlRun).order_by(CrawlRun.id))]
        validators = session.scalar(select(HttpValidator.url).limit(1))
    database.dispose()
    return source, broken, during, recovered, after, runs, validators


def expected(source: str) -> dict[str, str]:
    """Release URL (canonical, as stored) -> what must become of it."""
    return {canonical_url(a["url"]): a["expect"] for a in answers(source) if a.get("expect")}


def test_no_such_page_is_stored_and_each_is_counted(outage) -> None:
    source, broken, (rows, _), _, _, runs, _ = outage
    assert broken.returncode == 0, broken.stderr[-3000:]
    assert runs[0] == "finished"
    expect = expected(source)
    dropped = broken.stats_with(source, "releases/dropped/")
    counted = {reason: dropped.get(reason, 0) for reason in REASONS if dropped.get(reason)}
    wanted: dict[str, int] = {}
    for kind in expect.values():
        if kind.endswith("-page"):
            wanted[kind] = wanted.get(kind, 0) + 1
    if any(kind == "boilerplate-pair" for kind in expect.values()):
        wanted["boilerplate-page"] = 1
    assert counted == wanted, broken.stderr[-3000:]
    for url, kind in expect.items():
        if kind.endswith("-page"):
            assert url not in rows, (url, kind)
        elif kind == "stored":
            assert url in rows, url
    pair = [url for url, kind in expect.items() if kind == "boilerplate-pair"]
    if pair:
        assert sum(url in rows for url in pair) == 1
    # Nothing of a notice reached any stored row, by whatever address.
    for row in rows.values():
        assert "/Login" not in row.url
        assert not (phrases_in(row.title) and len(row.title) < 20), row.title
    # Each drop was logged with its evidence.
    assert broken.stderr.count("-page: https://") >= sum(wanted.values())


def test_the_source_is_degraded_then_recovers(outage) -> None:
    _, _, (_, (status, reasons, _)), _, (_, (after, _, events)), _, _ = outage
    assert status == "degraded", reasons
    assert any("answered with a page that is no release" in reason for reason in reasons)
    assert after == "healthy"
    assert "degraded" in events and events[-1] == "recovered"


def test_the_next_crawl_fetches_the_affected_releases_again(outage) -> None:
    source, broken, (during, _), recovered, (after, _), runs, validators = outage
    assert recovered.returncode == 0, recovered.stderr[-3000:]
    assert runs == ["finished", "finished"]
    # The outage crawl saved no list validator, so the same list was read again, not 304.
    assert broken.stat(source, "incremental/not_modified") == 0
    assert recovered.stat(source, "incremental/not_modified") == 0
    expect = expected(source)
    affected = [url for url, kind in expect.items() if kind.endswith(("-page", "-pair"))]
    missing = [url for url in affected if url not in during]
    assert missing
    for url in missing:
        assert url in after, url
    assert recovered.stat(source, "releases/new") == len(missing)
    # And this complete crawl saved the validators the next poll will send.
    assert validators is not None

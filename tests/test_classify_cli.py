"""`stnews classify` and `stnews reclassify` through the command line (`crawler.cli.main`, in
this process; the crawl that fills the database runs in a child)."""

import json
from pathlib import Path

import pytest

from tests.cli_support import call
from tests.crawl_support import crawl_json, run_cli
from tests.databases import new_database_url
from tests.support import ROOT


def classify(lines: str) -> list[dict]:
    result = call("classify", input=lines)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_one_output_line_per_input_line_in_order() -> None:
    releases = [
        {"title": "Korea and France hold 7th Joint Coordinating Committee on S&T",
         "body": "The Ministry of Science and ICT held the committee with France in Seoul.",
         "agency_country": "KR", "language": "en"},
        "not json at all",
        {"title": "國科會公布115年度研究計畫補助結果", "body": "國內大學研究團隊獲補助。",
         "agency_country": "TW", "language": "zh-Hant"},
    ]  # fmt: skip
    text = "\n".join(
        r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in releases
    )
    out = classify(text + "\n")
    assert len(out) == 3
    assert out[0]["is_cooperation"] is True and out[0]["partners"] == ["FR"]
    assert out[0]["coop_type"] == "joint-committee" and out[0]["evidence"]
    assert out[1]["line"] == 2 and "invalid JSON" in out[1]["error"]
    assert out[2]["is_cooperation"] is False and out[2]["title"] == releases[2]["title"]


def test_reclassify_reports_changed_labels(tmp_path) -> None:
    db = new_database_url(tmp_path)
    crawl_json(db, "msit")
    from sqlalchemy import update

    from storage import Database, Release

    database = Database(db)
    with database.session() as session:  # simulate labels from older rules
        session.execute(update(Release).values(is_cooperation=False, partners=[], coop_type=None))
    result = call("--db", db, "reclassify")
    assert "Reclassified 16 releases" in result.stdout
    changed = int(result.stdout.split(":")[1].split()[0])
    cooperation = sum(
        r["is_cooperation"] for r in json.loads(call("--db", db, "releases", "--json").stdout)
    )
    assert changed == cooperation > 0
    again = call("--db", db, "reclassify")
    assert ": 0 changed labels" in again.stdout


@pytest.mark.slow  # classification, not the store: SQLite leg only
def test_crawl_and_reclassify_judge_from_the_sources_home(tmp_path) -> None:
    """The home side is the source's `home`, not its agency's country, both when a crawl
    classifies and when `reclassify` does it again. The Commission sits in Brussels, but
    speaks for the Union: with `agency_country = "BE"` and `home = "EU"`, EU is never its own
    partner."""
    from crawler.classify import classify as classify_release

    text = (ROOT / "sources.toml").read_text(encoding="utf-8")
    entry = 'name = "ec_rtd"\nagency = "European Commission, Directorate-General for Research'
    assert entry in text and '\nagency_country = "EU"\nhome = "EU"' in text
    head, tail = text.split(entry, 1)
    tail = tail.replace(
        '\nagency_country = "EU"\nhome = "EU"', '\nagency_country = "BE"\nhome = "EU"', 1
    )
    sources = tmp_path / "sources.toml"
    sources.write_text(head + entry + tail, encoding="utf-8")
    env = {"STNEWS_SOURCES": str(sources)}
    db = new_database_url(tmp_path)
    run_cli("crawl", "--replay", str(ROOT / "fixtures"), "--json", "ec_rtd", db=db, env=env)

    def stored() -> list[dict]:
        return json.loads(run_cli("releases", "--json", db=db, env=env).stdout)

    releases = stored()
    assert releases and {r["agency_country"] for r in releases} == {"BE"}
    as_eu = {
        r["url"]: classify_release(r["title"], r["body"], "EU", r["language"]) for r in releases
    }
    as_be = {
        r["url"]: classify_release(r["title"], r["body"], "BE", r["language"]) for r in releases
    }
    assert any(as_eu[u].partners != as_be[u].partners for u in as_eu)  # the home matters here
    for release in releases:
        assert release["partners"] == list(as_eu[release["url"]].partners), release["url"]
        assert "EU" not in release["partners"]

    from sqlalchemy import update

    from storage import Database, Release

    with Database(db).session() as session:  # labels from older rules
        session.execute(update(Release).values(is_cooperation=False, partners=[], coop_type=None))
    run_cli("reclassify", db=db, env=env)
    for release in stored():
        assert release["partners"] == list(as_eu[release["url"]].partners), release["url"]


def test_classify_reads_an_optional_home() -> None:
    line = {"title": "EU and Japan launch formal talks on association to Horizon Europe",
            "body": "The European Commission and Japan opened negotiations in Brussels.",
            "agency_country": "BE", "language": "en"}  # fmt: skip
    # A line of `stnews releases --json` carries its source: that source's home (ec_rtd: EU).
    from_source = {**line, "source": "ec_rtd"}
    as_be, as_eu, as_source = classify(
        "\n".join(json.dumps(x) for x in (line, {**line, "home": "EU"}, from_source)) + "\n"
    )
    assert as_eu["partners"] == ["JP"] == as_source["partners"]
    # For a member state (BE) the title pairs two other sides, the Union and Japan: an
    # EU-level negotiation reported by a member state, to which it is no party (REALSET.md).
    assert not as_be["is_cooperation"] and as_be["partners"] == []


def test_worker_processes_give_the_same_lines_in_the_same_order() -> None:
    realset = (ROOT / "tests" / "classify" / "realset.jsonl").read_text(encoding="utf-8")
    lines = realset.splitlines()[:80]
    lines[7:7] = ["{broken", "", '["an array"]']  # error lines keep their numbers in workers
    text = "\n".join(lines) + "\n"
    alone = call("classify", "--jobs", "1", input=text)
    pooled = call("classify", "--jobs", "3", input=text)
    assert alone.returncode == pooled.returncode == 0, pooled.stderr
    assert pooled.stdout == alone.stdout
    out = [json.loads(line) for line in pooled.stdout.splitlines()]
    assert len(out) == 83 and [o.get("line") for o in out[7:10]] == [8, 9, 10]
    assert sum(bool(o.get("is_cooperation")) for o in out) > 10


def _big_result(size: int) -> str:
    return "x" * size


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads a thread's CPU in /proc")
def test_the_pool_s_worker_handler_does_not_spin_while_results_wait() -> None:
    """multiprocessing's Pool wakes its worker-handler thread whenever a result sits unread in
    the results pipe, so it spins while large results stream in; ``_quiet_pool``'s does
    not (its CPU time stays at a clock tick or two), and every result still arrives."""
    from crawler.cli.classify import _quiet_pool

    with _quiet_pool(2) as pool:
        results = list(pool.imap(_big_result, [200_000] * 600, chunksize=4))
        handler = pool._worker_handler.native_id
        fields = Path(f"/proc/self/task/{handler}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    assert len(results) == 600 and all(len(r) == 200_000 for r in results)
    assert ticks <= 2


def test_only_a_file_of_one_group_at_most_is_classified_without_workers(tmp_path) -> None:
    """A regular file of ``CHUNK`` lines or fewer (counted from the stream's position) is
    classified in this process; a longer file, a pipe or an in-memory stream keep the pool."""
    import io
    import os

    from crawler.cli.classify import CHUNK, _one_group_at_most

    def opened(text: str, skip: int = 0):
        path = tmp_path / f"in{len(text)}-{skip}.jsonl"
        path.write_text(text, encoding="utf-8")
        stream = open(path, encoding="utf-8")  # noqa: SIM115 - closed below
        os.lseek(stream.fileno(), skip, os.SEEK_SET)
        return stream

    cases = [("{}\n" * CHUNK, 0, True), ("{}\n" * (CHUNK - 1) + "{}", 0, True),
             ("{}\n" * CHUNK + "{}", 0, False), ("{}\n" * (CHUNK + 1), 0, False),
             ("{}\n" * (CHUNK + 1), 3, True), ("", 0, True)]  # fmt: skip
    for text, skip, expected in cases:
        with opened(text, skip) as stream:
            assert _one_group_at_most(stream) is expected, (len(text), skip)
    assert not _one_group_at_most(io.StringIO("{}\n"))
    read, write = os.pipe()
    with open(read, encoding="utf-8") as pipe, open(write, "w", encoding="utf-8") as feed:
        feed.write("{}\n")
        feed.flush()
        assert not _one_group_at_most(pipe)


def test_jobs_must_be_a_count() -> None:
    result = call("classify", "--jobs", "-2", input="")
    assert result.returncode == 2 and "not a number of processes" in result.stderr

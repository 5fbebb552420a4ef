"""`stnews classify` and `stnews reclassify` through the command line (`crawler.cli.main`, in
this process; the crawl that fills the database runs in a child)."""

import json

from tests.cli_support import call
from tests.crawl_support import crawl_json
from tests.databases import new_database_url


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

"""Full-length bodies: what a release says far from its title must not decide it.

The real set's bodies are restated leads, a few hundred characters; the releases the feed
sees run to thousands. These tests put real texts together (the real set's own items, the
seed pages, and the 181 real news articles of the article-extraction benchmark,
`data/news181.jsonl.gz`) and check that a country named further down
does not turn a domestic release into cooperation, that a grouping the home belongs to is
no partner, and that envoys' postings are not pairs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.classify import classify
from tests.support import SEEDS

REALSET = Path(__file__).with_name("realset.jsonl")
NEWS = Path(__file__).with_name("data") / "news181.jsonl.gz"  # data/news181.md says what


def _items() -> dict[str, dict]:
    with REALSET.open(encoding="utf-8") as fh:
        return {item["id"]: item for item in map(json.loads, fh)}


def _seed_body(prefix: str) -> str:
    return next(SEEDS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")


def test_countries_named_after_the_lead_do_not_make_a_domestic_release_cooperation() -> None:
    items = _items()
    # Real texts: domestic agreements, then a long page that names no foreign side (the NSTC
    # overview's opening would; the Korean MSIT release body is kept only past its lead),
    # then an envoy's talks between two other countries.
    passing = items["en-s-sana-01"]["body"] + "\n" + items["en-s-belarus-01"]["body"]
    fillers = ("en-s-pyne-01", "en-s-mqworld-01", "en-s-disr-01")
    filler = "\n".join(items[i]["body"] for i in fillers)
    for key in ("en-s-pyne-02", "en-s-govworld-01", "en-s-psector-01"):
        item = items[key]
        short = classify(item["title"], item["body"], item["agency_country"], "en")
        body = item["body"] + "\n" + filler + "\n" + passing
        long = classify(item["title"], body, item["agency_country"], "en")
        assert not short.is_cooperation and not long.is_cooperation, key


def test_later_sentences_count_only_for_the_sides_the_title_or_lead_names() -> None:
    items = _items()
    item = items["de-s-hrk-01"]  # an agreement with Japan
    other = items["en-s-sana-01"]["body"]  # Syria and Iran, in later sentences
    base: dict[str, object] = {}
    more: dict[str, object] = {}
    classify(item["title"], item["body"], "DE", "de", base)
    classify(item["title"], item["body"] + "\n" + other, "DE", "de", more)
    assert more["score"] == base["score"]


def test_agreement_release_with_a_long_real_preamble_is_still_found() -> None:
    # The seed release on the Taiwan-France convention, behind the opening of the NSTC's
    # International Cooperation page (both real pages): the title carries the signing.
    title = (
        "Taiwan and France Jointly Announce the Signing of a Science and Technology"
        " Cooperation Convention"
    )
    preamble = _seed_body("002")[:2000]
    result = classify(title, preamble + "\n" + _seed_body("000"), "TW", "en")
    assert result.is_cooperation and "FR" in result.partners
    assert result.coop_type == "agreement"


def test_real_full_length_news_is_rarely_cooperation() -> None:
    # 181 real news articles (median ~3,200 characters, up to 53,000) on anything but S&T
    # cooperation; they name countries, deals, visits and talks. When this was written the
    # rules alone said cooperation in 13 of 543 verdicts (three homes each), rules and model
    # in 15 (branch classq2: 20; its rules alone 29): the bound catches a regression.
    import gzip

    with gzip.open(NEWS, "rt", encoding="utf-8") as fh:
        articles = [json.loads(line) for line in fh]
    assert len(articles) == 181
    said = total = 0
    for article in articles:
        for home in ("US", "GB", "TW"):
            total += 1
            said += classify(article["title"], article["body"], home, "en").is_cooperation
    assert said <= 0.045 * total, (said, total)


def test_a_grouping_the_home_belongs_to_is_no_partner() -> None:
    title = "2023 G7 Science and Technology Ministers' Meeting in Sendai"
    body = "The G7 ministers met in Sendai and adopted a communiqué on open science."
    assert not classify(title, body, "JP", "en").is_cooperation
    # For a non-member the grouping can be the other party.
    title = "제10차 한-아세안 과학기술 공동위원회 개최"
    korea = classify(title, "한국과 아세안이 공동위원회를 열었다.", "KR", "ko")
    assert korea.is_cooperation and "ASEAN" in korea.partners


@pytest.mark.parametrize("key", ["ja-s-yamaguchi-01", "ja-s-yamaguchi-02", "ja-s-mukogawa-01"])
def test_envoys_postings_and_partner_schools_are_no_pairs_nor_signings(key: str) -> None:
    # 駐日米国 (the US envoy posted in Japan), 在ジブチ日本国大使 (Japan's ambassador in
    # Djibouti), 協定校 (a partner school under an old agreement): courtesy calls.
    item = _items()[key]
    result = classify(item["title"], item["body"], item["agency_country"], item["language"])
    assert not result.is_cooperation

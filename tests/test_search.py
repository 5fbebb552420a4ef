"""Full-text search (storage.search, storage.browse) on the backend under test: CJK words found
inside unspaced text, prefixes, filters, and an index kept in step with stores, edits and
deletes."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import delete, select

from storage import Database, Release, save_release
from storage.browse import Filters, browse
from storage.search import query_terms, tokens
from tests.feeds.conftest import day, record

COOP = {"is_cooperation": True, "confidence": 0.9}
# Titles and bodies of real releases in the fixtures (nstc_zh, msit_ko, jst, nstc).
TEXTS = {
    "zh": ("臺法科技合作會議於巴黎舉行 雙方簽署量子與半導體聯合研究合作備忘錄", "zh-Hant", ["FR"]),
    "ko": ("제14차 한-일 과학기술협력위원회 개최", "ko", ["JP"]),
    "ja": ("日英、量子技術で3件の共同研究を開始", "ja", ["GB"]),
    "en": ("Taiwan and France Jointly Announce the Signing of a Science Agreement", "en", ["FR"]),
    "fr": ("Coopération scientifique franco-taïwanaise: la région soutient", "fr", ["TW"]),
}


@pytest.fixture
def searchable(database: Database) -> Database:
    with database.session() as session:
        for month, (key, (title, language, partners)) in enumerate(TEXTS.items(), start=1):
            save_release(
                session,
                record(
                    key,
                    title=title,
                    body=f"{title}\n\nBody of the {key} release.",
                    language=language,
                    partners=partners,
                    published_at=day(month, 1),
                    **COOP,
                ),
            )
        save_release(session, record("other", title="Budget plan", published_at=day(6, 1)))
    return database


def found(database: Database, query: str = "", **filters) -> list[str]:
    with database.session(readonly=True) as session:
        page = browse(session, Filters(query=query, **filters), limit=50)
        return [release.native_id for release in page.releases]


def test_tokens_are_bigrams_for_cjk_and_folded_words_for_the_rest() -> None:
    assert tokens("科技合作") == ["科技", "技合", "合作", "作"]
    assert tokens("협력을 Région ＡＩ") == ["협력", "력을", "을", "region", "ai"]
    assert [t.tokens for t in query_terms("科技合作 semicond")] == [
        ("科技", "技合", "合作"),
        ("semicond",),
    ]


def _tokens_run_by_run(text: str, limit: int) -> list[str]:
    """The tokens as the module's docstring defines them, run by run (``_runs``): what
    ``tokens`` computed before its one-pattern paths (issue 19)."""
    from storage.search import _runs

    out: list[str] = []
    for is_cjk, run in _runs(text):
        out += [run[i : i + 2] for i in range(len(run) - 1)] + [run[-1]] if is_cjk else [run]
    return out[:limit]


def test_tokens_of_real_releases_in_every_script_are_those_of_the_definition() -> None:
    import json
    from pathlib import Path

    realset = Path(__file__).parent / "classify" / "realset.jsonl"
    texts = [t for line in realset.read_text(encoding="utf-8").splitlines()
             for t in (json.loads(line)["title"], json.loads(line)["body"] or "")]  # fmt: skip
    assert len(texts) > 3000
    assert any(not t.isascii() for t in texts) and any(t.isascii() for t in texts)
    texts += ["科", "ａ科学ｂ", "Ünïcode café 合作", "x" * 150 + " 合作", "协议-签署_2024"]
    for text in texts:
        for limit in (16_000, 5):
            assert tokens(text, limit) == _tokens_run_by_run(text, limit), text[:80]


def test_tokens_of_hard_cases_and_random_texts_are_those_of_the_definition() -> None:
    # Issue 19: words found by translate, replace and split instead of one match each; the
    # cases where that could differ: Unicode separators and marks, case folding that changes
    # length or splits a word, compatibility forms, long words, limits, a lone surrogate.
    import random

    cases = [
        "İstanbul Straße ǅemal ﬁnance Ⅻ x² ٣٤ naïve CAFÉ", "a_b a\x1cb a\xa0b a\u2028b c\u3000d",
        "हिन्दी ไทย Ελληνικά Σίσυφος кириллица", "–—’“” €5 £3 ½ ⅓", "\udc80abc déjà",
        "é" * 150 + " x", "ok " + "a" * 150 + " é", "e\u0301cole o\u0308 \u0301", "",
        "Ünïcode café 合作", "🙂 emoji ok", "ＦＵＬＬ ｗｉｄｔｈ", "Å Ǻ ẞ ß", "’s-Hertogenbosch",
    ]
    pool = "aZ9 _-.,’–€£éÉüßİıǅﬁ²٣\xa0\u2028\u0301\u0308" + "Ωжह\u093fไ\u0e31"
    generator = random.Random(19)
    cases += ["".join(generator.choices(pool, k=generator.randint(1, 60))) for _ in range(3000)]
    for text in cases:
        for limit in (16_000, 3, 1, 0):
            assert tokens(text, limit) == _tokens_run_by_run(text, limit), repr(text)


def test_no_letter_or_digit_is_a_space_to_split() -> None:
    # ``tokens`` splits at whitespace once every other character is a space: that must
    # never cut a word (a letter or digit ``str.split`` took for whitespace).
    import re
    import sys

    word = re.compile(r"[^\W_]")
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        character = chr(code)
        assert not (character.isspace() and word.match(character)), hex(code)


def _tsvector_by_definition(title_tokens: list[str], body_tokens: list[str]) -> str:
    """The PostgreSQL literal as first written (before issue 19's faster one): each token
    once, with its first 256 positions in order, A-weighted in the title, quotes doubled."""
    positions: dict[str, list[str]] = {}
    for index, token in enumerate(title_tokens, start=1):
        positions.setdefault(token, []).append(f"{index}A")
    for index, token in enumerate(body_tokens, start=len(title_tokens) + 1):
        positions.setdefault(token, []).append(str(min(index, 16383)))
    return " ".join(
        "'{}':{}".format(token.replace("\\", "\\\\").replace("'", "''"), ",".join(spots[:256]))
        for token, spots in positions.items()
    )


def test_tsvector_literal_of_real_releases_is_that_of_the_definition() -> None:
    import json
    from pathlib import Path

    from storage.search import _document, _tsvector

    realset = Path(__file__).parent / "classify" / "realset.jsonl"
    items = map(json.loads, realset.read_text(encoding="utf-8").splitlines())
    documents = [_document(item["title"], item["body"] or "") for item in items]
    assert len(documents) > 1500
    documents += [
        (["it's", "a\\b"], ["it's"] * 300 + ["y"]),  # quotes, a backslash, over 256 positions
        ([], ["z"] * 17_000),  # past PostgreSQL's last position
        (["a"] * 20, ["a"] * 16_390),
        ([], []),
        (["t"], []),
    ]
    for title_tokens, body_tokens in documents:
        expected = _tsvector_by_definition(title_tokens, body_tokens)
        assert _tsvector(title_tokens, body_tokens) == expected, title_tokens[:5]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("科技合作", ["zh"]),  # inside an unspaced Chinese title
        ("半導體", ["zh"]),
        ("과학기술협력", ["ko"]),  # inside a Korean compound
        ("협력", ["ko"]),
        ("共同研究", ["ja"]),
        ("量子", ["ja", "zh"]),  # both; newest first on equal rank is not asserted
        ("france", ["en"]),
        ("jointly announce", ["en"]),
        ("sign", ["en"]),  # a prefix of "Signing"
        ("region", ["fr"]),  # "région" without its accent
        ("Coopération", ["fr"]),
        ("nothing-like-this", []),
    ],
)
def test_queries_in_every_script_find_their_release(
    searchable: Database, query: str, expected: list[str]
) -> None:
    assert sorted(found(searchable, query)) == sorted(expected)


def test_search_combines_with_filters(searchable: Database) -> None:
    assert sorted(found(searchable, "量子", language="zh")) == ["zh"]
    assert found(searchable, "", partner="FR") == ["en", "zh"]  # newest first
    assert found(searchable, "", language="ko") == ["ko"]
    assert found(searchable, "", since=date(2024, 3, 1), until=date(2024, 4, 1)) == ["en", "ja"]
    # Not a cooperation release: only with cooperation_only=False.
    assert found(searchable, "budget") == []
    assert found(searchable, "budget", cooperation_only=False) == ["other"]


def test_the_index_follows_edits_and_deletes(searchable: Database) -> None:
    with searchable.session() as session:
        save_release(
            session,
            record(
                "ko",
                title="한-영 인공지능 안전 연구 협약",
                body="새 본문",
                language="ko",
                published_at=day(2, 1),
                **COOP,
            ),
        )
    assert found(searchable, "인공지능") == ["ko"]
    assert found(searchable, "과학기술협력") == []
    with searchable.session() as session:  # an edit through the ORM (as reparse does)
        row = session.scalar(select(Release).where(Release.native_id == "ja"))
        row.title = "日英、宇宙協力を強化"
    assert found(searchable, "宇宙協力") == ["ja"]
    with searchable.session() as session:
        session.execute(delete(Release).where(Release.native_id == "zh"))
    assert found(searchable, "科技合作") == []


def test_queries_are_data_not_syntax(searchable: Database) -> None:
    for query in ['"', "a OR b", "NEAR(x y)", "' & !", "*", "title:foo", "-x", "()"]:
        found(searchable, query)  # no error, whatever the text

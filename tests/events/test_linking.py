"""The pieces of event linking: dates, ordinals, instruments, anchors, vetoes, ids."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date

from crawler.events import Linker, Release, extract, link_all, rebuild, stable_event_id
from crawler.events.dates import event_date, mentions, parse_published
from crawler.events.markers import anchors, instruments, ordinals, shared_anchors
from crawler.events.score import THRESHOLD, score, veto
from crawler.events.signals import from_dict, to_dict
from tests.events.support import rows, signals


def _days(title: str, body: str, lang: str, published: date | None) -> list[date | None]:
    return [m.as_date() for m in mentions(title, body, lang, published)]


def test_dates_in_three_languages_resolve_against_publication() -> None:
    pub = date(2018, 7, 8)
    assert _days("", "과학기술정보통신부는 7월 6일, 프랑스와 함께", "ko", pub) == [date(2018, 7, 6)]
    assert _days("", "臺灣和法國於11月23日簽署", "zh-Hant", date(2023, 11, 29)) == [
        date(2023, 11, 23)
    ]
    assert _days("", "國科會今(29)日與法國在台協會共同宣布", "zh-Hant", date(2023, 11, 29)) == [
        date(2023, 11, 29)
    ]
    # dateparser's search for English; the year comes from publication when the text has none.
    assert _days("", "On November 29, the NSTC held a press conference.", "en",
                 date(2023, 11, 30)) == [date(2023, 11, 29)]  # fmt: skip
    # A December date read in January belongs to the year before.
    assert _days("", "on December 28 in Seoul", "en", date(2024, 1, 3)) == [date(2023, 12, 28)]
    # Without a publication date a yearless mention stays month and day.
    found = mentions("Committee (July 6)", "", "en", None)
    assert found[0].year is None and event_date(found, None).month_day == (7, 6)


def test_english_dates_are_read_by_patterns() -> None:
    pub = date(2023, 12, 1)
    assert _days("", "signed on Nov. 29, 2023 in Paris", "en", pub) == [date(2023, 11, 29)]
    assert _days("", "The forum met on 29 November and again on Sept 3rd", "en", pub) == [
        date(2023, 11, 29), date(2023, 9, 3)]  # fmt: skip
    # A range gives its first day, in either order of day and month.
    assert _days("", "held in Sendai on October 21 and 22.", "en", pub) == [date(2023, 10, 21)]
    assert _days("", "visited Taiwan from 21 to 22 November, the first", "en", pub) == [
        date(2023, 11, 21)]  # fmt: skip
    assert _days("", "in Saclay on May 15-16, 2022. The", "en", pub) == [date(2022, 5, 15)]
    assert _days("", "In a statement on Friday (November 24) the", "en", pub) == [
        date(2023, 11, 24)]  # fmt: skip
    # Not dates: relative phrases, a month and year alone, the verb "may", a bare count.
    for text in ("for five years, starting today", "launched in January 2023 the two",
                 "researchers may 3D-print parts", "As of March 2019, 20 centres"):  # fmt: skip
        assert _days("", text, "en", pub) == [], text


def test_event_date_skips_dates_far_from_publication() -> None:
    found = mentions("", "臺灣和法國於2023年11月23日簽署協議。會議於4月29日在台北舉行", "zh-Hant",
                     date(2024, 4, 29))  # fmt: skip
    when = event_date(found, date(2024, 4, 29))
    assert when.day == date(2024, 4, 29) and when.stated


def test_parse_published_accepts_dates_months_and_nothing() -> None:
    assert parse_published("2023-11-29") == (date(2023, 11, 29), (2023, 11))
    assert parse_published("2023-11-29T08:00:00+08:00")[0] == date(2023, 11, 29)
    assert parse_published("2023-11") == (None, (2023, 11))
    assert parse_published(None) == (None, None)
    for bad in ("yesterday", "2023-13", 20231129):
        try:
            parse_published(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} accepted")


def test_ordinals_in_three_languages_qualify_meetings_only() -> None:
    assert [n for _, n in ordinals("The 7th Korea-France Joint Coordinating Committee")] == [7]
    assert [n for _, n in ordinals("第七屆臺法科技合作會議")] == [7]
    assert [n for _, n in ordinals("第25屆臺法工業合作會議於巴黎召開")] == [25]
    assert [n for _, n in ordinals("제7차 한-프랑스 과학기술공동위원회 개최")] == [7]
    assert [n for _, n in ordinals("the inaugural U.S.-ROK Next Generation CET Dialogue")] == [1]
    assert ordinals("the U.S.-ROK alliance, now in its 70th year") == []
    assert ordinals("Australia is the fifth country to sign such an agreement") == []


def test_named_instruments_match_across_languages() -> None:
    assert "st-agreement" in instruments("signed the Science and Technology Cooperation Convention")
    assert "st-agreement" in instruments("台德簽署科學及技術合作協議")
    assert "digital-partnership" in instruments("한-EU 디지털 파트너십 협의회")
    assert "joint-committee" in instruments("제8차 한-프랑스 과학기술공동위원회")


def test_latin_anchors_survive_translation() -> None:
    zh = anchors("巴黎思(Franck Paris)主任今天拜會國科會,討論MESRI合作")
    en = anchors("Premier Chen received Franck Paris, the new director, and MESRI officials")
    assert shared_anchors(zh, en) == 2
    # A three-part name counts once, whatever its spelling.
    assert shared_anchors(anchors("President Yoon Suk Yeol"), anchors("Yoon Suk-yeol said")) == 1
    # Common words are no anchors; years are not numbers that tell events apart.
    assert anchors("During the meeting in 2023") == frozenset()


def test_vetoes() -> None:
    s = signals()
    # Disjoint partners: Korea-France and Korea-US share no pair.
    assert veto(s["newsworks-krfr7-ko"], s["koreakr-krus11-ko"]) == "disjoint partners"
    # The 7th and the 8th committee.
    assert veto(s["newsworks-krfr7-ko"], s["yonhap-krfr8-ko"]) in {"different ordinal", "far apart"}
    assert veto(replace(s["newsworks-krfr7-ko"], when=s["yonhap-krfr8-ko"].when),
                s["yonhap-krfr8-ko"]) == "different ordinal"  # fmt: skip
    # A joint call is never the signing it implements.
    call = replace(s["taipeitimes-twau-sta-en"], coop_type="joint-call")
    assert veto(call, s["teco-twau-sta-en"]) == "contradictory type"
    # A wire story from a third country still shares the pair it reports on.
    assert veto(s["afp-twde-sta-en"], s["nstc-twde-sta-en"]) is None


def test_metadata_alone_never_links() -> None:
    s = signals()
    # The signing and the digital minister's meeting: the same parties, the same stated day.
    signing, meeting = s["ltn-twde-sta-zh"], s["taiwannews-twde-tang-zh"]
    assert signing.pairs == meeting.pairs and signing.day == meeting.day
    assert signing.when.stated and meeting.when.stated
    same_kind = replace(meeting, coop_type=signing.coop_type)
    assert veto(signing, same_kind) is None
    assert score(signing, same_kind) < THRESHOLD  # 2.0 + 0.6 + 0.4 of metadata, capped
    # One name both texts carry is evidence the texts share: now they link.
    named = replace(same_kind, anchors=frozenset({frozenset({"watzinger"})}))
    shared = replace(signing, anchors=frozenset({frozenset({"watzinger"})}))
    assert score(shared, named) >= THRESHOLD


def test_releases_months_apart_never_link_even_without_stated_dates() -> None:
    s = signals()
    # The 1st and 2nd iCET fact sheets: neither text states its date; 17 months apart.
    first, second = s["wh-usin-icet1-en"], s["wh-usin-icet2-en"]
    assert not first.when.stated and not second.when.stated
    assert veto(first, second) == "far apart"
    # An event cannot stretch over months through such members (complete linkage of vetoes).
    linker = Linker()
    linker.add(first)
    bridge = replace(second, key="bridge", when=first.when)
    assert not linker.add(bridge).created
    assert linker.add(second).created


def test_an_event_keeps_its_id_when_members_join() -> None:
    s = signals()
    linker = Linker()
    first = linker.add(s["seed-000-nstc-twfr-stc-en"])
    assert first.created and first.event_id == stable_event_id("seed-000-nstc-twfr-stc-en")
    for key in ("cna-twfr-stc-zh", "newnet-twfr-stc-zh"):
        placement = linker.add(s[key])
        assert not placement.created and placement.event_id == first.event_id


def test_rebuild_keeps_ids_whatever_the_order_of_arrival() -> None:
    s = signals()
    keys = ["newsworks-krfr7-ko", "industrynews-krfr7-ko", "seed-004-msit-krfr7-en",
            "yonhap-krfr8-ko", "digitaltoday-krfr8-ko"]  # fmt: skip
    incremental = Linker()
    for key in reversed(keys):  # crawled newest first
        incremental.add(s[key])
    before = dict(incremental.event_of)
    after = rebuild((s[k] for k in keys), before)
    assert after == before
    # A release that joins later does not move the others' ids, and takes its event's.
    without = [k for k in keys if k != "industrynews-krfr7-ko"]
    earlier = rebuild((s[k] for k in without), {})
    later = rebuild((s[k] for k in keys), earlier)
    assert {k: later[k] for k in without} == earlier
    assert later["industrynews-krfr7-ko"] == later["newsworks-krfr7-ko"]


def test_a_release_that_links_two_events_merges_them_into_the_older() -> None:
    s = signals()
    linker = Linker()
    wh = linker.add(s["wh-krus-cet-en"])
    first_korean = linker.add(s["newsis-krus-cet-ko"])
    assert first_korean.created  # the fact sheet and this report alone are not enough
    bridge = linker.add(s["sbs-krus-cet-ko"])
    assert bridge.event_id == wh.event_id and bridge.merged == (first_korean.event_id,)
    assert linker.resolve(first_korean.event_id) == wh.event_id
    assert (
        linker.event_of["newsis-krus-cet-ko"] == wh.event_id
        or linker.resolve(linker.event_of["newsis-krus-cet-ko"]) == wh.event_id
    )


def test_stored_signals_give_back_the_same_links() -> None:
    restored = [from_dict(to_dict(x)) for x in signals().values()]
    assert link_all(restored).event_of == link_all(signals().values()).event_of


def test_a_release_without_partners_founds_its_own_event() -> None:
    row = next(r for r in rows() if r["id"] == "cna-twfr-stc-zh")
    lonely = extract(Release(key="x", title=row["title"], body=row["body"], language="zh-Hant",
                             agency_country="TW", partners=(), coop_type=None))  # fmt: skip
    linker = link_all([signals()["newnet-twfr-stc-zh"], lonely])
    assert linker.event_of["x"] != linker.event_of["newnet-twfr-stc-zh"]


def test_minhash_gives_datasketchs_values() -> None:
    """Stored signals hold MinHash values; ``minhash`` computes them without importing
    datasketch (its package imports SciPy), by NumPy or in pure Python (no NumPy import for a
    crawl's few releases), and both paths must give exactly datasketch's."""
    from datasketch import MinHash

    from crawler.events.signals import (
        NUM_PERM,
        SCHEME,
        _language,
        _minhash_numpy,
        _minhash_pure,
        minhash,
        shingles,
    )

    checked = 0
    for row in rows():
        language = _language(row["language"], row["title"])
        text = f"{row['title']}\n{row['body'][:600]}"
        grams = shingles(text, language)
        ours = minhash(text, language)
        if not grams:
            assert ours is None
            continue
        theirs = MinHash(num_perm=NUM_PERM, seed=1, scheme=SCHEME)
        theirs.update_batch(list(grams))
        expected = tuple(int(v) for v in theirs.hashvalues)
        # Both paths on the same hashes, whichever ``minhash`` took here.
        raw = b"".join(hashlib.sha1(g).digest()[:4] for g in grams)
        assert ours == expected, row["id"]
        assert _minhash_pure(raw, len(grams)) == expected, row["id"]
        assert _minhash_numpy(raw) == expected, row["id"]
        checked += 1
    assert checked > 100


def test_written_out_permutations_are_datasketchs() -> None:
    import numpy as np

    from crawler.events.signals import _A, _B, _SEED, NUM_PERM

    gen = np.random.RandomState(_SEED)  # as datasketch draws its affine32 permutations
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    assert tuple(a.tolist()) == _A and tuple(b.tolist()) == _B


def test_similarity_counts_equal_slots() -> None:
    from crawler.events.signals import similarity

    a = tuple(range(64))
    b = a[:48] + tuple(range(100, 116))
    assert similarity(a, a) == 1.0 and similarity(a, b) == 0.75


def test_a_small_batch_hashes_without_numpy() -> None:
    """A crawl's few new releases are linked without importing NumPy (80 ms)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from crawler.events.signals import extract, Release, numpy_for\n"
        "numpy_for(5)\n"
        "s = extract(Release(key='1', title='Korea and France sign a science agreement',"
        " body='Seoul and Paris agreed on joint research in quantum computing.',"
        " language='en', agency_country='KR', partners=('FR',), coop_type='agreement'))\n"
        "assert s.minhash is not None\n"
        "print('numpy' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"

"""Markers that survive translation: the ordinal of a recurring meeting, named instruments,
Latin acronyms and names, and distinctive numbers.

Written by hand because no library reads "第七屆", "제7차" and "7th" as one number or knows
which names of bilateral instruments are the same instrument in three languages. Each piece
is a short table or pattern.
"""

from __future__ import annotations

import re
from functools import lru_cache

# --- ordinals ---------------------------------------------------------------------------------

_EN_WORDS = {
    "first": 1, "inaugural": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
    "thirteenth": 13, "fourteenth": 14, "fifteenth": 15, "twentieth": 20,
}  # fmt: skip
_ZH_DIGITS = {
    "一": 1, "二": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}  # fmt: skip
# A meeting, committee or session the ordinal must qualify: "the 7th ... Committee", not "the
# 70th anniversary" or "the 5th country to sign".
_MEETING_EN = (
    r"(?:meeting|committee|commission|council|session|dialogue|consultations?|forum|summit"
    r"|symposium|conference|round|joint\s+call|working\s+group|subcommittee|roundtable)"
)
# Up to 90 characters of the same sentence ("U.S.-ROK" keeps going: its dots end no sentence).
_GAP = r"(?:[^.\n]|\.(?=\S)){0,90}?"
_ORD_EN = re.compile(
    rf"\b(\d{{1,3}})(?:st|nd|rd|th)\b(?={_GAP}\b{_MEETING_EN}\b)"
    rf"|\b({'|'.join(_EN_WORDS)})\b(?={_GAP}\b{_MEETING_EN}\b)",
    re.I,
)
_MEETING_CJK = (
    r"(?:會議|会议|委員會|委员会|聯委會|對話|论坛|論壇|峰會|研討會|諮商|"
    r"회의|위원회|공동위|혼성위|협의회|대화|포럼|정상회의|회담)"
)
_ORD_ZH = re.compile(
    rf"(?:第\s*([0-9０-９]{{1,3}}|[一二兩三四五六七八九十百]{{1,4}})\s*[屆届次回]|(首)[屆届次])"
    rf"(?=[^。\n]{{0,40}}?{_MEETING_CJK})"
)
_ORD_KO = re.compile(
    rf"제\s*(\d{{1,3}})\s*차(?=[^.\n]{{0,40}}?{_MEETING_CJK})"
    rf"|(?<![0-9])(\d{{1,3}})차\s(?=[^.\n]{{0,30}}?{_MEETING_CJK})"
)


def _zh_number(text: str) -> int | None:
    text = text.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if text.isdigit():
        return int(text)
    if text == "首":
        return 1
    # 十 = 10, 十二 = 12, 二十 = 20, 二十五 = 25
    if "十" in text:
        tens, _, units = text.partition("十")
        t = _ZH_DIGITS.get(tens, 1) if tens else 1
        u = _ZH_DIGITS.get(units, 0) if units else 0
        return t * 10 + u
    return _ZH_DIGITS.get(text)


def ordinals(text: str) -> list[tuple[int, int]]:
    """(position, number) of every ordinal that qualifies a meeting-like noun."""
    out: list[tuple[int, int]] = []
    for match in _ORD_EN.finditer(text):
        if match[1]:
            out.append((match.start(), int(match[1])))
        else:
            out.append((match.start(), _EN_WORDS[match[2].lower()]))
    for match in _ORD_ZH.finditer(text):
        value = _zh_number(match[1] or match[2])
        if value:
            out.append((match.start(), value))
    for match in _ORD_KO.finditer(text):
        out.append((match.start(), int(match[1] or match[2])))
    out.sort()
    return out


def primary_ordinal(title: str, lead: str) -> tuple[int | None, bool]:
    """The ordinal of the occurrence itself and whether the title gave it: the title's, else
    the first in the lead's opening (later ones tend to cite other meetings: "the 7th was held
    in 2018"). An ordinal from the lead may still name a meeting being prepared, so it vetoes
    but weighs as evidence only when a title carries one (see ``score``)."""
    found = ordinals(title)
    if found:
        return found[0][1], True
    found = ordinals(lead[:260])
    return (found[0][1] if found else None), False


# --- named instruments ---------------------------------------------------------------------------

# instrument key -> patterns (English lower-case; Chinese and Korean as written). A release
# naming the instrument says which standing mechanism or agreement its event belongs to; the
# ledger chains events by these keys.
INSTRUMENTS: dict[str, tuple[str, ...]] = {
    "st-agreement": (
        r"science and technology (?:cooperation )?(?:agreement|arrangement|convention|pact)",
        r"scientific and technological (?:cooperation )?(?:agreement|arrangement)",
        r"science, technology,? and innovation (?:cooperation )?agreement",
        r"\b(?:stc|sta|stia)\b",
        r"科學(?:與|及)技術合作(?:協定|協議)",
        r"科技合作(?:協定|協議)",
        r"과학기술(?:혁신)?협력\s?협정",
    ),
    "joint-committee": (
        r"joint (?:coordinating )?(?:committee|commission)",
        r"\bjcc\b",
        r"\bjcm\b",
        r"mixed committee",
        r"cooperation committee",
        r"聯合委員會",
        r"合作會議",
        r"聯委會",
        r"科技合作委員會",
        r"工業合作會議",
        r"공동위원회",
        r"과기공동위",
        r"공동위",
        r"혼성위원회",
        r"혼성위",
        r"협력위원회",
    ),
    "digital-partnership": (r"digital partnership", r"디지털\s?파트너십", r"數位夥伴"),
    "horizon-europe": (r"horizon europe", r"호라이즌\s?유럽", r"展望歐洲"),
    "technology-prosperity-deal": (r"technology prosperity deal", r"기술\s?번영", r"科技繁榮"),
    "cet-dialogue": (
        r"critical and emerging technolog",
        r"\bi?cet\b",
        r"핵심\s?[·ㆍ]?\s?신흥\s?기술",
        r"關鍵暨新興科技",
    ),
    "research-conference": (r"scientific research (?:conference|symposium)", r"科學研究會議"),
    "joint-call": (r"joint call", r"call for (?:joint )?proposals", r"共同徵求", r"공동\s?공모"),
    "mou": (
        r"memorand(?:um|a) of (?:understanding|cooperation)",
        r"\bmou\b",
        r"備忘錄",
        r"양해각서",
    ),
}


@lru_cache(maxsize=1)
def _instrument_regex() -> list[tuple[str, re.Pattern[str]]]:
    return [(key, re.compile("|".join(patterns), re.I)) for key, patterns in INSTRUMENTS.items()]


def instruments(text: str) -> frozenset[str]:
    """Keys of the named instruments the text mentions."""
    return frozenset(key for key, rx in _instrument_regex() if rx.search(text))


# --- Latin anchors and numbers --------------------------------------------------------------------

# A run of capitalised words or acronyms ("Franck Paris", "Yoon Suk-yeol", "MESRI").
_LATIN_RUN = re.compile(
    r"(?:[A-Z][A-Za-z\u00c0-\u024f'\-]+|[A-Z]{2,}[a-z]?(?:[&*][A-Z]+)?)"
    r"(?:[ \-](?:[A-Z][A-Za-z\u00c0-\u024f'\-]+|[A-Z]{2,}[a-z]?))*"
)
_NUMBER = re.compile(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+|\d+\.\d+|\d{3,})(?![\d.,])")
# Acronyms and words that appear in most releases of this kind and so tell nothing apart.
_COMMON = frozenset(
    [
        "ai",
        "ict",
        "r&d",
        "s&t",
        "it",
        "mou",
        "mous",
        "eu",
        "us",
        "uk",
        "usa",
        "un",
        "ceo",
        "gdp",
        "kst",
        "cst",
        "utc",
        "am",
        "pm",
        "ok",
        "nt",
        "krw",
        "usd",
        "eur",
        "minister",
        "ministry",
        "president",
        "premier",
        "council",
        "office",
        "national",
        "science",
        "technology",
        "government",
        "department",
        "director",
        "general",
        "deputy",
        "korea",
        "korean",
        "taiwan",
        "taiwanese",
        "china",
        "chinese",
        "japan",
        "japanese",
        "republic",
        "international",
        "cooperation",
        "joint",
        "committee",
    ]
)


def anchors(text: str) -> frozenset[frozenset[str]]:
    """Rare Latin-script names and acronyms and distinctive numbers: what a translation keeps
    as written ("Franck Paris", "MESRI", "STC", "95.5"). Each name is one anchor holding its
    rare words, so a three-part name counts once and "Yoon Suk-yeol" meets "Yoon Suk Yeol"."""
    # The hyphenation repair's lookup and cache (wordfreq's small list; crawler.english_words).
    from crawler.english_words import english_zipf

    out: set[frozenset[str]] = set()
    for match in _LATIN_RUN.finditer(text):
        words = set()
        for raw in re.split(r"[ \-]+", match.group()):
            word = raw.strip("'").lower().removesuffix("'s")
            if len(word) < 2 or word in _COMMON:
                continue
            # A common English word ("During", "Paris" the city) is no anchor; a name is.
            if raw.isupper() or english_zipf(word) < 3.2:
                words.add(word)
        if words:
            out.add(frozenset(words))
    for match in _NUMBER.finditer(text):
        value = match.group().replace(",", "")
        if value.isdigit() and 1900 <= int(value) <= 2100:
            continue  # a year
        out.add(frozenset({value}))
    return frozenset(out)


def shared_anchors(a: frozenset[frozenset[str]], b: frozenset[frozenset[str]]) -> int:
    """How many names of the side with fewer names share a word with the other side."""
    if len(a) > len(b):
        a, b = b, a
    words = set().union(*b) if b else set()
    return sum(1 for name in a if name & words)


__all__ = ["INSTRUMENTS", "anchors", "instruments", "ordinals", "primary_ordinal", "shared_anchors"]

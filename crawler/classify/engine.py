"""The classification rules.

A release announces international S&T cooperation when its title ties a foreign partner to
cooperation language (or carries a bilateral compound such as "Taiwan-France", 台法,
한-프랑스) and the lead of the body confirms it; a title that names a kind of cooperation
("signs MOU", "opens joint centre") without the partner qualifies when the lead names one.
Foreign names elsewhere (budgets, exports, awards, domestic events citing other countries)
neither decide nor make partners.

The evidence is scored (weights below): title first, then the first sentences of the body
(the lead, ~600 Latin or ~250 CJK characters), then the rest of the body; award, budget,
trade, statistics, research-result and "domestic" cues in the title count against. A release
is cooperation when the score reaches ``THRESHOLD``, the title (or, without a title, the
lead) carries a signal, and at least one partner is found. Partners are the foreign names of
the title, or else those the lead and body tie to cooperation most strongly. The kind comes
from the title, else from the first two lead sentences that tie a partner to cooperation.

The verdict itself is weighed by a small logistic model (``model.py``, trained on development
data by ``train.py``) over the rules' findings and the title's and lead's character n-grams:
the rules' yes stands unless the model finds it unlikely, the model alone says yes only when
it is confident, and without a partner found by the rules nothing is cooperation. Partners,
kind, topics and evidence always come from the rules; the evidence ends with the model's line.

Size: over 600 lines because the scoring reads as one decision, top to bottom; the vocabulary
is in ``data/*.toml`` and the pattern building in ``tables.py``.
"""

from __future__ import annotations

import logging
import math
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import cache
from itertools import pairwise
from typing import Any

from . import model as learned
from . import tables
from .gazetteer import REGION_PREFIX, Compound, Mention, _load_toml, gazetteer
from .lexicon import Term, lexicon
from .text import dispatch_regex, is_cjk, lower_same_length, normalize, sentence_starts

logger = logging.getLogger(__name__)

TOPICS: tuple[str, ...] = (
    "semiconductors",
    "quantum",
    "ai",
    "health",
    "biotech",
    "space",
    "marine",
    "energy",
    "net-zero",
    "climate",
    "cybersecurity",
    "ict",
    "5g",
    "materials",
    "talent",
    "startups",
    "agriculture",
    "disaster",
)
COOP_TYPES: tuple[str, ...] = (
    "agreement",
    "joint-committee",
    "joint-call",
    "hub-or-center",
    "visit-or-delegation",
    "forum-or-workshop",
    "other-cooperation",
)
# When a title names several kinds, the most specific mechanism wins: a joint committee that
# signs an MoU is reported as a committee meeting, an MoU signed during a visit as an agreement,
# an MoU that sets up a joint centre ("센터 설립 MOU", "Joint Labs signés") as the centre.
_TYPE_PRIORITY = (
    "joint-committee",
    "joint-call",
    "hub-or-center",
    "agreement",
    "forum-or-workshop",
    "visit-or-delegation",
)
_NEGATIVE = ("neg.award", "neg.budget", "neg.trade", "neg.stats", "neg.result", "neg.domestic")
# Negative cues that hold even when the title names a kind of event ("tourism council
# expands exchange with China", "association to Horizon Europe: state of play").
_HARD_NEGATIVE = ("neg.promo", "neg.overview", "neg.trade_agreement")
# A prize named in the title decides against unless one of these mechanisms is named too;
# "award(s)" alone is also a funding grant ("NSF awards ... to US-Japan teams"), not a prize.
_PRIZE_SOFTENERS = frozenset({"agreement", "joint-committee", "hub-or-center"})
_FUNDING_AWARD = frozenset({"award", "awards", "awarded"})
# "50 years of cooperation", not "the first visit in 26 years" (time since, not an anniversary).
_ANNIVERSARY_YEARS = re.compile(r"(?<!\bin )(?<!\bfor )(?<!depuis )\b\d+ (?:ans|jahre|years)\b")
# A joint statement issued at a committee meeting reports the meeting: these agreement terms
# yield to a committee named in the lead.
_STATEMENT_TERMS = frozenset({
    "joint statement", "statement", "共同声明", "ステートメント", "joint declaration",
    "déclaration conjointe", "déclarations conjointes", "gemeinsame erklärung",
    "gemeinsamen erklärung",
    "聯合聲明", "共同聲明", "공동성명",
})
# ... unless the statement is signed ("共同声明に署名", "signed a joint statement"): a signed
# statement is the agreement itself, even when the lead also names the meeting it was signed at.
# Signing acts are one vocabulary, ``[signing]`` in lexicon.toml (a sentence's ``_Unit.signing``),
# read by the three rules that ask whether something was signed: this one, an envoy's visit
# that signs, and an anniversary's lead that signs something new.
# A signing still to come ("signera une convention", "la visite doit permettre de signer",
# "will sign", "soll ... unterzeichnet werden", 締結する予定, 將簽署, 체결할 예정): a trip whose
# lead announces one reports the trip; the agreement is not concluded on it yet.
_FUTURE_SIGNING = re.compile(
    r"(?i)\b(?:will|shall|is to|are to|expected to|plans? to)\s+(?:be\s+)?(?:sign|signed|ink)\b"
    r"|\bsigner(?:a|ont)\b|\bser(?:a|ont) signée?s?\b|\bpermettre de signer\b"
    r"|\b(?:doit|doivent|devrait|devraient) signer\b"
    r"|\bunterzeichnet werden\b|\bunterzeichnen (?:soll|sollen|wird|werden)\b"
    r"|\b(?:soll|sollen|wird|werden)\b[^.!?]{0,80}\bunterzeichne[nt]\b"
    r"|(?:署名|締結|調印)(?:する|される)予定|將(?:於[^。，]{0,12})?簽"
    r"|(?:체결|서명)할 예정|(?:체결|서명) 예정"
)
# Reception verbs: a title that opens with one reports a visit, whatever the visitors attend.
_RECEPTION_TERMS = frozenset({
    "接見", "會見", "拜會", "접견", "면담", "表敬", "会見",
    "receives", "welcomes", "reçoit", "empfängt",
})

# Words that put a signing in the past ("signed since", "had signed", 지난해): ``_PAST``
# (with years) for a trip's agreements, ``_PAST_WORDS`` for an envoy's, without years (the
# visit's own date carries one: "am 4. August 2021").
_PAST_WORD = (
    r"지난해|작년|去年|\b(?:since|depuis|seit)\b|\bavait\b|\bhatte\b|\bhad\b"
    # An agreement that already governs the cooperation ("est déjà régie par un accord-cadre")
    # is an older one.
    r"|\b(?:déjà|already|bereits)\b"
)
_PAST_WORDS = re.compile(_PAST_WORD + r"|前年|昨年", re.IGNORECASE)
_TALK_TERMS = frozenset({"간담회"})  # a talk over tea: with an envoy, the call itself
# A relationship noun that a finite verb builds ("vertieft Beziehungen nach Vietnam", "stärkt
# internationale Beziehungen", "strengthens its relationship with"): the cooperation being
# built, not the "relationship" page an overview cue stands for (branch classrecall2).
_RELATIONS_BUILT = re.compile(
    r"\b(?:stärkt|stärken|vertieft|vertiefen|intensiviert|intensivieren|festigt|festigen"
    r"|knüpft|knüpfen|strengthens?|deepens?|boosts?|expands?|enhances?|forges?|cements?"
    r"|fosters?)\b(?: [^ .,:;!?]+){0,2}? (?:beziehungen|relationships?)\b"
)

#: The kinds that name a mechanism, not an event: a reception that agrees one reports it.
_MECHANISMS = learned.MECHANISM_KINDS

# Scores (see module docstring); the threshold is THRESHOLD.
TITLE_LINK = 2.0  # foreign partner and cooperation language in the title
TITLE_FOREIGN = 1.0  # foreign partner in the title, no cooperation language
TITLE_TYPE = 1.0  # a kind of cooperation in the title, no partner
# Generic cooperation language in the title, no partner, no kind, no pair: it counts for
# nothing. "Coopération universitaire", "Zusammenarbeit mit EU-Ländern", "International
# science partnerships" head overview pages and domestic news far more often than
# announcements (8 in 10 such development titles), which must then earn the threshold
# from the lead and body alone.
TITLE_COOP = 0.0
TITLE_MECHANISM = 0.5  # ... and that kind is a mechanism (agreement, committee, call, hub),
# with or without a partner in the title
TITLE_BILATERAL = 1.0  # "Taiwan-France", "Taiwan and France", 台法, 한-프랑스 in the title
LEAD_STRONG = 1.5  # lead sentence: partner + kind of cooperation or bilateral compound
LEAD_WEAK = 1.0  # lead sentence: partner + generic cooperation language
BODY_SENTENCE = 0.3  # each later sentence linking a partner to cooperation (at most 3)
BODY_BILATERAL = 0.5  # bilateral compounds outside the title
TITLE_ONLY = 1.0  # no body at all, and the title names a partner and a kind of cooperation
NEGATIVE_TITLE = -2.5  # award/budget/trade/statistics/research-result title without a kind
NEGATIVE_TITLE_COOP = -1.5  # the same, softened when the title also speaks of cooperation
THRESHOLD = 2.5

# Publishers that are unions of countries: their members count as the publisher's own side.
_EU_MEMBERS = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})
_UNION_HOMES = {"EU": _EU_MEMBERS}

_BODY_CHARS = 2500  # characters of the body read (about 400 words) ...
_BODY_CHARS_CJK = 1200  # ... or of a Chinese, Japanese or Korean body (a page or so)
#: Characters of the rest of the body read for topics. Whole press releases run to tens of
#: thousands of characters; the cap keeps a 10 MB line to a fixed cost (issue 18: ~1.7 s
#: per MB without it), and hitting it is logged.
TOPIC_CHARS = 100_000
#: A title longer than this is no title (real ones are under 300 characters): the rest of
#: it is not read, and that is logged.
TITLE_CHARS = 2_000
_LEAD_CHARS_LATIN = 600
_LEAD_CHARS_CJK = 250

# Recurring bilateral mechanisms are numbered: "24th ... Meeting", 第25屆...會議, 제7차 ...위원회.
_ORDINAL_MEETING = re.compile(
    r"(?:\b(?:\d+(?:st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth"
    r"|tenth|eleventh|twelfth)\b.*\b(?:meeting|committee|commission|council|dialogue"
    r"|consultations?|talks)\b)"
    r"|(?:第[0-9０-９一二三四五六七八九十百]+[屆次].*(?:會議|委員會|聯委會|對話|諮商))"
    # Japanese numbers its meetings 第N回; 会議 alone also names conferences (国際会議).
    r"|(?:第[0-9０-９一二三四五六七八九十百]+回.*(?:委員会|対話|会合|協議))"
    # Korean often drops 제 ("동맹 2차 회의"); "2차전지" (a secondary battery) is no ordinal.
    r"|(?:(?:제 ?\d+ ?차|(?<![\d.])\d+ ?차(?=\s|회의|공동위|위원회))"
    r".*(?:회의|위원회|공동위|협의회|대화))"
    # "24. Sitzung des Gemeinsamen ... Ausschusses", "15e session de la commission mixte".
    r"|(?:\b\d+\. (?:sitzung|tagung)\b.*\b(?:ausschuss\w*|kommission|dialog\w*)\b)"
    r"|(?:\b\d+(?:e|ème|eme) (?:réunion|session)\b.*\b(?:comité|commission|dialogue)\b)"
)
_NO_TERM = Term(0, 0, "", ())
# Calls the lexicon's literal terms cannot spell. German splits the verb: "FWF und RSF schreiben
# ... Kooperationsprojekte aus" (the particle closes the clause; no comma in between, so that
# "schreibt in einer Mitteilung, ... aus" is not one). A numbered call is a recurring funding
# call, as a numbered meeting is a committee: "4e appel", "premier appel", "second call".
_SPLIT_CALL = re.compile(
    r"\bschreib(?:t|en)\b[^.!?\n,;:]{0,160}?\baus\b(?=\s*(?:[.,;:!?(]|$))", re.M
)
_NUMBERED_CALL = re.compile(
    r"\b(?:\d+(?:e|ème|eme|er|st|nd|rd|th)|premier|deuxième|troisième|quatrième|cinquième"
    r"|first|second|third|fourth|fifth)\s+(?:appel|call)\b"
)
_CALL_CATEGORIES = ("type.joint-call",)
# The noun that closes a numbered call: ``_numbered_calls`` tries the pattern only before it.
_CALL_NOUN = re.compile(r"(?:appel|call)\b")
# "Taiwan and France", "la France et le Japon", "Großbritannien und Deutschland", 台法, 한국과 영국.
_PAIR_GAP = re.compile(
    r"(?: (?:and|&|et|und) (?:the |la |le |les |l'|l’|der |die |dem |den )?"
    r"|[與和及跟、]|(?:과|와) ?|, )"
)
_COMPOUND_GAP = re.compile(r" ?[-/·ㆍ・‧] ?|")


@dataclass(frozen=True, slots=True)
class Classification:
    """The verdict on one release. ``confidence`` is the confidence in ``is_cooperation``."""

    is_cooperation: bool
    confidence: float
    partners: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    coop_type: str | None = None
    evidence: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "is_cooperation": self.is_cooperation,
            "confidence": self.confidence,
            "partners": list(self.partners),
            "topics": list(self.topics),
            "coop_type": self.coop_type,
            "evidence": list(self.evidence),
        }


@dataclass(slots=True)
class _Unit:
    """What one sentence (or the title) contains."""

    foreign: list[Mention] = field(default_factory=list)
    coop: list[Term] = field(default_factory=list)  # generic cooperation language
    types: dict[str, Term] = field(default_factory=dict)
    hub_noun: Term | None = None
    hub_verb: Term | None = None
    negative: list[Term] = field(default_factory=list)
    courtesy: list[Term] = field(default_factory=list)  # courtesy calls, envoys, parliamentarians
    hope: list[Term] = field(default_factory=list)  # "hopes to deepen", 盼, 期待, 기대
    hard_negative: list[Term] = field(default_factory=list)  # promotion, overviews
    anniversary: list[Term] = field(default_factory=list)
    renewal: list[Term] = field(default_factory=list)
    signing: list[Term] = field(default_factory=list)  # acts of signing ([signing] in lexicon.toml)
    bilateral: list[str] = field(default_factory=list)  # "Taiwan-France" and the like
    bilateral_codes: set[str] = field(default_factory=set)  # their foreign members

    def kinds(self, strict: bool = False) -> dict[str, Term]:
        kinds = dict(self.types)
        if "hub-or-center" not in kinds and self.hub_noun and self.hub_verb:
            kinds["hub-or-center"] = self.hub_noun
        if strict:
            kinds.pop("forum-or-workshop", None)
            kinds.pop("visit-or-delegation", None)
        return kinds

    def linked(self, strict: bool = False) -> bool:
        """Whether the sentence ties its foreign names to cooperation. ``strict``: an event
        word alone ("symposium", "visited") does not, as it may only list participants."""
        return bool(self.coop or self.bilateral or self.kinds(strict))

    def strong(self, strict: bool = False) -> bool:
        return bool(self.bilateral or self.kinds(strict))


_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def script_language(language: str, text: str) -> str:
    """"ja", "ko", "zh" or "latin": the declared language when it is one of these, else the
    script of the text. Japanese is told from Chinese by its kana, so that Japanese kanji
    compounds (日中, 日米) are read with the Japanese abbreviations and Chinese ones (臺中)
    with the Chinese."""
    lang = (language or "").lower()
    for key in ("ja", "ko", "zh"):
        if lang.startswith(key):
            return key
    sample = text[:400]
    if _KANA.search(sample):
        return "ja"
    if _HANGUL.search(sample):
        return "ko"
    return "zh" if is_cjk(sample) else "latin"


@cache
def _cjk_regex() -> re.Pattern[str]:
    # Chinese and Korean names and terms share one scan: for these scripts the cost of a
    # regex lies in visiting candidate positions, not in the number of words.
    words = sorted(gazetteer().cjk_words | lexicon().cjk_words)
    return tables.compile(tables.pattern(dispatch_regex, words))


@cache
def _cjk_latin_firsts() -> tuple[str, ...]:
    """The characters below U+0100 that words of ``_cjk_regex`` start with ("é" of "état")."""
    words = gazetteer().cjk_words | lexicon().cjk_words
    return tuple(sorted({word[0] for word in words if word and word[0] <= "\u00ff"}))


def _cjk_hits(text: str) -> list[tuple[int, int, str]]:
    """``_cjk_regex()``'s matches in ``text``, as (start, end, word).

    ``re`` tests the pattern's leading class (thousands of characters) at every character of
    the text. A text whose characters are all below U+0100 (a Latin text with "£" or "ü") can
    only match where one of the few such first characters stands: without any, no scan.
    """
    if text.isascii():
        return []
    try:
        text.encode("latin-1")  # a copy for a one-byte string; fails fast on a wider one
    except UnicodeEncodeError:
        pass
    else:
        if not any(ch in text for ch in _cjk_latin_firsts()):
            return []
    return [(m.start(), m.end(), m.group()) for m in _cjk_regex().finditer(text)]


# One short release per language: what ``classify`` compiles and caches on first use (the
# model, patterns built for a home or a script, the TOML tables it reads) is built by these.
_WARM_RELEASES = (
    ("Taiwan and France sign a science agreement", "It was signed in Paris.", "TW", "en"),
    ("臺法簽署科技合作協定", "雙方於巴黎簽署協定。", "TW", "zh-Hant"),
    ("한국과 독일, 과학기술 협력 협정 체결", "양국은 베를린에서 협정을 체결했다.", "KR", "ko"),
    ("日仏科学技術協力協定に署名", "両国はパリで協定に署名した。", "JP", "ja"),
    ("La France et le Japon signent un accord scientifique", "Il a été signé à Tokyo.", "FR", "fr"),
    ("Deutschland und Japan unterzeichnen ein Forschungsabkommen", "In Tokio.", "DE", "de"),
)  # fmt: skip


def warm_up(*, by_use: bool = False) -> None:
    """Build (or load) every table now and save the table cache; ``classify`` does it lazily.
    ``by_use``: also classify one short release per language, so that what the first
    releases would build lazily is built here: ``stnews classify`` warms up this way before
    it forks its workers, which otherwise each built it again (about 60 ms of CPU a worker)."""
    gazetteer()
    lexicon()
    _cjk_regex()
    for home in ("TW", "KR", "JP"):
        gazetteer().compound_regex(home, "ja" if home == "JP" else "zh")
    tables.save()
    if by_use:
        for release in _WARM_RELEASES:
            classify(*release)


def classify(
    title: str,
    body: str,
    agency_country: str,
    language: str = "en",
    trace: dict[str, object] | None = None,
    *,
    model: dict[str, Any] | bool = True,
) -> Classification:
    """Classify one press release; see the module docstring for the rules. ``trace``, when
    given, receives the score, the threshold, the script language and why the kind was
    chosen (for ``stnews classify --explain``). ``model``: ``True`` for the shipped model,
    ``False`` for the rules alone, or a model as ``model.prepared`` returns it (``train.py
    --cv`` passes each fold's own)."""
    home = (agency_country or "").strip().upper()
    if len(title or "") > TITLE_CHARS:
        logger.warning("classify: title of %d characters; read to %d", len(title), TITLE_CHARS)
        title = title[:TITLE_CHARS]
    title = normalize(title or "")
    if title.isupper() and title.isascii():
        title = title.title()  # "TAIWAN AND FRANCE SIGN ..." -> proper-noun case
    limit = _BODY_CHARS_CJK if (language or "")[:2].lower() in ("zh", "ja", "ko") else _BODY_CHARS
    rest = ""
    if body and len(body) > limit:
        # What a release announces is in its title and first paragraphs; the rest (speeches,
        # background, boilerplate) cannot change the verdict and costs time to scan for names.
        # It is still read for topics (a programme's fields are often listed at the end).
        cut = body.rfind("\n", 0, limit)
        cut = cut if cut > limit // 2 else limit
        body, rest = body[:cut], body[cut:]
    body = normalize(body or "")
    text = f"{title}\n{body}" if title else body
    title_end = len(title)
    lowered = lower_same_length(text)

    cjk_hits = _cjk_hits(text)
    lang = script_language(language, text)
    cjk = is_cjk(title or body) or lang != "latin"
    mentions, compounds, name_spans = gazetteer().find(text, cjk_hits, home, lang)
    member_actor = False
    if home in _UNION_HOMES:
        # An EU institution publishes for the Union: its member states are its own side (a
        # Council presidency signing, member-state counsellors attending), not partners.
        members = _UNION_HOMES[home]
        # A title whose own side is only member states ("Frankreich und Deutschland
        # unterzeichnen...", "Deutsche Forschungsgemeinschaft stärkt...") reports their
        # cooperation, to which the Union is no party.
        in_title = [m.code for m in mentions if m.end <= len(title)]
        member_actor = any(c in members for c in in_title) and home not in in_title
        mentions = [m._replace(code=home) if m.code in members else m for m in mentions]
        compounds = [
            c._replace(codes=tuple(home if x in members else x for x in c.codes))
            for c in compounds
        ]
    territories = _territories_of(home)
    if territories:
        # An overseas region or territory of the home is the home side ("l'Université de La
        # Réunion" on a French site), never a partner.
        mentions = [m._replace(code=home) if m.code in territories else m for m in mentions]
        compounds = [
            c._replace(codes=tuple(home if x in territories else x for x in c.codes))
            for c in compounds
        ]
    own = _forums_of(home)
    if own:
        # A grouping the home belongs to (a G7 meeting for Japan) is its own forum.
        mentions = [m._replace(code=home) if m.code in own else m for m in mentions]
    mentions = _outside_quotes(text, mentions)
    if mentions:
        mentions = _not_in_names(text, mentions, home, lowered)
    if not cjk:
        mentions = _not_examples(text, mentions, lowered)
    terms = _outside(lexicon().find(lowered, cjk_hits, cjk), name_spans)
    if lang == "ja":
        # Chinese 協議 is an agreement; Japanese 協議 is talks ("研究協力について協議した"),
        # (the committee names that contain it, 局長級協議 and 政策協議, are terms of their own).
        terms = [
            t._replace(categories=tuple(c for c in t.categories if c != "type.agreement"))
            if t.text == "協議" else t
            for t in terms
        ]
    if (language or "").lower().startswith("fr"):
        # English visit words that are French words: "se met à" (puts), "fait le tour"
        # (a turn), Tours (a city) (branch classdefr).
        terms = [t for t in terms if t.text not in _FRENCH_FALSE_FRIENDS]
    if not cjk:
        calls = (
            _call_phrases(lowered)
            + _compound_kinds(lowered)
            + _head_kinds(lowered)
            + _french_kinds(lowered)
        )
        if calls:
            terms = sorted(terms + calls)
    elif "訪" in lowered:
        terms = sorted(terms + _university_visits(lowered, terms))

    starts = sentence_starts(text)
    body_start = title_end + 1 if title else 0
    lead_end = body_start + (_LEAD_CHARS_CJK if cjk else _LEAD_CHARS_LATIN)
    last_lead = bisect_right(starts, lead_end - 1) - 1  # last sentence starting in the lead
    units, topic_set = _units(text, title_end, starts, last_lead, mentions, terms, compounds, home)
    if rest:
        if len(rest) > TOPIC_CHARS:
            logger.warning(
                "classify: body of %d characters; topics read from its first %d only",
                len(body) + len(rest), len(body) + TOPIC_CHARS,
            )  # fmt: skip
            rest = rest[:TOPIC_CHARS]
        topic_set |= _topics_in(normalize(rest), cjk)

    t = units.get(-1) or _Unit()
    if title and t.hard_negative:
        _built_relations(t, lowered[:title_end])
    if not title:
        # Pages without a headline (or with a rubric instead): the first lead sentence that
        # ties a foreign name to cooperation stands in for the title.
        for i in sorted(units):
            u = units[i]
            if 0 <= i <= last_lead and u.foreign and u.linked():
                t = u
                break
    t_kinds = t.kinds()
    plural_visits = "visit-or-delegation" in t_kinds and _only_plural_visits(terms, title_end)
    if title and not cjk and plural_visits:
        # "Delegationen 2020 ...", "Delegationsreisen: ...", "Missions et délégations en
        # Afrique": plural visit nouns alone head a listing of trips, not a trip.
        del t_kinds["visit-or-delegation"]
    t_start, t_end = (0, title_end) if title else _span(t, units, starts, text)
    if t_end and _ORDINAL_MEETING.search(lowered, t_start, t_end):
        t_kinds.setdefault("joint-committee", t.types.get("joint-committee") or _NO_TERM)
    anniversary = bool(t.anniversary) or bool(_ANNIVERSARY_YEARS.search(lowered, t_start, t_end))
    if anniversary and not t.renewal and "agreement" in t_kinds:
        # "50th anniversary of the S&T agreement": the signing is history; what is new is
        # the event held for it, if any.
        del t_kinds["agreement"]
        evidence_anniversary = True
    else:
        evidence_anniversary = False
    evidence: list[str] = []
    score = 0.0
    # Who signs: "東亞經濟協會與陽明交大簽署合作意願書 推動台日半導體產學合作" signs in a clause
    # that names no foreign side (Japan is the aim of the other clause), and the lead's
    # signing sentence names none either: the parties are domestic.
    domestic_signing = ""
    if title and t.foreign and not (set(t_kinds) & _MECHANISMS) - {"agreement"}:
        apart = _signed_apart(title, terms, t.foreign)
        signing_at = next(
            (i for i, u in sorted(units.items()) if 0 <= i <= last_lead and u.signing), None
        )
        # A region ("東亞" in 東亞經濟協會) names no party; "both sides" (雙方, 양국) are
        # the title's.
        if (
            signing_at is not None
            and not any(not m.code.startswith(REGION_PREFIX) for m in units[signing_at].foreign)
            and not _BOTH_SIDES.search(
                text, starts[signing_at], _sentence_end(starts, signing_at, text)
            )
        ):
            domestic_signing = apart
    # Who the parties are (branch classparty): a headline that names an event or a mechanism
    # and whose foreign names all stand where no party does (the venue, a domestic body's
    # office abroad, a posting, the occasion, the aim: "Vice minister meets research institutes
    # to expand Korea-US projects", "LTS und FAU Busan Campus unterzeichnen..."), over a lead
    # whose first mechanism sentence names no foreign party either, reports domestic parties.
    no_party = ""
    if title and t.foreign and not domestic_signing:
        roles = _roles(text, t.foreign, 0, title_end)
        if all(r in _NOT_PARTY for r in roles):
            at = next(
                (
                    i
                    for i in range(bisect_right(starts, body_start) - 1, last_lead + 1)
                    if i >= 0 and (u := units.get(i)) is not None and (u.signing or u.kinds())
                ),
                None,
            )
            end = _sentence_end(starts, at, text) if at is not None else 0
            if at is None or not (
                any(r not in _NOT_PARTY for r in _roles(text, units[at].foreign, starts[at], end))
                or _BOTH_SIDES.search(text, starts[at], end)
            ):
                no_party = ", ".join(
                    dict.fromkeys(f"{m.text} ({r})" for m, r in zip(t.foreign, roles, strict=True))
                )
    lead_unit = units.get(bisect_right(starts, body_start) - 1) if title else None
    town_diplomacy = _town_diplomacy(
        title,
        text,
        starts,
        body_start,
        t.foreign,
        lead_unit.foreign if lead_unit else [],
        "visit-or-delegation" in t_kinds,
    )
    industry_academia = "" if t.foreign else _industry_academia(title)
    if t.foreign and (t.coop or t_kinds or t.bilateral):
        score += TITLE_LINK
        evidence.append("title: " + _names(t.foreign) + " + " + _terms(t, t_kinds))
        if set(t_kinds) & _MECHANISMS:
            # A partner and a mechanism (agreement, committee, call, hub) in the headline:
            # the lead often names only the institutions, not the country again.
            score += TITLE_MECHANISM
    elif t.foreign:
        score += TITLE_FOREIGN
        evidence.append("title partner: " + _names(t.foreign))
    elif t_kinds or t.coop:
        score += TITLE_TYPE if t_kinds else TITLE_COOP
        if set(t_kinds) & _MECHANISMS:
            # "Convention entre l'Université ... et l'Ambassade", "...공동연구센터 개소": a
            # mechanism in the headline is news even when only the lead names the partner.
            score += TITLE_MECHANISM
        evidence.append("title: " + _terms(t, t_kinds))
    if t.bilateral:
        score += TITLE_BILATERAL
        evidence.append("title bilateral: " + ", ".join(dict.fromkeys(t.bilateral)))
    lead0 = units.get(bisect_right(starts, body_start) - 1) if title and body else None
    # What the title names beside a visit; a talk held with an envoy (간담회) is the call
    # itself, not a forum (branch classrecall2).
    call_kinds = set(t_kinds) - {"visit-or-delegation"}
    if t.courtesy and t_kinds.get("forum-or-workshop", _NO_TERM).text in _TALK_TERMS:
        call_kinds.discard("forum-or-workshop")
    lead_courtesy = bool(
        lead0 is not None
        and not cjk  # CJK leads list envoys and legislators among the guests of real events
        and lead0.courtesy
        and not _escorts_only(text, lead0.courtesy)
        and not t.courtesy
        and not (set(t_kinds) - {"visit-or-delegation"})
    )
    if (
        cjk
        and lead0 is not None
        and not t.courtesy
        and not (set(t_kinds) - {"visit-or-delegation"})
        and _ENVOY_FIRST.match(text, body_start, body_start + 40)
    ):
        # "駐瑞典代表李澄然6日...拜會": the lead opens with an envoy as the actor. (Envoys
        # listed among the guests of a real event come later in the sentence.)
        lead_courtesy = True
    # An envoy (an ambassador, an embassy, a diplomat, parliamentarians: a courtesy cue that
    # is not also a visit word such as 拜會 or 접견, which head research delegations' visits
    # too) in the title, or as the lead's actor, with no mechanism in the title: the labelling
    # rule's courtesy call, whoever receives it.
    envoy = not call_kinds and any(
        "type.visit-or-delegation" not in x.categories
        for x in (t.courtesy or (lead0.courtesy if lead_courtesy and lead0 else []))
    )
    signing = ""
    if envoy and lead0 is not None and not lead0.hope and not t.hope:
        # The envoy came to sign: the first sentence reports a signing act, not a wish or an
        # older agreement. Then the call is the signing's occasion, not a courtesy call. A
        # headline that voices a hope (盼推動合作) frames a goodwill visit, whatever a guest
        # witnesses on it.
        i0 = bisect_right(starts, body_start) - 1
        end0 = _sentence_end(starts, i0, text)
        if lead0.signing and not _PAST_WORDS.search(text, starts[i0], end0):
            signing = lead0.signing[0].text
    if signing:
        envoy = lead_courtesy = False
        evidence.append(f"an envoy's visit, and the lead reports a signing ({signing!r})")
    elif t.courtesy and not call_kinds:
        # A courtesy call, or a meeting with an envoy or parliamentarians who "hope to deepen
        # cooperation", announces no mechanism: diplomacy, not a cooperation announcement.
        score += NEGATIVE_TITLE
        cues = ", ".join(dict.fromkeys(x.text for x in t.courtesy))
        evidence.append("title courtesy call / envoy: " + cues)
    if lead_courtesy:
        assert lead0 is not None
        # "Syria, Iran discuss ways to boost cooperation": the first sentence says the talks
        # were an envoy's call, and the title names no mechanism or event.
        score += NEGATIVE_TITLE
        cues = ", ".join(dict.fromkeys(x.text for x in lead0.courtesy))
        evidence.append("lead: the talks are a courtesy call / envoy's meeting: " + cues)
    if evidence_anniversary:
        evidence.append("title anniversary: the agreement named is not new")
    if anniversary and not t.renewal and not t_kinds:
        # "15 ans de collaboration franco-taïwanaise", "25 years ago, France and Russia
        # signed...": a retrospective, unless an event held for it or a renewal is named.
        score += NEGATIVE_TITLE
        if not evidence_anniversary:
            evidence.append("title anniversary: a retrospective, no event or renewal named")
    if member_actor:
        score += NEGATIVE_TITLE
        evidence.append(f"title: member states act, not the Union ({home} is no party)")
    hard_veto = False
    if t.hope and not t_kinds:
        # "太空中心盼深化交流", "台日の科学技術交流に期待": a hope, and no meeting, visit or
        # mechanism to report; a pair in the title does not make it news, and the model may
        # not say otherwise. (A delegation that "hopes to expand cooperation" names its
        # visit and stays.)
        score += NEGATIVE_TITLE
        hard_veto = True
        evidence.append("title voices a hope, names no event: " + t.hope[0].text)
    if t.hard_negative:
        # Only a mechanism (agreement, committee, call, hub) softens the cue: an overview of
        # "EU-India cooperation" names a pair and cooperation, and announces nothing. A trade
        # or tax treaty is itself the agreement named: nothing softens it.
        treaty = any("neg.trade_agreement" in x.categories for x in t.hard_negative)
        # A mechanism word fused with the cue names the actor, not a mechanism: a tourism
        # council (관광협의회, 觀光協會, "Tourism Council") is still tourism.
        # So is a mechanism whose topic the cue is, cooperation words between them: a tourism
        # exchange MoU (觀光交流合作備忘錄, "tourism cooperation agreement", branch classzh2).
        fused = {
            k for k, term in t_kinds.items()
            for x in t.hard_negative
            if term.text and (
                0 <= term.start - x.end <= 1
                or 0 <= x.start - term.end <= 1
                or (x.end < term.start and _TOPIC_GAP.fullmatch(lowered, x.end, term.start))
            )
        }
        # A business delegation's signings are its companies' deals (工總率百人企業團赴菲律賓
        # 簽署六份意向書): no mechanism softens it unless a research body travels with it
        # ("Hochschule Trier reist mit Wirtschaftsdelegation").
        business = any(x.text in _BUSINESS_DELEGATIONS for x in t.hard_negative) and not (
            _SCIENCE_PARTY.search(title)
        )
        soft = bool((set(t_kinds) - fused) & _MECHANISMS) and not treaty and not business
        score += NEGATIVE_TITLE_COOP if soft else NEGATIVE_TITLE
        # Without a mechanism to soften it the cue decides for the rules: an overview, a
        # campaign or a trade treaty announces no S&T cooperation, however many names and
        # pairs it holds (the model may still say yes, from its own threshold).
        hard_veto = not soft
        cues = ", ".join(dict.fromkeys(x.text for x in t.hard_negative))
        evidence.append("title negative cue (promotion/overview/trade treaty): " + cues)
    prize = [x for x in t.negative if "neg.award" in x.categories and x.text not in _FUNDING_AWARD]
    if prize and not set(t_kinds) & _PRIZE_SOFTENERS:
        # A prize in the headline makes the release about the prize: a call for nominations
        # ("臺法科技獎候選人徵求"), a ceremony or a visit to hand it over announces no
        # cooperation, whoever the laureates are. Only an agreement, committee or hub named
        # beside it is news of its own.
        hard_veto = True
        cues = ", ".join(dict.fromkeys(x.text for x in prize))
        evidence.append("title names a prize: " + cues)
    trip = "visit-or-delegation" in t_kinds
    others = _foreign_pair(text, mentions, home, title_end, trip) if title else None
    if others:
        # "Accord UE-Japon" on a French site, "US-China ..." on a Taiwanese one: the title
        # pairs two foreign sides and never names the home side, which is then no party.
        # Not softened by cooperation words or a kind: "Accord UE-Japon" names both, and
        # is still the EU's and Japan's agreement.
        score += NEGATIVE_TITLE
        evidence.append(f"title pairs two foreign sides: {others} (home not named)")
    if title and (_TALLY.search(title) or _TALLY_CJK.search(title)):
        # "more than 100 agreements", "Plus de 20 conventions", 逾30項協議: a tally of
        # agreements reports a record, not a signing.
        score += NEGATIVE_TITLE
        evidence.append("title counts agreements: a tally, not a signing")
    if title and (
        (not cjk and not (set(t_kinds) - {"agreement"}) and _heading(lowered[:title_end]))
        or (cjk and not t_kinds and _cjk_heading(title))
    ):
        # "Bilateral agreements", "Relations Taïwan-France", "Zahlreiche deutsch-taiwanische
        # Hochschulkooperationen": a plural cooperation noun and no verb, date or count heads
        # a standing page. Its agreements are the page's subject, not a signing: nothing
        # softens the cue.
        score += NEGATIVE_TITLE
        hard_veto = True
        evidence.append(
            "title is a heading (a relations noun phrase)"
            if cjk
            else "title is a heading (plural cooperation noun, no verb or count)"
        )
    if domestic_signing:
        score += NEGATIVE_TITLE
        hard_veto = True
        evidence.append(
            f"title: the agreement ({domestic_signing!r}) stands in a clause that names no"
            " foreign side, and the lead's signing sentence names none: domestic parties"
        )
    if no_party:
        score += NEGATIVE_TITLE
        hard_veto = True
        evidence.append(
            f"title: no foreign party ({no_party}), and the lead's mechanism sentence names"
            " none: domestic parties"
        )
    if town_diplomacy:
        score += NEGATIVE_TITLE
        hard_veto = True
        evidence.append(
            f"title: the parties are towns or friendship associations ({town_diplomacy!r}),"
            " and no research body or science word is named: town diplomacy"
        )
    quoted = _speaker_quote(title) if title and cjk and not t_kinds else ""
    if quoted:
        # The model may not rescue it either: a remark is no announcement, whoever speaks.
        score += NEGATIVE_TITLE
        hard_veto = True
        evidence.append(f"title: {quoted!r} speaks, and no event or mechanism is named: a remark")
    if industry_academia:
        score += NEGATIVE_TITLE
        hard_veto = True
        evidence.append(
            f"title: industry-academia cooperation ({industry_academia!r}) and no foreign side"
            " named: a domestic university and company"
        )
    domestic = any("neg.domestic" in x.categories for x in t.negative)
    if t.negative and (domestic or not t_kinds):
        # Research results stay results whatever their wording; a trade or budget title that
        # also speaks of cooperation may still announce some; a kind of event ("meets") does
        # not help a title about domestic actors.
        result = any("neg.result" in x.categories for x in t.negative)
        soft = (t.coop or t.bilateral) and not result
        score += NEGATIVE_TITLE_COOP if soft else NEGATIVE_TITLE
        cues = ", ".join(dict.fromkeys(x.text for x in t.negative))
        evidence.append("title negative cue: " + cues)

    # Without a partner in the title, foreign names next to an event word may just be the
    # participants of a domestic event; they need cooperation language proper.
    # So do they when the title names a foreign side but no cooperation nor any kind ("NASA's
    # commercial moon shot", "Dear Abby: ... flight to India"): a visit or meeting in the
    # lead is then anybody's trip.
    strict = not (t.bilateral or (t.foreign and (t.coop or t_kinds)))
    lead_units: list[tuple[int, _Unit]] = []
    later_units: list[_Unit] = []
    # ... unless the title itself reports a visit ("Delegation der Universität zu Köln
    # besucht die Tongji-Universität"): then the lead's visitors or hosts are its partners.
    visit_title = strict and "visit-or-delegation" in t_kinds
    for i, u in sorted(units.items()):
        if i < 0 or not u.foreign:
            continue
        visit_lead = visit_title and i <= last_lead and "visit-or-delegation" in u.types
        if not (u.linked(strict) or visit_lead):
            continue
        if i <= last_lead:
            lead_units.append((i, u))
        else:
            later_units.append(u)
    # Later sentences and pairs count only for the sides the title or the lead names: a
    # country brought up further down ("... as tensions between the US and China grow") is
    # context, not more evidence of this release's cooperation.
    anchor = {m.code for m in t.foreign} | {m.code for _, u in lead_units for m in u.foreign}
    later = sum(1 for u in later_units if anchor & {m.code for m in u.foreign})
    if lead_units:
        strong = [(i, u) for i, u in lead_units if u.strong(strict)]
        if not strong and visit_title and not anniversary:
            # A title that reports one visit without its partner ("Delegation der Universität
            # zu Köln besucht ...", "Une délégation de l'Université ... en visite à ...")
            # is confirmed by the lead's visit sentence naming the visitors' or hosts'
            # country, as a kind in the title is by a lead mechanism (branch classdefr).
            # A plural visit title heads a listing and is no visit title
            # (``_only_plural_visits``); an anniversary visit is a retrospective.
            strong = [(i, u) for i, u in lead_units if "visit-or-delegation" in u.types]
        if not strong and strict and t.foreign and not t_kinds:
            # "Neue Chancen in Indien entdecken", then "Die Reise führte zwanzig Hochschulleitungen
            # nach Indien, um Partner zu finden": a title that names only a country, over a lead
            # that tells a visit to that same country and says what for (cooperation language),
            # reports the visit; a visit alone there is anybody's trip (branch classdefr).
            titled_codes = {m.code for m in t.foreign}
            strong = [
                (i, u)
                for i, u in lead_units
                if u.coop
                and "visit-or-delegation" in u.types
                and titled_codes & {m.code for m in u.foreign}
            ]
        best = (strong or lead_units)[0][0]
        score += LEAD_STRONG if strong else LEAD_WEAK
        end = starts[best + 1] if best + 1 < len(starts) else len(text)
        evidence.append("lead: " + _snippet(text[starts[best] : end]))
    mechanism_unit: _Unit | None = None
    if not lead_units and not strict and title:
        # "Uni Jena baut Kooperation mit Indien aus": the title ties its partner to
        # cooperation and the lead reports the mechanism ("eine Vereinbarung unterzeichnet")
        # naming only the institutions; the mechanism stands for the title's partner.
        for i in range(bisect_right(starts, body_start) - 1, last_lead + 1):
            u = units.get(i)
            # So does a visit for a title that reports one ("L'UNC accueille une délégation de
            # l'Université japonaise ...", then "a reçu une délégation de l'Université de ...").
            if (
                i >= 0
                and u is not None
                and (
                    set(u.kinds(True)) & _MECHANISMS
                    or (trip and "visit-or-delegation" in u.types)
                )
            ):
                score += LEAD_WEAK
                mechanism_unit = u
                end = starts[i + 1] if i + 1 < len(starts) else len(text)
                snippet = _snippet(text[starts[i] : end])
                evidence.append("lead mechanism, for the title's partner: " + snippet)
                break
    score += BODY_SENTENCE * min(later, 3)
    if not body.strip() and t.foreign and t_kinds:
        # A feed item or list entry without a body: nothing can confirm or contradict a
        # title that names a partner and a kind of cooperation.
        score += TITLE_ONLY
        evidence.append("no body: the title stands alone")
    body_bilateral = [
        lab
        for i, u in units.items()
        if i >= 0 and (i <= last_lead or anchor & u.bilateral_codes)
        for lab in u.bilateral
    ]
    if body_bilateral:
        score += BODY_BILATERAL
        if not t.bilateral:
            evidence.append("bilateral: " + ", ".join(dict.fromkeys(body_bilateral)))

    # A lead's foreign names that stand where no party does (an office abroad, a posting, the
    # occasion, the aim) make no partner of their own (branch classparty). Only read when
    # the title names no partner (the title's names are the partners otherwise).
    aside: set[int] = set()
    if not any(not m.code.startswith(REGION_PREFIX) for m in t.foreign):
        for i, u in lead_units:
            end = _sentence_end(starts, i, text)
            if not _BOTH_SIDES.search(text, starts[i], end):
                roles = _roles(text, u.foreign, starts[i], end)
                aside.update(
                    m.start for m, r in zip(u.foreign, roles, strict=True) if r in _NOT_PARTY
                )
    partners = _partners(t, units, lead_units, strict, aside)
    # Without a title (some pages carry it only in the body), the lead stands in for it.
    titled = bool(t.foreign or t.coop or t_kinds or t.bilateral) or (not title and bool(lead_units))
    # A region in the title ("Korea-Africa Forum") may stand for partners left unnamed.
    regional = any(m.code.startswith(REGION_PREFIX) for m in t.foreign)
    foreign_codes = {m.code for u in units.values() for m in u.foreign}
    neg_cats = {c for x in t.negative for c in x.categories}
    if envoy:
        # The model may not rescue an envoy's call: out of sample (train.py --cv) it took
        # such calls whose title pairs the sides ("장관, 주한미국대사와 한미 과기 협력 논의").
        hard_veto = True
        evidence.append("an envoy's call, no mechanism named: not an announcement")
    features: dict[str, float] = {
        "score": score,
        "score_hi": float(score >= THRESHOLD),
        "t_foreign": float(len({m.code for m in t.foreign})),
        "t_coop": float(bool(t.coop)),
        "t_bilateral": float(bool(t.bilateral)),
        "t_courtesy": float(bool(t.courtesy)),
        "t_envoy": float(envoy),
        "l_courtesy": float(lead_courtesy),
        "t_hardneg": float(bool(t.hard_negative)),
        "t_hardveto": float(hard_veto),
        "t_anniv": float(anniversary),
        "t_others": float(bool(others)),
        "lead_units": float(len(lead_units)),
        "lead_strong": float(any(u.strong(strict) for _, u in lead_units)),
        "later": float(later),
        "body_bilateral": float(bool(body_bilateral)),
        "n_foreign": float(len(foreign_codes)),
        "n_partners": float(len(partners)),
        "titled": float(titled),
        "has_title": float(bool(title)),
        "short_body": float(len(body) < 200),
    }
    for k in t_kinds:
        features["t_kind_" + k] = 1.0
    for c in neg_cats:
        features["t_" + c] = 1.0
    rules_say = score >= THRESHOLD and titled and not hard_veto
    weights = learned.load() if model is True else model or None
    if weights is not None:
        p = learned.score(weights, features, title, body, language)
        # The rules' yes stands unless the model finds it unlikely; the model alone says yes
        # when it is confident (thresholds chosen by cross-validation, see train.py).
        # A hard negative cue left unsoftened (an overview, a campaign, a trade treaty, a
        # prize) decides: the model does not rescue what the headline says is no announcement.
        # A title that pairs the home side with its partner and names a mechanism ("臺灣-捷克-
        # 斯洛伐克三邊合作研究計畫開始受理", "한·독 ... 센터 설립 MOU") is the strongest case
        # the rules know: 177 of 179 such development titles are cooperation, so the model
        # does not veto it (learned.firm).
        firm = learned.firm(features)
        said = (rules_say and (p >= weights["veto"] or firm)) or (
            p >= weights["rescue"] and not hard_veto
        )
        is_coop = said and bool(partners or regional)
        evidence.append(
            f"model: p={p:.2f} (rules {'yes' if rules_say else 'no'}; "
            f"veto below {weights['veto']:.2f}, alone from {weights['rescue']:.2f})"
        )
    else:
        p = 1.0 / (1.0 + math.exp(-1.5 * (score - THRESHOLD)))
        is_coop = rules_say and bool(partners or regional)
    if is_coop:
        confidence = p
    elif p >= 0.5:  # enough signal, but no partner
        confidence = 0.6
    else:
        confidence = 1.0 - p
    confidence = round(min(max(confidence, 0.5), 0.99), 3)

    coop_type = None
    kind_reason = ""
    if is_coop:
        naming = [(i, u) for i, u in sorted(units.items()) if 0 <= i <= last_lead and u.kinds()]
        by_mechanism = mechanism_unit and _pick_type(mechanism_unit.kinds(True))
        coop_type = (
            _pick_type(t_kinds)
            or _lead_type(lead_units)
            or by_mechanism
            or _lead_type(naming[:1])
            or "other-cooperation"
        )
        unnamed, said_by = (
            _unnamed_kind(text, 0, _sentence_end(starts, last_lead, text))
            if coop_type == "other-cooperation"
            else ("", "")
        )
        coop_type = unnamed or coop_type
        if _pick_type(t_kinds):
            term = t_kinds[coop_type].text
            kind_reason = (
                f"the {'title' if title else 'first linking sentence'} names"
                f" {term!r}" if term else "the title numbers a recurring meeting"
            ) + f"; among the kinds it names, {coop_type} is the most specific"
        elif _lead_type(lead_units):
            said = next(
                u.kinds()[coop_type].text for _, u in lead_units[:2] if coop_type in u.kinds()
            )
            kind_reason = "the title names no kind; the lead's first linking sentences say " + (
                f"{said!r} ({coop_type})" if said else coop_type
            )
        elif by_mechanism and mechanism_unit:
            said = mechanism_unit.kinds(True)[coop_type].text
            kind_reason = "the title names no kind; the lead's mechanism sentence says " + (
                f"{said!r} ({coop_type})" if said else coop_type
            )
        elif unnamed:
            kind_reason = f"no kind named; the title or lead says {said_by!r}: " + (
                "money for projects or applications asked for, a joint call"
                if unnamed == "joint-call"
                else "an event held together, a forum"
            )
        elif coop_type != "other-cooperation":
            # Other-cooperation is the label of 5 of 723 real cooperation items: when the
            # sentences naming the partner name no kind, the first lead sentence that names
            # one reports the event (the partner is often named a sentence before or after).
            # Development kind 0.890 -> 0.906 (--cv: see docs/classification.md).
            said = naming[0][1].kinds()[coop_type].text
            kind_reason = "the title and linking sentences name no kind; the lead names " + (
                f"{said!r} ({coop_type})" if said else coop_type
            )
        else:
            kind_reason = (
                "cooperation without a named mechanism"
                " (no agreement, committee, call, hub, visit or event)"
            )
        first_body = bisect_right(starts, body_start) - 1 if title else 0
        if (
            coop_type == "agreement"
            and anniversary
            and not t.renewal
            and not _pick_type(t_kinds)
            and not _new_signing(units, range(first_body, last_lead + 1), starts, text, lowered)
        ):
            # "Festakt zum 50. Jubiläum des ... Abkommens", "Celebrating 40 years of science
            # cooperation": the agreement the lead names is the one celebrated, history; the
            # release reports the event held for it, unless the lead signs a new one (undated,
            # outside the anniversary's sentences: "La matinée verra la signature de sept accords").
            coop_type = "forum-or-workshop"
            kind_reason = (
                "the title marks an anniversary and the lead's agreement is the one celebrated"
                " (no new signing): the release reports the event held for it"
            )
        if coop_type == "visit-or-delegation" and "agreement" not in t_kinds:
            # "Delegationsreise nach Indien", "Tongji-Vizepräsident besucht Partner in
            # Deutschland": a trip whose lead reports agreements signed on it reports them.
            signed = next(
                (
                    u.types["agreement"]
                    for i, u in sorted(units.items())
                    if first_body <= i <= min(last_lead, first_body + 1)
                    and "agreement" in u.types
                    and not _dated_before(text, starts[i], _sentence_end(starts, i, text))
                    and not _FUTURE_SIGNING.search(text, starts[i], _sentence_end(starts, i, text))
                ),
                None,
            )
            if signed is not None:
                coop_type = "agreement"
                kind_reason = (
                    f"the title reports a visit and the lead an agreement ({signed.text!r})"
                    " concluded on it: the agreement is the more specific"
                )
        lead_kinds = {k for _, u in lead_units[:2] for k in u.kinds()}
        first = min(t_kinds.values(), key=lambda term: term.start, default=None)
        statement = (
            coop_type == "agreement"
            and t_kinds.get("agreement", _NO_TERM).text in _STATEMENT_TERMS
            and ("joint-committee" in lead_kinds or "joint-committee" in t_kinds)
        )
        signed_statement = (
            next(
                (
                    x.text
                    for i, u in sorted(units.items())
                    if i <= first_body + 1
                    for x in u.signing
                ),
                "",
            )
            if statement and "joint-committee" not in t_kinds
            else ""
        )
        if signed_statement:
            kind_reason = (
                f"the statement is signed ({signed_statement!r}): an agreement, though the lead"
                " names the meeting it was signed at"
            )
        elif statement:
            coop_type = "joint-committee"  # a statement issued at a committee meeting
            kind_reason = "a joint statement issued at a committee meeting reports the meeting"
        elif (
            first is not None
            and first.text in _RECEPTION_TERMS
            and not (set(t_kinds) & _MECHANISMS)
            and "visit-or-delegation" in t_kinds
        ):
            coop_type = "visit-or-delegation"  # "Premier receives the delegation to ..."
            kind_reason = f"the title opens with a reception ({first.text!r}): a visit"
    if trace is not None:
        trace["features"] = features
        if weights is not None:
            trace.update(model_p=round(p, 3), veto=weights["veto"], rescue=weights["rescue"])
        trace.update(
            rules_say=rules_say,
            score=round(score, 2),
            threshold=THRESHOLD,
            script=lang,
            title_signal=titled,
            partners_found=list(partners),
            kind_reason=kind_reason,
        )
    return Classification(
        is_cooperation=is_coop,
        confidence=confidence,
        partners=partners if is_coop else (),
        topics=tuple(x for x in TOPICS if "topic." + x in topic_set),
        coop_type=coop_type,
        evidence=tuple(evidence[:5] + evidence[-1:] if len(evidence) > 6 else evidence),
    )


@cache
def _forums_of(home: str) -> frozenset[str]:
    """The groupings (G7, OECD, APEC...) the home is a member of (``entities.toml``)."""
    table = _load_toml("entities.toml").get("memberships", {})
    return frozenset(org for org, members in table.items() if home in members)


def _built_relations(t: _Unit, title: str) -> None:
    """Move a relationship noun that the title's verb builds from the overview cues to the
    cooperation language (``_RELATIONS_BUILT``)."""
    ends = {m.end() for m in _RELATIONS_BUILT.finditer(title)}
    built = [x for x in t.hard_negative if x.end in ends]
    if built:
        t.hard_negative = [x for x in t.hard_negative if x.end not in ends]
        t.coop.extend(built)


@cache
def _territories_of(home: str) -> frozenset[str]:
    """The home's overseas regions and territories (``[territories]`` in ``entities.toml``)."""
    return frozenset(_load_toml("entities.toml").get("territories", {}).get(home, ()))


def _units(
    text: str,
    title_end: int,
    starts: list[int],
    last_lead: int,
    mentions: list[Mention],
    terms: list[Term],
    compounds: list[Compound],
    home: str,
) -> tuple[dict[int, _Unit], set[str]]:
    """Group what the text contains by sentence (-1 is the title). Only the title, the lead
    and sentences naming a foreign partner matter for the verdict; the rest only feeds
    the topics."""

    def index(pos: int) -> int:
        return -1 if pos < title_end else bisect_right(starts, pos) - 1

    units: dict[int, _Unit] = {}
    for m in mentions:
        if m.code != home:
            i = index(m.start)
            u = units.get(i)
            if u is None:
                u = units[i] = _Unit()
            u.foreign.append(m)
    topics: set[str] = set()
    for term in terms:
        cats = term.categories
        if len(cats) == 1 and cats[0].startswith("topic."):
            topics.add(cats[0])
            continue
        i = index(term.start)
        u = units.get(i)
        if u is None:
            if i > last_lead:
                found = _TOPICS_OF.get(cats)
                if found is None:  # once per category tuple of the lexicon
                    found = _TOPICS_OF[cats] = tuple(c for c in cats if c.startswith("topic."))
                topics.update(found)
                continue
            u = units[i] = _Unit()
        for cat in cats:
            if cat == "coop":
                u.coop.append(term)
            elif cat.startswith("type."):
                u.types.setdefault(cat[5:], term)
            elif cat.startswith("topic."):
                topics.add(cat)
            elif cat == "hub_noun":
                u.hub_noun = u.hub_noun or term
            elif cat == "hub_verb":
                u.hub_verb = u.hub_verb or term
            elif cat in _NEGATIVE:
                u.negative.append(term)
            elif cat == "courtesy":
                u.courtesy.append(term)
            elif cat == "hope":
                u.hope.append(term)
            elif cat in _HARD_NEGATIVE:
                u.hard_negative.append(term)
            elif cat == "anniversary":
                u.anniversary.append(term)
            elif cat == "renewal":
                u.renewal.append(term)
            elif cat == "signing":
                u.signing.append(term)
    for pos, label, codes in _bilateral(text, mentions, compounds, home):
        i = index(pos)
        u = units.get(i)
        if u is None:
            u = units[i] = _Unit()
        u.bilateral.append(label)
        u.bilateral_codes.update(codes)
    # A region counts only as the other side of a pair ("Korea-Africa", 臺灣與中東歐);
    # "Asia-Pacific's largest forum" describes, it does not name a partner.
    for u in units.values():
        if any(m.code.startswith(REGION_PREFIX) for m in u.foreign):
            u.foreign = [
                m
                for m in u.foreign
                if not m.code.startswith(REGION_PREFIX) or m.code in u.bilateral_codes
            ]
    return units, topics


#: The topic categories among a term's categories, by the term's category tuple.
_TOPICS_OF: dict[tuple[str, ...], tuple[str, ...]] = {}


def _topics_in(text: str, cjk: bool) -> set[str]:
    """Topic categories named in ``text`` (the part of a long body the verdict does not read)."""
    return lexicon().topics(lower_same_length(text), _cjk_hits(text), cjk)


_QUOTED = re.compile(r"[‘“'\"「『《〈「｢]([^’”'\"」』》〉」｣\n]{1,60})[’”'\"」』》〉」｣]")


# ``_QUOTED`` by its opening marks, each scan led by a literal (``re`` tests a leading class
# at every character, a literal it finds with a tight loop).
_QUOTED_OPENERS = "‘“'\"「『《〈｢"
_QUOTED_BY_OPENER = {
    mark: re.compile(re.escape(mark) + _QUOTED.pattern[_QUOTED.pattern.index("]") + 1 :])
    for mark in _QUOTED_OPENERS
}


def _quoted_spans(text: str) -> list[tuple[int, int]]:
    """The spans of group 1 of ``_QUOTED.finditer(text)``. A match at a position does not
    depend on earlier ones, so the scans per opening mark find the same matches as the whole
    pattern, unless one scan's match overlaps another's (the whole pattern would have taken
    the first and skipped the other): then the whole pattern decides."""
    found = []
    for mark in _QUOTED_OPENERS:
        if mark in text:
            found.extend(_QUOTED_BY_OPENER[mark].finditer(text))
    found.sort(key=lambda m: m.start())
    if any(a.end() > b.start() for a, b in pairwise(found)):
        return [m.span(1) for m in _QUOTED.finditer(text)]
    return [m.span(1) for m in found]


def _outside_quotes(text: str, mentions: list[Mention]) -> list[Mention]:
    """Drop organisations named inside quotation marks ('2026 UN Climate Week', 「OECD 포럼」):
    they name an event or a programme, not a party. Countries and compounds stay (the
    quoted 「한·중 벤처스타트업 서밋」 is still Korea-China)."""
    if not mentions:
        return mentions
    # Only organisations can be dropped: without one named, neither the quotation marks nor
    # the quoted spans need looking for.
    aliases = gazetteer().aliases
    orgs = {m.text for m in mentions if (alias := aliases.get(m.text)) and alias.kind == "org"}
    if not orgs or not any(ch in text for ch in "‘“'\"「『《〈｢"):
        return mentions
    spans = _quoted_spans(text)
    if not spans:
        return mentions
    out = []
    for m in mentions:
        quoted = m.text in orgs and any(s <= m.start and m.end <= e for s, e in spans)
        if quoted:
            continue
        out.append(m)
    return out


# A name brought in as a comparison or an example ("like centres in Japan do", "unlike
# Korea", "comme au Japon", "wie in Japan") is not a party: nothing between the marker and the
# name ends the clause. Hand-written (a regex over a few words), as no library marks these.
_EXAMPLE_MARKERS = (
    "like", "unlike", "as in", "comme en", "comme au", "comme aux", "comme dans", "wie in",
    "wie im", "ähnlich wie",
)
_EXAMPLE_BEFORE = re.compile(
    r"\b(?:" + "|".join(_EXAMPLE_MARKERS) + r")\b[^,;:.!?()]{0,30}$", re.IGNORECASE
)
_EXAMPLE_WINDOW = 45
# Characters that ``re.IGNORECASE`` matches to a marker's letters although they lower-case
# to something else (dotless ı, long ſ; tests/classify/test_scanning.py checks the list).
_FOLD_ODD_CHARS = ("\u0131", "\u017f")
_FOLD_ODD = re.compile("[" + "".join(_FOLD_ODD_CHARS) + "]")


def _not_examples(text: str, mentions: list[Mention], lowered: str) -> list[Mention]:
    """Drop countries named only as a comparison or an example (Latin script only).
    ``lowered`` is ``lower_same_length(text)``."""
    if not mentions:
        return mentions
    # ``in`` per character rather than ``_FOLD_ODD.search``: a class tested at every character
    # of a non-ASCII text cost ``re`` ten times the instructions.
    if not text.isascii() and any(ch in text for ch in _FOLD_ODD_CHARS):
        return [m for m in mentions if not _example_before(text, m.start)]
    # A match needs a marker that starts in the window before the name. Every marker in the
    # lower-cased text is found at C speed (``str.find``, overlaps included): a superset of
    # what the case-blind regex can match, which then runs only before the names with a
    # marker in front instead of over the window of every name (a regex search per name
    # took about 6 % of the classifier's time on English releases).
    starts = []
    for marker in _EXAMPLE_MARKERS:
        at = lowered.find(marker)
        while at >= 0:
            starts.append(at)
            at = lowered.find(marker, at + 1)
    if not starts:
        return mentions
    starts.sort()
    out = []
    for m in mentions:
        i = bisect_left(starts, m.start - _EXAMPLE_WINDOW)
        if i < len(starts) and starts[i] < m.start and _example_before(text, m.start):
            continue
        out.append(m)
    return out


# A country that names a field of study or a school located elsewhere is no party: "Centre
# for Korean Studies", "Institut d'études japonaises", 日本研究中心, 阿曼德國科技大學 (the
# German University of Technology in Oman, an Omani university).
_AREA_AFTER = re.compile(r"[ -](?:Studies|Studien)\b|研究中心|研究センター|연구소|연구센터")
_AREA_BEFORE = re.compile(r"\b[ée]tudes\s$", re.IGNORECASE)
_SCHOOL_AFTER = re.compile(r"(?:科技|理工|工業)?(?:大學|大学|대학교|대학)")
# What every match of ``_AREA_AFTER`` holds, and of ``_AREA_BEFORE``: a text without them
# needs neither pattern tried at each of its names (two calls per name, most of them vain).
# ``_AREA_BEFORE``'s "tude" lower-cases to itself whatever its case (no other character
# folds to these letters; tests/classify/test_scanning.py).
_AREA_AFTER_WORDS = ("Studie", "研究", "연구")
_AREA_BEFORE_WORD = "tude"


def _not_in_names(
    text: str, mentions: list[Mention], home: str, lowered: str | None = None
) -> list[Mention]:
    """Drop the mentions that are part of an area-studies unit's or a school's name, or that
    gloss the name before them in brackets. An
    abbreviation (the 日 of 臺日研究中心, a joint centre) is a pair, never such a name.
    ``lowered``: ``lower_same_length(text)``, when at hand."""
    out = []
    prev: Mention | None = None
    area_after = any(word in text for word in _AREA_AFTER_WORDS)
    area_before = _AREA_BEFORE_WORD in (lower_same_length(text) if lowered is None else lowered)
    for m in mentions:
        if m.abbr:
            prev = m
            out.append(m)
            continue
        if (area_after and _AREA_AFTER.match(text, m.end)) or (
            area_before and m.start >= 7 and _AREA_BEFORE.search(text, m.start - 8, m.start)
        ):
            continue
        if (
            prev is not None
            and prev.code != m.code
            and text[prev.end : m.start] in (" (", "(", " （", "（")
            and text.startswith((")", "）"), m.end)
        ):
            continue  # "South Africa (NRF)": the name in brackets is that country's body
        if (
            prev is not None
            and not prev.abbr
            and prev.end == m.start
            and home not in (prev.code, m.code)
            and prev.code != m.code
            and not text[m.start].isascii()
            and _SCHOOL_AFTER.match(text, m.end)
        ):
            continue  # two foreign names, then 大學: 阿曼德國科技大學 (臺灣德國大學 is a pair)
        prev = m
        out.append(m)
    return out


def _example_before(text: str, start: int) -> bool:
    return bool(_EXAMPLE_BEFORE.search(text, max(0, start - _EXAMPLE_WINDOW), start))


def _outside(terms: list[Term], spans: list[tuple[int, int]]) -> list[Term]:
    """Drop terms inside names ("Cooperation" in "Asia-Pacific Economic Cooperation")."""
    if not spans:
        return terms
    out = []
    i = 0
    for term in terms:
        while i < len(spans) and spans[i][1] <= term.start:
            i += 1
        if i < len(spans) and spans[i][0] <= term.start and term.end <= spans[i][1]:
            continue
        out.append(term)
    return out


def _bilateral(
    text: str, mentions: list[Mention], compounds: list[Compound], home: str
) -> list[tuple[int, str, set[str]]]:
    """Home-foreign pairs: compounds (台法, 한·영, Taiwan-France) and "Taiwan and France",
    as (offset, text, foreign codes)."""
    out = []
    for c in compounds:
        foreign = {code for code in c.codes if code != home}
        if home in c.codes and foreign and not _posted(text, c.start):
            out.append((c.start, text[c.start : c.end], foreign))
    for i, (a, b) in enumerate(pairwise(mentions)):
        if (a.code == home) == (b.code == home) or a.abbr or b.abbr or _posted(text, a.start):
            continue
        gap = text[a.end : b.start]
        if gap in (", ", "、") and _in_list(text, mentions, i):
            # "Japan, France, Germany, Hungary...", "JAXA、イタリア・ノルウェー・フランス": a
            # list of members, not a pair
            continue
        if len(gap) <= 12 and (_COMPOUND_GAP.fullmatch(gap) or _PAIR_GAP.fullmatch(gap)):
            codes = {b.code if a.code == home else a.code}
            end = b.end
            # A chain continues the pair: "臺灣-拉脫維亞-立陶宛", "Taiwan-US-Japan".
            for c in mentions[i + 2 :]:
                if c.abbr or c.code == home or not _PAIR_DASH.fullmatch(text[end : c.start]):
                    break
                codes.add(c.code)
                end = c.end
            out.append((a.start, text[a.start : end], codes))
    return out


_PAIR_DASH = re.compile(r" ?[-/–] ?")


def _in_list(text: str, mentions: list[Mention], i: int) -> bool:
    """Whether the comma between mentions ``i`` and ``i + 1`` continues a list of three or
    more names (another name joined by a comma or "and" on either side)."""
    before = i > 0 and text[mentions[i - 1].end : mentions[i].start] in (", ", "、")
    # Japanese lists join names with ・ as well ("イタリア・ノルウェー・フランス").
    gap = text[mentions[i + 1].end : mentions[i + 2].start] if i + 2 < len(mentions) else None
    after = gap is not None and (gap == "・" or _PAIR_GAP.fullmatch(gap))
    return bool(before or after)
# "Zusammenarbeit mit Japan und Korea", "with Germany, Austria and Switzerland": the home
# side works with all of them ("with" earlier in the same clause, names and commas between).
_WITH_BEFORE = re.compile(r"\b(?:with|mit|avec)\s[^.;:!?()]{0,50}$", re.I)
# "駐日米国大使", "在ジブチ日本国大使", 駐台法國代表: 駐/在 ("posted in") make the names an
# envoy's posting and nationality, not two parties.
_POSTED = frozenset("駐在")
_POSTED_BEFORE = frozenset("駐在주")  # 주한미국대사: the US ambassador posted in Korea


def _posted(text: str, start: int) -> bool:
    return text[start] in _POSTED or (start > 0 and text[start - 1] in _POSTED_BEFORE)


def _foreign_pair(
    text: str, mentions: list[Mention], home: str, title_end: int, trip: bool = False
) -> str | None:
    """A pair of two foreign names in the title ("UE-Japon", "U.S.-China", "EU-Kommission
    und Indien") when the title names no home side, else ``None``. In a trip's title
    (``trip``) "Canada and the US" are two destinations: only a dash pairs them."""
    in_title = [m for m in mentions if m.end <= title_end]
    if len(in_title) < 2 or any(m.code == home for m in in_title):
        return None
    for i, (a, b) in enumerate(pairwise(in_title)):
        if a.code == b.code or a.abbr or b.abbr or REGION_PREFIX in (a.code[:1], b.code[:1]):
            continue
        gap = text[a.end : b.start]
        if gap in (", ", "、") and _in_list(text, in_title, i):
            continue  # "マレーシア、インドネシア、タイの4大学と": a list of partners, not a pair
        if _PAIR_DASH.fullmatch(gap) or (
            not trip
            and len(gap) <= 12
            and _PAIR_GAP.fullmatch(gap)
            and not _WITH_BEFORE.search(text, max(0, a.start - 60), a.start)
        ):
            return text[a.start : b.end]
    return None


def _partners(
    t: _Unit,
    units: dict[int, _Unit],
    lead_units: list[tuple[int, _Unit]],
    strict: bool,
    aside: set[int] | frozenset[int] = frozenset(),
) -> tuple[str, ...]:
    """Partners named in the title; else the foreign names the lead and body tie to
    cooperation, keeping only those close to the most prominent one."""
    titled = {m.code for m in t.foreign if not m.code.startswith(REGION_PREFIX)}
    paired = titled & t.bilateral_codes
    if paired:
        # A title that pairs the home side with partners ("한·아세안 공동위", "Taiwan-France
        # forum in Berlin") names the parties there; its other names are venues or context.
        return tuple(sorted(paired))
    if titled:
        return tuple(sorted(titled))
    scores: dict[str, float] = {}
    for index, u in units.items():
        if index < 0 or not u.foreign:
            continue
        in_lead = any(index == i for i, _ in lead_units)  # a handful of sentences
        codes = {
            m.code
            for m in u.foreign
            if not m.code.startswith(REGION_PREFIX) and not (in_lead and m.start in aside)
        }
        for code in codes:
            if code in u.bilateral_codes:
                scores[code] = scores.get(code, 0.0) + 2.0
            if in_lead:
                scores[code] = scores.get(code, 0.0) + (2.0 if u.kinds() else 1.5)
            elif u.linked(strict):
                scores[code] = scores.get(code, 0.0) + 0.5
    if not scores:
        return ()
    top = max(scores.values())
    return tuple(sorted(c for c, s in scores.items() if s >= 1.5 and s >= 0.5 * top))


def _span(t: _Unit, units: dict[int, _Unit], starts: list[int], text: str) -> tuple[int, int]:
    """Offsets of the sentence that stands in for a missing title (0, 0 when none)."""
    for i, u in units.items():
        if u is t and i >= 0:
            return starts[i], starts[i + 1] if i + 1 < len(starts) else len(text)
    return 0, 0


# A sentence that dates its agreement ("signed in 2019", 平成14年に協定を結び, 지난해 체결한,
# "avait signé", "Since ... France has signed") recalls one concluded before the trip.
_PAST = re.compile(r"\b(?:19|20)\d\d\b|(?:19|20)\d\d年|平成|昭和|令和|" + _PAST_WORD, re.IGNORECASE)
# A year that ends a day and a month ("am 4. August 2021", "le 26 mars 2019", "on 5 March
# 2019", "March 5, 2019") or starts one (2019年3月26日, 2019년 3월) dates the visit itself.
_MONTHS = (
    r"janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre"
    r"|décembre|decembre|januar|jänner|februar|märz|april|juni|juli|august|september|oktober"
    r"|dezember|january|february|march|may|june|july|october|november|december"
)
_FULL_DATE = re.compile(
    rf"\b\d{{1,2}}(?:\.|er|st|nd|rd|th)?\s+(?:{_MONTHS})\s+(?:19|20)\d\d\b"
    rf"|\b(?:{_MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d\d\b"
    r"|(?:19|20)\d\d\s*[年년]\s*\d{1,2}\s*[月월]",
    re.IGNORECASE,
)


def _dated_before(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] puts a signing before the trip (``_PAST``): a year that is
    part of a full date is the trip's own date, not an older agreement's."""
    dates = None
    for m in _PAST.finditer(text, start, end):
        if not m.group()[:1].isdigit():
            return True
        if dates is None:
            dates = [d.span() for d in _FULL_DATE.finditer(text, start, end)]
        if not any(a <= m.start() and m.end() <= b for a, b in dates):
            return True
    return False


def _new_signing(
    units: dict[int, _Unit], sentences: range, starts: list[int], text: str, lowered: str
) -> bool:
    """Whether one of ``sentences`` signs an agreement that is new: a signing word, and no
    date, anniversary or "since" that makes it the history being celebrated."""
    for i in sentences:
        u = units.get(i)
        if u is None or "agreement" not in u.types or u.anniversary:
            continue
        if u.renewal:
            return True
        end = _sentence_end(starts, i, text)
        if (
            u.signing
            and not _ANNIVERSARY_YEARS.search(lowered, starts[i], end)
            and not _PAST.search(text, starts[i], end)
        ):
            return True
    return False


# Where a headline's clauses part: a blank between Chinese or Japanese characters (their
# headlines join clauses so; Korean spaces its words), a full-width or Latin comma or
# semicolon, a spaced dash.
_HAN_KANA = "\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff"
_CLAUSE_BREAK = re.compile(rf"(?<=[{_HAN_KANA}]) (?=[{_HAN_KANA}])|[，；;]|, | [–—] ")


_BOTH_SIDES = re.compile(
    r"雙方|双方|兩國|两国|両国|양국|양측|양 기관|兩校|两校|両校|両大学|양 대학|양교"
    r"|\b(?:both sides|the two countries|les deux pays|both universities|both institutions"
    r"|les deux universités|les deux institutions|les deux établissements"
    r"|beide seiten|beiden seiten|beide länder|beiden länder|beider universitäten"
    r"|beide universitäten|beiden universitäten|beide hochschulen|beiden hochschulen"
    r"|beider hochschulen)\b",
    re.IGNORECASE,
)


def _signed_apart(title: str, terms: list[Term], foreign: list[Mention]) -> str:
    """The title's agreement term when every one of them stands in a clause (``_CLAUSE_BREAK``)
    that names none of the title's foreign sides, else ""."""
    found = [x for x in terms if x.end <= len(title) and "type.agreement" in x.categories]
    if not found:
        return ""
    cuts = [*_clause_starts(title, 0, len(title)), len(title) + 1]
    if len(cuts) == 2:
        return ""
    for x in found:
        k = bisect_right(cuts, x.start) - 1
        if any(cuts[k] <= m.start < cuts[k + 1] for m in foreign):
            return ""
    return found[0].text


# Who is a party of a mechanism sentence (branch classparty). A foreign name in a signing,
# committee or meeting sentence is a side of it unless its position says otherwise: the
# venue ("à Yaoundé", "at the Tokyo University", 에서), a domestic body's seat abroad ("FAU
# Busan Campus", 인도네시아 사무소), an envoy's or compatriots' posting (駐, 在, 재유럽, 주재),
# the occasion ("during the visit of", "beim Besuch", "en marge de") or the aim of the clause
# ("to expand Korea-US projects", 推動台日半導體合作). Hand-written: no parser of the six
# languages is a dependency here (spaCy's or Stanza's models would be hundreds of MB each,
# and still mark "Busan" in "FAU Busan Campus" as a place rather than a name); these are a
# few positional markers, each checked on the development part (docs/classification.md).
PARTY = "party"
_PLACE_BEFORE = re.compile(
    r"(?:\b(?:in|at|à|au|aux|en|im|in der|in den)\s+"
    r"(?:the\s+|la\s+|le\s+|les\s+|l'|l’|der\s+|dem\s+)?|[在於])$",
    re.IGNORECASE,
)
# After the name (a city's suffix between: 大田市で, 대전시에서); a trip's destination
# (韓国を訪れ, 몽골을 방문) is a place too: the partner's, unless the trip is to a ministers'
# conference or a summit held there.
_PLACE_AFTER = re.compile(r"[市道県縣省州시]?(?:에서|で(?!は)|にて)|を訪れ|を訪問|[을를] ?방문")
_TRIP_BEFORE = re.compile(
    r"(?:\b(?:visit(?:s|ed|ing)?|visit to|trip to|travel(?:led|ed|s)? to)\s+(?:the\s+)?|[赴訪])$",
    re.IGNORECASE,
)
_SEAT_AFTER = re.compile(
    r" ?(?:사무소|지사|분원|캠퍼스|事務所|辦事處|辦公室|分處|分校|校區|キャンパス)"
    r"|\s(?:office|bureau|büro|campus|außenstelle)\b",
    re.IGNORECASE,
)
# "für ihren Campus Busan" (a city's name after the noun; "Campus franco-sénégalais" is a
# joint campus, its adjective no seat).
_SEAT_BEFORE = re.compile(r"\b[Cc]ampus\s$")
_POSTED_AFTER = re.compile(r" ?주재")
# The occasion: a state visit, another meeting's sidelines. (Its visitor may be the one who
# signs: "beim Besuch einer japanischen Delegation unterzeichneten die Präsidenten beider
# Universitäten", de-s-mainz-01; a sentence that says "both sides" keeps its names.)
_OCCASION_BEFORE = re.compile(
    r"\b(?:during|on the occasion of|on the sidelines of|on the margins? of|en marge d"
    r"|à l'occasion d|à l’occasion d|lors d|beim|anlässlich|am rande)\b[^,;:.!?]{0,60}$",
    re.IGNORECASE,
)
_AIM_BEFORE = re.compile(
    r"(?:\bto (?:expand|promote|boost|strengthen|deepen|advance|foster|enhance|further"
    r"|broaden|develop|support|accelerate|increase)"
    r"|\bpour (?:renforcer|promouvoir|développer|approfondir|stimuler|favoriser|soutenir|élargir)"
    r"|\b(?:zur (?:stärkung|förderung|vertiefung)|um\b[^,;:.!?]{0,40}\bzu (?:stärken|fördern"
    r"|vertiefen))"
    r")\b[^,;:.!?]{0,60}$"
    # CJK: the marker right before the name or its compound (推動台日, 加強與日本), not a
    # programme's name (研究推進事業).
    r"|(?:推動|推進|促進|深化|加強|拓展|擴大|共推|助力|強化|厚植)[與和同跟對]?$",
    re.IGNORECASE,
)
_AIM_WINDOW = 80
_MULTILATERAL = re.compile(
    r"\b(?:ministerial|ministérielle|ministerkonferenz|summit|sommet|gipfel)\b"
    r"|閣僚|部長會議|部長級會議|峰會|サミット|장관회의|각료|정상회의",
    re.IGNORECASE,
)
# The positions that make no party. A place does not: the country a signing or an opening is
# held in is the partner's more often than not ("Signature de l'accord-cadre CNES-Roscosmos à
# Moscou", "Le CNRS inaugure à Singapour...", "Déplacement ... au Japon").
_NOT_PARTY = frozenset({"seat", "posted", "occasion", "aim", "venue"})


def party_role(
    text: str, m: Mention, clause_start: int = 0, sentence: tuple[int, int] | None = None
) -> str:
    """Where a foreign name stands in its clause (``clause_start`` to the name) and sentence
    (offsets; the clause to the text's end when ``None``): ``PARTY``, or why it is none:
    "place", "venue", "seat", "posted", "occasion" or "aim" (the markers above)."""
    sentence = sentence or (clause_start, len(text))
    start = m.start
    if m.abbr:
        # An abbreviation inside a compound (the 日 of 台日) stands where its compound does:
        # the compound starts at the last non-name character before it.
        while start > clause_start and "\u3400" <= text[start - 1] <= "\u9fff" and (
            not _AIM_BEFORE.search(text, max(clause_start, start - _AIM_WINDOW), start)
        ):
            start -= 1
    lo = max(clause_start, start - _AIM_WINDOW)
    before = text[lo:start]
    # 駐/주 before the name, 재 opening a Korean word (재유럽), 주재 after it. Not 在: "在維爾紐斯
    # 成立", "在渥太華舉行" name the venue (a place, which may be the partner's).
    if (
        (m.start > 0 and text[m.start - 1] in "駐주")
        or text[m.start] == "駐"
        or (
            start > 0
            and text[start - 1] == "재"
            and (start < 2 or not _HANGUL.match(text[start - 2]))
        )
        or _POSTED_AFTER.match(text, m.end)
    ):
        return "posted"
    if not m.abbr and (
        _SEAT_AFTER.match(text, m.end) or (m.text[:1].isupper() and _SEAT_BEFORE.search(before))
    ):
        return "seat"
    if _OCCASION_BEFORE.search(before):
        return "occasion"
    if _AIM_BEFORE.search(before):
        return "aim"
    if (
        _PLACE_BEFORE.search(before)
        or _TRIP_BEFORE.search(before)
        or (not m.abbr and _PLACE_AFTER.match(text, m.end))
    ):
        # The venue of a ministers' conference or a summit (a multilateral meeting) is not
        # its host's partnership: "44e Conférence ministérielle de la Francophonie à Yaoundé".
        if _MULTILATERAL.search(text, sentence[0], sentence[1]):
            return "venue"
        return "place"
    return PARTY


def _clause_starts(text: str, start: int, end: int) -> list[int]:
    """Where the clauses of ``text[start:end]`` start (``_CLAUSE_BREAK``)."""
    return [start, *(x.end() for x in _CLAUSE_BREAK.finditer(text, start, end))]


def _roles(text: str, mentions: list[Mention], start: int, end: int) -> list[str]:
    """``party_role`` of each of ``mentions`` (all within ``text[start:end]``)."""
    cuts = _clause_starts(text, start, end)
    return [
        party_role(text, m, cuts[bisect_right(cuts, m.start) - 1], (start, end)) for m in mentions
    ]


# Plural visit nouns of German (and its compounds: Delegationsreisen, Koordinationsbesuche)
# and French; not English "visits", which is as often the verb.
_FRENCH_FALSE_FRIENDS = frozenset({"met", "tour", "tours"})
_PLURAL_VISIT = re.compile(r"(?:reisen|besuche|delegationen|délégations|missions|visites)$")


def _only_plural_visits(terms: list[Term], title_end: int) -> bool:
    """Whether every visit word of the title is a plural noun (``_PLURAL_VISIT``)."""
    visits = [
        x.text
        for x in terms
        if x.start < title_end and "type.visit-or-delegation" in x.categories
    ]
    return bool(visits) and all(_PLURAL_VISIT.search(v) for v in visits)


# An envoy who escorts the visitor ("le ministre ..., accompagné de l'ambassadrice de France",
# "begleitet von der Botschafterin", "accompanied by the ambassador") is not the visitor: the
# call is the minister's, not an envoy's (branch classdefr).
_ESCORT_BEFORE = re.compile(
    r"(?i)(?:accompagnée?s? (?:de|par|d')|accompanied by|begleitet von|in begleitung)"
    r"[^.;:!?]{0,40}$"
)
_ESCORT_WINDOW = 60


def _escorts_only(text: str, courtesy: list[Term]) -> bool:
    """Whether every envoy cue of a lead sentence follows an escort phrase (``_ESCORT_BEFORE``)."""
    return all(
        _ESCORT_BEFORE.search(text, max(0, x.start - _ESCORT_WINDOW), x.start) for x in courtesy
    )


def _call_phrases(lowered: str) -> list[Term]:
    """Joint-call terms of a Latin text that are no literal: a split verb, a numbered call."""
    found = []
    if "schreib" in lowered:
        found += [
            Term(m.start(), m.end(), m.group().split()[0] + " … aus", _CALL_CATEGORIES)
            for m in _SPLIT_CALL.finditer(lowered)
        ]
    if "appel" in lowered or "call" in lowered:
        found += [
            Term(m.start(), m.end(), m.group(), _CALL_CATEGORIES) for m in _numbered_calls(lowered)
        ]
    return found


# German closes compounds on their head noun ("Informationsreise", "Antrittsbesuch",
# "Hochschuldelegation", "Partnerschaftsvereinbarung", "Bildungsabkommen"): the head names the
# kind, whatever the words before it. Only trips and agreements, whose heads name nothing else
# (not "-zentrum", "-konferenz", "-ausschuss": Kulturzentrum, Hochschulrektorenkonferenz,
# Haushaltsausschuss are bodies); a word the lexicon knows keeps its own reading
# (Freihandelsabkommen is a trade treaty), and "-reise" after p, k or g is Preise, Kreise.
_COMPOUND_HEADS = re.compile(
    r"\b[a-zäöüß]{3,}?(?:(?<![pkg])reisen?|besuche?|delegation(?:en)?"
    r"|(vereinbarung(?:en)?|abkommens?))\b"
)
_COMPOUND_CUES = ("reise", "besuch", "delegation", "vereinbarung", "abkommen")
_COMPOUND_VISIT = ("type.visit-or-delegation",)
_COMPOUND_AGREEMENT = ("type.agreement",)


def _compound_heads(lowered: str) -> list[re.Match[str]]:
    """The matches of ``_COMPOUND_HEADS.finditer(lowered)``."""
    return _matches_at_cued_words(_COMPOUND_HEADS, _COMPOUND_CUES, lowered)


def _matches_at_cued_words(
    pattern: re.Pattern[str], cues: tuple[str, ...], lowered: str
) -> list[re.Match[str]]:
    """The matches of ``pattern.finditer(lowered)`` for a head pattern (``\\b``, a lazy run of
    letters, a head holding one of ``cues``, ``\\b``). A match is a whole word (it starts at a
    word boundary and its letters run to the next one, so it cannot start inside a word) that
    ends with a head: the pattern is tried only at the start of each word that holds a cue.
    (It opens with a word boundary and a lazy run of letters, so ``re`` expanded it letter by
    letter from every word start, and English releases name a "delegation", a "workshop".)"""
    starts = set()
    for cue in cues:  # each head holds one ("besuch" of "besuche")
        at = lowered.find(cue)
        while at >= 0:
            start = at
            while start and (lowered[start - 1].isalnum() or lowered[start - 1] == "_"):  # \w
                start -= 1
            starts.add(start)
            at = lowered.find(cue, at + 1)
    found: list[re.Match[str]] = []
    for start in sorted(starts):
        match = pattern.match(lowered, start)
        if match is not None:
            found.append(match)
    return found


def _compound_kinds(lowered: str) -> list[Term]:
    """Kind terms of German compounds that the lexicon does not list (``_COMPOUND_HEADS``)."""
    if not any(head in lowered for head in _COMPOUND_CUES):
        return []
    known = lexicon()
    found = []
    for m in _compound_heads(lowered):
        if known.categories(m.group()):
            continue
        kind = _COMPOUND_AGREEMENT if m.group(1) else _COMPOUND_VISIT
        found.append(Term(m.start(), m.end(), m.group(), kind))
    return found


# The same head rule for calls, forums and centres (branch classdefr): "Sonderausschreibung",
# "Förderaufruf", "Forschungsbekanntmachung" are calls (in the singular: the plural
# "Programmausschreibungen" heads a listing); "Fachkonferenz", "Expertenworkshop",
# "Jahrestagung", "Sommerkolloquium" are forums; "Innovationszentrum", "Partnerlabor" are centre
# nouns, which make a hub only beside an opening verb ("eröffnet", "gegründet"). Not a body
# named like an event (Hochschulrektorenkonferenz, Kultusministerkonferenz), a job posting
# (Stellenausschreibung) nor an appeal for donations (Spendenaufruf).
_HEAD_KINDS = re.compile(
    r"\b[a-zäöüß]{3,}?(?:(ausschreibung|aufrufs?|bekanntmachung)"
    r"|(konferenz(?:en)?|workshops?|symposi(?:um|en)|tagung(?:en)?|kolloqui(?:um|en)|foren|forums?)"
    r"|(zentrum|zentrums|zentren|labor|labors|labore))\b"
)
_HEAD_CUES = ("ausschreibung", "aufruf", "bekanntmachung", "konferenz", "workshop", "symposi",
              "tagung", "kolloqui", "foren", "forum", "zentr", "labor")  # fmt: skip
_NOT_HEADS = re.compile(r"(?:rektoren|minister|präsidenten|stellen|spenden|wahl)")
_HEAD_CATEGORIES = (("type.joint-call",), ("type.forum-or-workshop",), ("hub_noun",))


def _head_kind_matches(lowered: str) -> list[re.Match[str]]:
    """The matches of ``_HEAD_KINDS.finditer(lowered)``."""
    return _matches_at_cued_words(_HEAD_KINDS, _HEAD_CUES, lowered)


def _head_kinds(lowered: str) -> list[Term]:
    """Call, forum and centre terms of German compounds the lexicon does not list
    (``_HEAD_KINDS``)."""
    if not any(cue in lowered for cue in _HEAD_CUES):
        return []
    known = lexicon()
    found = []
    for m in _head_kind_matches(lowered):
        word = m.group()
        if known.categories(word) or _NOT_HEADS.search(word, 0, m.start(m.lastindex) - m.start()):
            continue
        found.append(Term(m.start(), m.end(), word, _HEAD_CATEGORIES[m.lastindex - 1]))
    return found


# French kind phrases agree in gender and number ("laboratoires communs", "unité mixte",
# "commissions mixtes", "comité bilatéral", "appels à propositions conjoints", "lettres
# d'intention"): one pattern per kind, over every inflection, rather than each form in the
# lexicon (branch classdefr).
_FRENCH_KINDS = re.compile(
    r"\b(?:((?:laboratoire|centre|institut|unité)s? (?:de recherche )?"
    r"(?:commun|conjoint|mixte)[es]{0,2})"
    r"|((?:comité|commission)s? (?:mixte|conjoint|bilatéral|bilatéraux)[es]{0,2})"
    r"|(appels? (?:conjoints?|(?:à|de) (?:projets?|propositions?|candidatures?)(?: conjoints?)?))"
    r"|((?:lettre|déclaration)s? d'intention|protocoles? d'accord"
    r"|mémorandums? d'(?:entente|accord)))\b"
)
_FRENCH_CUES = (
    "commun", "conjoint", "mixte", "bilatéra", "appel", "intention", "protocole", "mémorandum"
)
_FRENCH_CATEGORIES = (
    ("type.hub-or-center",), ("type.joint-committee",), ("type.joint-call",), ("type.agreement",)
)


def _french_kinds(lowered: str) -> list[Term]:
    """Kind terms of French noun phrases in any gender and number (``_FRENCH_KINDS``)."""
    if not any(cue in lowered for cue in _FRENCH_CUES):
        return []
    return [
        Term(m.start(), m.end(), m.group(), _FRENCH_CATEGORIES[m.lastindex - 1])
        for m in _FRENCH_KINDS.finditer(lowered)
    ]


# A visit to a university or an institute named after the verb 訪 alone (訪嘉大, 訪成大,
# 訪瑞典皇家理工學院; 東大を訪問 is 訪問): a short name, one or two characters and 大 that ends
# the word or opens 大學/大学, or a full name ending in 大學, 學院, 研究院 or 研究所. Not 訪大陸
# (no character before 大), nor 訪臺大使 (大 opens another word), nor an interview (採訪, 專訪,
# 受訪: a journalist's call). Or before a country's one-character name, as the listed 訪美 and
# 訪日 ("訪加之行"); the name itself is left to the gazetteer (訪瑞典: 瑞典 stays a name).
_UNIVERSITY_VISIT = re.compile(
    r"(?<![採专專受查])訪(?=[\u4e00-\u9fff]{1,2}大(?:學|学|(?![\u4e00-\u9fff]))"
    r"|[\u4e00-\u9fff]{2,8}?(?:大學|大学|學院|学院|研究院|研究所)"
    r"|[法德英加澳紐印泰越菲星以俄荷捷波奧義瑞比墨立](?!強|入|速|油|工|班|象|談))"
)


def _university_visits(lowered: str, known: list[Term]) -> list[Term]:
    """Visit terms of a CJK text that the lexicon cannot list: 訪 before a university's or an
    institute's name or a country's one-character name (branch classzh2: "美國愛達荷大學師生訪
    嘉大", ``_UNIVERSITY_VISIT``); not where a listed word (訪問, 參訪) holds the 訪 already."""
    return [
        Term(m.start(), m.end(), "訪", _COMPOUND_VISIT)
        for m in _UNIVERSITY_VISIT.finditer(lowered)
        if not any(t.start <= m.start() < t.end for t in known)
    ]


# Money for projects: with no mechanism named, a release that funds the partners' projects
# ("AU$9m for joint projects with India", "fördern ... Gemeinschaftsprojekte", "finance le
# programme ... les projets", 共同研究課題に助成) reports a funding programme, which is
# what a joint call is. Funding and projects in one sentence of the title or the lead.
_FUNDING = re.compile(
    r"(?i)\b(?:fund|funds|funded|funding|finance|finances|financé|financée|financés|financera"
    r"|financement|cofinanc\w*|co-financ\w*|förder[nt]?|gefördert|förderung|finanziert"
    r"|finanzieren|millions?|millionen|mio)\b|[€$£]|補助|資助|助成|研究費|지원금|연구비"
)
_PROJECTS = re.compile(
    r"(?i)\b\w*(?:projects?|projets?|projekte?n?|vorhaben)\b|計畫|計画|プロジェクト|課題|과제|프로젝트"
)


# ... and so does one that asks for applications or proposals (the deadline, the filing), or
# names the call itself (German uses the English "Call"; a BMBF call is a "Richtlinie").
_APPLYING = re.compile(
    r"(?i)\b(?:calls?|appels?|richtlinie|richtlinien"
    r"|anträge|antrag|antragsfrist|einreichen|einzureichen|eingereicht|bewerben"
    r"|candidatures?|déposée?s?|déposer|soumettre|soumises|apply|applications|proposals)\b"
    r"|申請|応募|신청|응모"
)


# An event held together (a research day, a national day's special event) is a forum.
_EVENT = re.compile(
    r"(?i)\b(?:events?|événements?|veranstaltung(?:en)?|journées?)\b|イベント|行事|研究日|행사"
)


def _unnamed_kind(text: str, start: int, end: int) -> tuple[str, str]:
    """For a release whose title and lead name no kind: the kind and the word that says it,
    from the first sentence of ``text[start:end]`` that funds projects or asks for
    applications (a joint call) or names an event (a forum), else ("", "")."""
    for sentence in re.split(r"(?<=[.!?。！？\n])", text[start:end]):
        money = _FUNDING.search(sentence)
        if money and _PROJECTS.search(sentence):
            return "joint-call", money.group()
        applying = _APPLYING.search(sentence)
        if applying:
            return "joint-call", applying.group()
        event = _EVENT.search(sentence)
        if event:
            return "forum-or-workshop", event.group()
    return "", ""


def _call_nouns(lowered: str) -> list[int]:
    """The starts of ``_CALL_NOUN.finditer(lowered)``'s matches: each noun found by
    ``str.find`` (the pattern's two first letters made ``re`` test a class at every
    character), followed by a word boundary. Neither noun can overlap itself or the other."""
    starts = []
    size = len(lowered)
    for noun in ("appel", "call"):
        at = lowered.find(noun)
        while at >= 0:
            after = at + len(noun)
            if after == size or not (lowered[after].isalnum() or lowered[after] == "_"):  # \b
                starts.append(at)
            at = lowered.find(noun, after)
    starts.sort()
    return starts


def _numbered_calls(lowered: str) -> list[re.Match[str]]:
    """The matches of ``_NUMBERED_CALL.finditer(lowered)``, found from the call nouns: the
    pattern opens with a word boundary and alternatives, so ``re`` tried it at every position
    of the text; a match ends at a call noun, after blanks, after the word it starts with."""
    found: list[re.Match[str]] = []
    done = 0
    for start in _call_nouns(lowered):
        blank = start
        while blank and lowered[blank - 1].isspace():  # what ``\s`` matches
            blank -= 1
        if blank == start:
            continue  # "recall": no blank before the noun
        start = blank
        while start and (lowered[start - 1].isalnum() or lowered[start - 1] == "_"):  # ``\w``
            start -= 1
        if start < done:
            continue
        match = _NUMBERED_CALL.match(lowered, start)
        if match is not None:
            found.append(match)
            done = match.end()
    return found


def _sentence_end(starts: list[int], i: int, text: str) -> int:
    return starts[i + 1] if i + 1 < len(starts) else len(text)


# A CJK lead whose first words are an envoy posted abroad (駐瑞典代表, 駐日大使), not an office
# (代表處, 大使館): the envoy is the one who calls.
_ENVOY_FIRST = re.compile(r"[^，。、,\n]{0,8}?駐[^，。、,\s]{1,10}?(?:代表(?!處)|大使(?!館))")
_TITLE_WORDS = re.compile(r"[^\W\d_]+")
_HEADING_WORDS = 6


@cache
def _title_shape() -> tuple[frozenset[str], frozenset[str]]:
    shape = _load_toml("lexicon.toml")["title_shape"]
    return frozenset(shape["heading"]), frozenset(shape["sentence"])


def _heading(title: str) -> bool:
    """Whether a lower-cased Latin-script title is a page heading: at most six words, a plural
    cooperation noun, and no verb, auxiliary, number or digit (``title_shape`` in
    ``lexicon.toml``)."""
    if any(ch.isdigit() for ch in title):
        return False
    heading, sentence = _title_shape()
    # Elided articles (l', d') are no words of their own.
    found = _TITLE_WORDS.findall(title.replace("’", "'").replace("'", " "))
    words = [w for w in found if len(w) > 1]
    # Headings are short noun phrases; a longer title without a finite verb is a headline
    # in nominal style ("Karliczek: Mehr erreichen durch internationale Partnerschaften...").
    if len(words) > _HEADING_WORDS:
        return False
    return any(w in heading for w in words) and not any(w in sentence for w in words)


# The Chinese and Japanese form of a page heading (branch classzh2): a noun phrase ending in
# "relations" (我國與歐洲地區國家關係, 臺日關係概況, 日台関係), unbroken by a blank or a
# punctuation mark and with no verb of building (深化, 強化: "副總統深化台日關係" reports an act).
_CJK_HEADING = re.compile(r"[\u4e00-\u9fff]{2,14}(?:關係|関係)(?:概況|簡介|概要|の概要)?")
_BUILDING_VERBS = re.compile(r"深化|強化|促進|加強|推動|提升|拓展|鞏固|發展|增進|深める|強化")


def _cjk_heading(title: str) -> bool:
    """Whether a Chinese or Japanese title is a relations page's heading (``_CJK_HEADING``)."""
    title = title.strip()
    return bool(_CJK_HEADING.fullmatch(title)) and not _BUILDING_VERBS.search(title)


_TALLY = re.compile(
    r"(?i)\b\d{2,}[\d,]*\+?\s+(?:\w+\s+){0,2}(?:agreements|mous|memoranda|accords|partnerships"
    r"|abkommen|vereinbarungen|kooperationsvereinbarungen|partnerschaften|conventions|ententes"
    r"|partenariats)\b"
)
_TALLY_CJK = re.compile(
    r"\d{2,}\s*(?:項|份|件|個|개|건)\s*(?:合作)?(?:協定|協議|備忘錄|MOU|협약|협정|양해각서|覚書)"
)


def _pick_type(kinds: dict[str, Term]) -> str | None:
    for kind in _TYPE_PRIORITY:
        if kind in kinds:
            return kind
    return None


def _lead_type(lead_units: list[tuple[int, _Unit]]) -> str | None:
    # The first two sentences of the lead that tie a partner to cooperation report the
    # event; later ones add context ("announced during the state visit").
    for _, u in lead_units[:2]:
        found = _pick_type(u.kinds())
        if found:
            return found
    return None


def _names(mentions: list[Mention]) -> str:
    return ", ".join(dict.fromkeys(f"{m.text} ({m.code})" for m in mentions))


def _terms(u: _Unit, kinds: dict[str, Term]) -> str:
    words = [f"{term.text} ({kind})" for kind, term in kinds.items() if term.text]
    words += [term.text for term in u.coop]
    words += u.bilateral
    return ", ".join(dict.fromkeys(words)) or "?"


def _snippet(sentence: str, limit: int = 160) -> str:
    sentence = sentence.strip()
    return sentence if len(sentence) <= limit else sentence[: limit - 1] + "…"


# Who the parties are, when they are towns (branch classzh). A pact or a visit between local
# governments (sister cities, friendship pacts, a county's delegation to a prefecture), or by a
# friendship association, is town diplomacy: REALSET.md labels it a negative (its subjects are
# tourism, culture, trade, schools) unless a research body or a science mechanism is named.
# Twinning and friendship-city words, and friendship associations, in every language.
_TOWN_PACT = re.compile(
    r"姊妹市|姐妹市|姊妹城市|姐妹城市|姊妹縣|姉妹都市|姉妹提携|姉妹県|姊妹州|友好城市|友好都市|"
    r"友好協定|友好交流協定|友好協力都市|友好縣|友好県|締結友好|城鄉締盟|雙城|자매결연|자매도시|우호도시|"
    r"\bsister[- ]cit(?:y|ies)\b|\btwin towns?\b|\btown twinning\b|\bfriendship cit(?:y|ies)\b|"
    r"\bjumelage|\bvilles? jumel|\bstädtepartnerschaft|\bpartnerst[aä]dt",
    re.IGNORECASE,
)
_FRIENDSHIP_BODY = re.compile(
    r"親善協[會会]|友好(?:交流)?協[會会]|우호협회|\bfriendship (?:association|society)\b|"
    r"\bassociation d'amitié|\bfreundschaftsgesellschaft",
    re.IGNORECASE,
)
_FRIENDSHIP = re.compile(r"友好|親善|우호|\bfriendship\b|\bamitié\b|\bfreundschaft", re.IGNORECASE)
# A local government as a Chinese or Japanese name: a county, prefecture, township or city
# (高雄市, 台東縣政府, 魚池鄉, 徳島県, 済州特別自治道), or its head (市長, 縣長). 都市 and 城市
# (a city in general), 上市, 門市 and the like are no government, nor are a market (市場) and a
# region (區域).
_LOCAL_GOV = re.compile(
    r"[\u4e00-\u9fff]{1,6}?(?:縣|県|鄉|鎮|市(?!場|值|況|面|售|價)|區(?!域|塊|別|間|隔)|自治道)"
    r"(?:政府|府|長|公所|役所|廳|庁)?"
)
# A district (板橋區, 區公所) is a local government too (branch classzh2); a region, a park, a
# campus or a zone (地區, 園區, 校區, 特區...) is none.
_NOT_LOCAL_GOV = (
    "都市", "城市", "上市", "門市", "超市", "夜市", "股市", "街市", "互市",
    "地區", "園區", "社區", "校區", "專區", "特區", "市區", "郊區", "山區", "災區", "景區", "轄區",
    "廠區", "營區", "院區", "展區", "分區", "片區", "灣區", "經濟區", "開發區", "試驗區", "示範區",
    "自貿區", "保護區", "歐元區", "申根區", "東區", "西區", "南區", "北區", "中區", "學區", "戰區",
)
# A town hall as host: a county, city, township or district government or council
# (基隆市政府, 市議會, 區公所, 縣府).
_TOWN_HALL = re.compile(
    r"[\u4e00-\u9fff]{0,4}?(?:(?:縣|県|市|鄉|鎮|區)(?:政府|公所|議會|役所|議会)|市府|縣府)"
)
# Delegations of companies (the [neg.promo] words for them): what they sign are deals.
_BUSINESS_DELEGATIONS = frozenset({
    "business delegation", "trade mission", "trade delegation", "délégation d'affaires",
    "délégation économique", "wirtschaftsdelegation", "企業代表團", "經貿代表團", "商務代表團",
    "經貿團", "企業團", "企業訪問團", "商務團", "商務訪問團", "經貿訪問團", "産業訪問団",
    "経済訪問団", "경제사절단", "ビジネスミッション", "経済ミッション", "業界代表團", "業界代表团",
})
# Between a topic and the mechanism it qualifies: cooperation and exchange words only
# ("觀光交流合作備忘錄", "tourism cooperation agreement", "관광 교류 협약").
_TOPIC_GAP = re.compile(
    r"(?:[\s-]*(?:交流|合作|友好|協力|協作|連携|교류|협력|cooperation|exchange|partnership"
    r"|coopération|d'échange|kooperations?))+[\s-]*",
    re.IGNORECASE,
)
# A quoted phrase (「科技改變生活」, a forum's theme or an event's name) is no party.
_QUOTED_CJK = re.compile(r"「[^」]{0,40}」|『[^』]{0,40}』|“[^”]{0,40}”")
# A research body or a science mechanism among the parties: then the pact or visit may be S&T
# cooperation (a city's S&T exchange MoU, a prefecture's agreement on biotechnology, university
# research agreements signed on the delegation's trip).
_SCIENCE_PARTY = re.compile(
    r"科技|科學|科学|研究|學術|学術|大學|大学|技術|技术|과학|연구|대학|기술|"
    r"scien|research|universit|technolog|forsch|wissenschaft|hochschul|recherche|institut",
    re.IGNORECASE,
)


def _local_governments(title: str) -> list[re.Match[str]]:
    """The local-government names of a Chinese or Japanese title (``_LOCAL_GOV``)."""
    return [
        m
        for m in _LOCAL_GOV.finditer(title)
        if not any(m.group().split("政府")[0].endswith(w) for w in _NOT_LOCAL_GOV)
    ]


def _town_diplomacy(
    title: str,
    text: str,
    starts: list[int],
    body_start: int,
    foreign: list[Mention],
    lead_foreign: list[Mention],
    visit_title: bool = False,
) -> str:
    """Why the title's parties are towns or friendship associations, not S&T bodies ("" when
    they are not): a twinning or friendship-city word (in the title, or in the lead's first
    sentence under a friendship headline), two local governments, or a local government of
    the home side heading a title that names a foreign side; in each case no research body
    or science word in the title and the first two sentences of the body (quoted themes and
    event names aside). A foreign town heading the title is town diplomacy too when the
    lead's first sentence names a town hall of the home side as its host (branch classzh2:
    "日本吳市代表團訪基隆", received at 基隆市政府), and so is any foreign visit a title reports
    when that sentence names such a host ("澳洲昆士蘭代表到訪宜蘭市", at 宜蘭市公所). Or a
    friendship association as a party, with no science word in the title (a university it
    visits or names in passing is no party of a goodwill call)."""
    friendship = _FRIENDSHIP_BODY.search(title)
    if friendship and not _SCIENCE_PARTY.search(title):
        return friendship.group()
    first = bisect_right(starts, body_start) - 1
    pact = _TOWN_PACT.search(title)
    if not pact and _FRIENDSHIP.search(title):
        # "高雄與熊本友好交流五周年": a friendship headline, and the lead names the towns' pact.
        pact = _TOWN_PACT.search(text, body_start, _sentence_end(starts, first, text))
    towns = _local_governments(title)
    # The home side's own town heads the title ("花蓮縣府參訪團訪問帛琉"); a foreign one
    # ("日本香川縣教育長訪臺") is a visitor, whose hosts may be national bodies.
    actor = (
        bool(towns)
        and towns[0].start() == 0
        and bool(foreign)
        and not any(m.start < towns[0].end() for m in foreign)
    )
    hall = None
    foreign_town = bool(towns) and towns[0].start() == 0 and not actor
    if (foreign_town or (visit_title and foreign)) and not pact and len(towns) < 2:
        # A foreign town's delegation ("日本吳市代表團訪基隆"), received by a town hall of the
        # home side: a national host ("日本香川縣教育長訪臺", invited by the ministry) is none.
        first_end = _sentence_end(starts, first, text) if first >= 0 else len(title)
        hall = next(
            (
                m
                for m in _TOWN_HALL.finditer(text, 0, first_end)
                if m.start() >= (towns[0].end() if foreign_town else 0)
                and not any(x.start < m.end() and m.start() < x.end for x in foreign + lead_foreign)
            ),
            None,
        )
    if not (pact or len(towns) >= 2 or actor or hall):
        return ""
    end = _sentence_end(starts, first + 1, text) if first + 1 < len(starts) else len(text)
    quoted = [m.span() for m in _QUOTED_CJK.finditer(text, 0, end)]
    if any(
        not any(a <= m.start() < b for a, b in quoted)
        for m in _SCIENCE_PARTY.finditer(text, 0, end)
    ):
        return ""
    if pact:
        return pact.group()
    if hall:
        return f"{towns[0].group()}, {hall.group()}" if foreign_town else hall.group()
    return ", ".join(m.group() for m in towns)


# Industry-academia cooperation (產學合作, 산학협력, 産学連携) joins a university and a company;
# a headline that names it and no foreign side reports a domestic pair (a foreign name in the
# lead is the company's background: "accredited by the US State Department").
_INDUSTRY_ACADEMIA = re.compile(
    r"產學合作|产学合作|產學研合作|産学連携|産学協力|산학협력|산학 협력|"
    r"\bindustry[- ]academia\b|\buniversity[- ]industry\b|\bindustry[- ]university\b",
    re.IGNORECASE,
)


def _industry_academia(title: str) -> str:
    """The industry-academia cooperation word of ``title`` ("" when none)."""
    found = _INDUSTRY_ACADEMIA.search(title)
    return found.group() if found else ""


# "印度社科委員會秘書長:可與台灣加強科技及產業合作", "副總統受訪:...": a CJK headline that is a
# speaker (a dozen characters at most) and a colon, then the quote.
_SPEAKER_COLON = re.compile(r"(?:^|\s)([^\s:：]{2,14})[:：](?=\S)")


def _speaker_quote(title: str) -> str:
    """The speaker of a "speaker: quote" headline ("" when the title has no such form)."""
    found = _SPEAKER_COLON.search(title)
    return found.group(1) if found else ""

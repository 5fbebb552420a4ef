"""Country and organisation names in English, Traditional Chinese, Korean, Japanese, French
and German.

Names come from pycountry (English names, official names, common names), from pycountry's
gettext catalogues (zh_TW, ko) and from CLDR through babel (ja, fr, de, zh_Hant, ko);
``data/country_aliases.toml`` adds adjectives, short forms and abbreviations,
``data/entities.toml`` organisations, sub-national units, agencies, ambiguous names and
blockers. Everything is compiled once, on first use: the Latin names into an Aho-Corasick
automaton, the CJK names into the engine's shared CJK scan, and, per language, a regex
for abbreviation compounds such as 台法, 臺美日, 한미, 한·영, 한-EU, 日米, 日・カナダ.
French and German bilateral adjectives ("franco-tunisien", "deutsch-französischen") are names
that carry both codes.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, NamedTuple

from . import tables
from .text import automaton, dispatch_regex, leftmost_longest, normalize, trie_regex

# Alias kinds.
COUNTRY = "country"
ORG = "org"
HOME = "home"  # "我國", "우리나라": the publishing agency's own country
REGION = "region"  # "Latin America", 中東歐: international, but no partner code
BLOCK = "block"  # swallows a name that is not a partner ("Indian Ocean", "US$")
WEAK = "weak"  # ambiguous name resolved by context ("Georgia")

BILAT = "bilat"  # "franco-tunisien": a compound adjective naming the home side and a partner

HOME_CODE = "@HOME"
REGION_PREFIX = "@"  # region mentions carry codes such as "@Latin America"


@dataclass(frozen=True, slots=True)
class Alias:
    code: str
    kind: str


class Mention(NamedTuple):
    """One name found in a text; ``code`` is an ISO alpha-2 code or an organisation code."""

    start: int
    end: int
    code: str
    text: str
    abbr: bool = False  # an abbreviation inside a compound (the 法 of 台法)


class Compound(NamedTuple):
    """A run of abbreviations or names led by the home abbreviation ("臺美日", "한·영")."""

    start: int
    end: int
    codes: tuple[str, ...]


def _load_toml(name: str) -> dict:
    with resources.files(__package__).joinpath("data", name).open("rb") as fh:
        return tomllib.load(fh)


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_SMALL_WORDS = frozenset({"of", "and", "the", "for", "on", "in", "de", "da", "du", "des", "la"})
_PAREN = re.compile(r"\s*[(（][^)）]*[)）]\s*")


def _english_forms(name: str) -> list[str]:
    """Derived English forms of a pycountry name: un-inverted, without parentheses, etc."""
    forms = []
    inner = re.findall(r"\(([^)]*)\)", name)
    base = _PAREN.sub(" ", name).strip()
    forms.append(base)
    forms.extend(i for i in inner if "part" not in i and len(i) > 3)
    if ", " in base:
        head, tail = base.split(", ", 1)
        forms.append(head)
        if tail.endswith((" of", " of the")) or tail in ("British", "U.S."):
            forms.append(f"{tail} {head}")
    out = []
    for form in forms:
        form = form.removeprefix("The ").removeprefix("the ")
        out.append(form)
        if form.startswith("Saint "):
            out += ["St. " + form[6:], "St " + form[6:]]
        plain = _strip_accents(form)
        if plain != form:
            out.append(plain)
    return out


# CLDR names that are also common words or first names in running text.
_CLDR_SKIP = frozenset(
    {"Maurice", "Man", "Jersey", "Guernesey", "Guernsey", "Georgia", "Tschad", "Chad"}
)
_DE_ENDINGS = ("", "e", "en", "er", "es", "em")
# Compound prefixes of French and German bilateral adjectives: "franco-", "deutsch-".
_BILAT_PREFIXES = {"FR": ("franco-",), "DE": ("deutsch-", "Deutsch-")}
# French combining forms of the other publishers' homes name a pair as well ("alliance
# maroco-indienne", "coopération algéro-tunisienne", "programme canado-français"); they join
# French adjectives only.
_FR_PREFIXES = {
    "DE": ("germano-",), "MA": ("maroco-",), "DZ": ("algéro-", "algero-"), "TN": ("tuniso-",),
    "SN": ("sénégalo-",), "CI": ("ivoiro-",), "CA": ("canado-",), "BE": ("belgo-",),
    "CH": ("helvéto-", "helvético-"), "JP": ("nippo-",), "CN": ("sino-",), "IT": ("italo-",),
    "ES": ("hispano-",), "RU": ("russo-",), "IN": ("indo-",), "GB": ("anglo-", "britannico-"),
    "US": ("américano-", "americano-"), "VN": ("vietnamo-",), "LB": ("libano-",),
}  # fmt: skip
# German adjectives of a partner in first place, the home side second ("Gemeinsamer
# Japanisch-Deutscher Ausschuss", "Chinesisch-Deutsche Konferenz"): the second adjective is
# one of the German-speaking homes.
_DE_SECOND = {"DE": "deutsch", "AT": "österreichisch", "CH": "schweizerisch"}


def _de_forms(adjective: str) -> list[str]:
    """Declined forms of a German adjective, lower case and capitalised."""
    forms = [adjective + ending for ending in _DE_ENDINGS]
    return forms + [f[:1].upper() + f[1:] for f in forms]


def _cjk_forms(name: str, korean: bool) -> list[str]:
    name = _PAREN.sub(" ", name).strip()
    if "," in name or "、" in name:
        name = re.split(r"[,、]", name)[0].strip()
    forms = [name.replace(" ", "")] if not korean else [name, name.replace(" ", "")]
    return [f for f in forms if len(f) >= 2]


class Gazetteer:
    """All aliases, compiled for scanning; build once with :func:`gazetteer`."""

    _STATE = (
        "aliases", "abbrs", "ja_abbrs", "bilat", "weak", "zh_home_not_after",
        "zh_abbr_not_before", "ko_followers", "ja_home_not_after", "ja_abbr_not_before",
    )

    @classmethod
    def cached(cls) -> Gazetteer:
        """The gazetteer from the table cache when it is there, else built (and cached)."""
        state = tables.get("gazetteer")
        gaz = cls.__new__(cls)
        if state is None:
            gaz.__init__()
            state = {k: getattr(gaz, k) for k in cls._STATE}
            state.update(aliases=_shared(gaz.aliases), bilat=_shared(gaz.bilat))
            tables.put("gazetteer", state)
        else:
            for k, v in state.items():
                setattr(gaz, k, v)
            gaz._compile()
        return gaz

    def __init__(self) -> None:
        self.aliases: dict[str, Alias] = {}
        self.abbrs: dict[str, str] = {}  # compound-only abbreviations -> code
        # Japanese abbreviations live apart: 中 is China in 日中 but part of 臺中 in Chinese.
        self.ja_abbrs: dict[str, str] = {}
        self.bilat: dict[str, tuple[str, str]] = {}  # "franco-tunisien" -> ("FR", "TN")
        self.weak: dict[str, dict[str, list[str]]] = {}  # weak alias -> {code: confirmers}
        self._build()
        self._compile()

    # -- building -----------------------------------------------------------------------
    def _add(self, alias: str, code: str, kind: str, lower_ok: bool = False) -> None:
        alias = normalize(alias).removeprefix("the ")
        # Latin names are proper nouns: a lower-case alias could only match ordinary words
        # (French and German adjectives are the declared exception).
        if not alias or (alias[0].islower() and not lower_ok):
            return
        self.aliases.setdefault(alias, Alias(code, kind))
        if alias.isascii() and " " in alias:  # "Pacific Island countries" in a Title Case title
            title = " ".join(
                w if w in _SMALL_WORDS else w[:1].upper() + w[1:] for w in alias.split(" ")
            )
            self.aliases.setdefault(title, Alias(code, kind))

    def _build(self) -> None:
        import gettext  # only when the tables are built, not when they come from the cache

        import pycountry

        entities = _load_toml("entities.toml")
        extras = _load_toml("country_aliases.toml")["countries"]

        # Ambiguous names and blockers first, so that no ordinary entry can claim them.
        for spec in entities["weak"].values():
            for alias in spec["aliases"]:
                self.weak[normalize(alias)] = spec["confirm"]
                self._add(alias, "", WEAK)
        for names in entities["blockers"].values():
            for alias in names:
                # Lower case allowed: a blocker only swallows ("guinea pig", "langue française").
                self._add(alias, "", BLOCK, lower_ok=True)

        # Exact pycountry names outrank forms derived from them ("Congo" is CG, not CD).
        countries = list(pycountry.countries)
        fields = ("name", "official_name", "common_name")
        for country in countries:
            for field in fields:
                value = getattr(country, field, None)
                if value:  # verbatim, inverted forms included ("Korea, Republic of")
                    self._add(value, country.alpha_2, COUNTRY)
        for code, spec in extras.items():
            names = spec.get("en", []) + spec.get("zh", []) + spec.get("ko", [])
            for alias in names + spec.get("ja", []):
                self._add(alias, code, COUNTRY)
            for abbr in spec.get("zh_abbr", []) + spec.get("ko_abbr", []):
                self.abbrs.setdefault(normalize(abbr), code)
            for abbr in spec.get("ja_abbr", []):
                self.ja_abbrs.setdefault(normalize(abbr), code)
            adjectives = spec.get("fr_adj", []) + [
                form for adj in spec.get("de_adj", []) for form in _de_forms(adj)
            ]
            for adj in adjectives:
                self._add(adj, code, COUNTRY, lower_ok=True)
                for prefix_code, prefixes in _BILAT_PREFIXES.items():
                    for prefix in prefixes:
                        if prefix_code != code:
                            self._add_bilat(prefix + adj, prefix_code, code)
            # "fr_compound": adjectives that name a partner only after another side's
            # combining form ("programme algéro-français"); alone, "français" on a French
            # site is the home side and elsewhere also the language.
            for adj in spec.get("fr_adj", []) + spec.get("fr_compound", []):
                for prefix_code, prefixes in _FR_PREFIXES.items():
                    for prefix in prefixes:
                        if prefix_code != code:
                            self._add_bilat(prefix + adj, prefix_code, code)
        for code, spec in extras.items():
            for adj in spec.get("de_adj", []):
                # Capitalised only: the proper names and headings that name a pair ("Gemeinsamer
                # Japanisch-Deutscher Ausschuss"); a Chinese university's running text speaks
                # of its own "chinesisch-deutsche" institutes.
                for prefix in (adj[:1].upper() + adj[1:] + "-",):
                    for second, second_adj in _DE_SECOND.items():
                        if second != code:
                            for form in _de_forms(second_adj):
                                self._add_bilat(prefix + form, code, second)

        # Derived forms: English variants, the gettext translations and CLDR names. A derived
        # form claimed by two countries ("Korea" from both Koreas) is dropped as ambiguous.
        derived: dict[str, set[str]] = {}
        known = {country.alpha_2 for country in countries}
        for locale, names in _cldr_names().items():
            for code, name in names.items():
                if code in known and name not in _CLDR_SKIP:
                    if locale in ("fr", "de"):
                        forms = [name, _strip_accents(name)]
                    else:
                        forms = _cjk_forms(name, locale == "ko")
                    for form in forms:
                        derived.setdefault(normalize(form), set()).add(code)
        zh = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["zh_TW"])
        ko = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["ko"])
        for country in countries:
            for field in fields:
                value = getattr(country, field, None)
                if not value:
                    continue
                forms = _english_forms(value)
                for catalogue, korean in ((zh, False), (ko, True)):
                    translated = catalogue.gettext(value)
                    if translated != value:
                        forms += _cjk_forms(translated, korean)
                for form in forms:
                    derived.setdefault(normalize(form), set()).add(country.alpha_2)
        for form, codes in derived.items():
            if len(codes) == 1 and len(form) >= 2:
                (code,) = codes
                self._add(form, code, COUNTRY)

        for code, spec in entities["organisations"].items():
            for lang in ("en", "zh", "ko", "ja", "fr", "de"):
                for alias in spec.get(lang, []):
                    self._add(alias, code, ORG)
            for abbr in spec.get("zh_abbr", []) + spec.get("ko_abbr", []):
                self.abbrs.setdefault(normalize(abbr), code)
        for code, spec in entities["subnational"].items():
            for lang in ("en", "zh", "ko", "ja"):
                for alias in spec.get(lang, []):
                    self._add(alias, code, COUNTRY)
        for table in ("institutions", "cities"):
            for code, names in entities.get(table, {}).items():
                for alias in names:
                    self._add(alias, code, COUNTRY)
        for words in entities["home_words"].values():
            for alias in words:
                self._add(alias, HOME_CODE, HOME)
        for region, names in entities["regions"].items():
            for alias in names:
                self._add(alias, REGION_PREFIX + region, REGION)

        compounds = entities["compounds"]
        self.zh_home_not_after = frozenset(compounds["zh_home_not_after"])
        self.zh_abbr_not_before = {
            k: frozenset(v) for k, v in compounds["zh_abbr_not_before"].items()
        }
        self.ko_followers = tuple(compounds["ko_compound_followers"])
        self.ja_home_not_after = frozenset(compounds["ja_home_not_after"])
        self.ja_abbr_not_before = {
            k: frozenset(v) for k, v in compounds["ja_abbr_not_before"].items()
        }

    def _add_bilat(self, alias: str, prefix_code: str, code: str) -> None:
        alias = normalize(alias)
        if alias and alias not in self.aliases:
            self.aliases[alias] = Alias(code, BILAT)
            self.bilat[alias] = (prefix_code, code)

    def _compile(self) -> None:
        latin = [a for a in self.aliases if a[0].isascii()]
        # Latin names are whole words, case-sensitive; combining forms ("Sino-") end in "-".
        # One Aho-Corasick pass finds them (``leftmost_longest``: the spans a trie regex of
        # the names would match, about three times faster); the left word boundary is
        # checked in ``find``.
        self.latin_names = tables.built(automaton, latin)
        self.cjk_words = frozenset(a for a in self.aliases if not a[0].isascii())
        # Compound items: abbreviations plus the CJK names (and Latin acronyms such as "EU"
        # that Korean writes in compounds like 한-EU).
        names = {a for a in self.cjk_words if self.aliases[a].kind not in (BLOCK, BILAT)}
        self.compound_items: dict[str, str] = {}
        self.compound_item: dict[str, re.Pattern[str]] = {}
        for lang, abbrs in (("zh", self.abbrs), ("ja", self.ja_abbrs)):
            items = sorted(set(abbrs) | names)
            self.compound_items[lang] = "(?:" + tables.pattern(dispatch_regex, items) + ")"
            self.compound_item[lang] = tables.compile(self.compound_items[lang])
        self._compound_regexes: dict[tuple[str, str], re.Pattern[str] | None] = {}
        # The characters the home's abbreviations start with, by the same key (see ``find``).
        self._compound_firsts: dict[tuple[str, str], tuple[str, ...]] = {}

    def abbreviations(self, lang: str) -> dict[str, str]:
        return self.ja_abbrs if lang == "ja" else self.abbrs

    def compound_regex(self, home: str, lang: str = "zh") -> re.Pattern[str] | None:
        """Compounds that open with the home country's abbreviation (台法, 한-EU, 韓美, 日米).
        ``lang`` is "ja" for Japanese text (its own abbreviations), else "zh" (Chinese and
        Korean share one table)."""
        lang = "ja" if lang == "ja" else "zh"
        key = (home, lang)
        if key not in self._compound_regexes:
            abbrs = self.abbreviations(lang)
            heads = sorted(a for a, code in abbrs.items() if code == home and not a.isascii())
            self._compound_firsts[key] = tuple(sorted({head[0] for head in heads}))
            sep = r"(?: ?[-/·ㆍ・‧] ?)?"
            items = self.compound_items[lang]
            self._compound_regexes[key] = (
                tables.compile(f"{tables.pattern(trie_regex, heads)}(?:{sep}{items})+")
                if heads
                else None
            )
        return self._compound_regexes[key]

    # -- lookup -------------------------------------------------------------------------
    def code_of(self, alias: str) -> str | None:
        """The code an alias stands for (``None`` for unknown or blocked names)."""
        name = normalize(alias).removeprefix("the ")
        found = self.aliases.get(name)
        if found is None or found.kind in (BLOCK, HOME):
            return self.abbrs.get(name) or self.ja_abbrs.get(name)
        if found.kind == WEAK:  # out of context, the first reading (the country)
            return next(iter(self.weak[name]))
        return found.code

    def find(
        self, text: str, cjk_hits: list[tuple[int, int, str]], home: str, lang: str = "zh"
    ) -> tuple[list[Mention], list[Compound], list[tuple[int, int]]]:
        """Mentions of countries/organisations in ``text`` (normalised), the compounds led by
        ``home``'s abbreviation, and the spans of every matched name (blockers included).
        ``cjk_hits`` are the CJK words already found in ``text`` by the engine's shared scan
        (the names among them are kept here); ``lang`` ("ja" or other) picks the
        abbreviation table for compounds."""
        aliases = self.aliases
        hits: list[tuple[int, int, str]] = []
        for start, end in leftmost_longest(self.latin_names, text, name_end=True):
            if start and text[start - 1] in _ALNUM:
                continue
            hits.append((start, end, text[start:end]))
        if cjk_hits:
            hits.extend(h for h in cjk_hits if h[2] in aliases)
            hits.sort()
        mentions: list[Mention] = []
        spans: list[tuple[int, int]] = []
        weak_hits = []
        compounds: list[Compound] = []
        # ``tuple.__new__``: the same named tuple without the Python-level ``Mention.__new__``.
        new, mention = tuple.__new__, Mention
        for start, end, word in hits:
            alias = aliases[word]
            spans.append((start, end))
            kind = alias.kind
            if kind == BLOCK:
                continue
            if kind == BILAT:
                prefix_code, code = self.bilat[word]
                # The mention is the pair's foreign side: "Vietnamesisch-Deutschen" on a
                # German site names Vietnam, "franco-tunisien" on a Tunisian one France.
                if code == home:
                    code = prefix_code
                mentions.append(new(mention, (start, end, code, word, False)))
                compounds.append(Compound(start, end, (prefix_code, code)))
                continue
            if kind == WEAK:
                weak_hits.append((start, end, word))
                continue
            code = home if kind == HOME else alias.code
            mentions.append(new(mention, (start, end, code, word, False)))
        for start, end, word in weak_hits:
            code = self._resolve_weak(word, text, home)
            if code:
                mentions.append(Mention(start, end, code, word))
        regex = None if text.isascii() else self.compound_regex(home, lang)
        # A compound opens with one of the home's abbreviations: a text without any of their
        # first characters (a Latin text with an accent or a currency sign) is not scanned.
        if regex is not None and any(
            ch in text for ch in self._compound_firsts[(home, "ja" if lang == "ja" else "zh")]
        ):
            compounds += self._compounds(regex, text, spans, mentions, lang)
        if weak_hits or compounds:
            mentions.sort()
        return mentions, compounds, spans

    def _resolve_weak(self, name: str, text: str, home: str = "") -> str | None:
        """The reading of an ambiguous name that the text confirms; failing that, the home's
        own when it is one of the readings (South Africa's NRF on a South African site)."""
        readings = self.weak[name]
        for code, confirmers in readings.items():
            if any(c in text for c in confirmers):
                return code
        return home if home in readings else None

    def _compounds(
        self,
        regex: re.Pattern[str],
        text: str,
        spans: list[tuple[int, int]],
        mentions: list[Mention],
        lang: str = "zh",
    ) -> list[Compound]:
        found: list[Compound] = []
        ja = lang == "ja"
        abbrs = self.abbreviations(lang)
        compound_item = self.compound_item["ja" if ja else "zh"]
        for m in regex.finditer(text):
            members: list[tuple[int, int, str, bool]] = []
            chain_start, chain_end = m.span()
            has_sep = False
            for item in compound_item.finditer(text, chain_start, chain_end):
                s, e = item.span()
                if members and s > members[-1][1]:
                    has_sep = True
                word = item.group()
                alias = self.aliases.get(word)
                if alias is not None and alias.kind not in (BLOCK, WEAK, BILAT):
                    members.append((s, e, alias.code, False))
                elif word in abbrs and self._abbr_ok(text, s, e, word, ja):
                    members.append((s, e, abbrs[word], True))
            if (
                len(members) < 2
                or members[0][0] != chain_start  # the home abbreviation itself was rejected
                or _overlaps_blocker(spans, chain_start, chain_end, members)
            ):
                continue
            first_start, first_end, _, first_abbr = members[0]
            if ja:
                # 日 after a number or a calendar word is "day" (16日米国で...), not Japan.
                if first_start and text[first_start - 1] in self.ja_home_not_after:
                    continue
            elif (
                first_abbr
                and not has_sep
                and text[first_start:first_end] not in "台臺"
                and first_start
                and _is_han(text[first_start - 1])
            ):
                # 國立臺灣 is "national Taiwan", not Lithuania-Taiwan: a compound that opens
                # with a foreign one-character abbreviation must not continue a Chinese word.
                continue
            if (
                not has_sep
                and _is_hangul(text[chain_start])
                and not self._ko_follow_ok(text, chain_end)
            ):
                continue
            if _is_hangul(text[chain_start]) and chain_start and _is_hangul(text[chain_start - 1]):
                continue
            for s, e, code, abbr in members:
                if abbr:
                    mentions.append(Mention(s, e, code, text[s:e], abbr=True))
            found.append(Compound(members[0][0], members[-1][1], tuple(x[2] for x in members)))
        return found

    def _abbr_ok(self, text: str, start: int, end: int, word: str, ja: bool = False) -> bool:
        if len(word) != 1:
            return True
        nxt = text[end] if end < len(text) else ""
        if ja:
            return not (nxt and nxt in self.ja_abbr_not_before.get(word, ()))
        if nxt and nxt in self.zh_abbr_not_before.get(word, ()):
            return False
        if word in "台臺" and start and text[start - 1] in self.zh_home_not_after:
            return False
        return not (word == "한" and start and _is_hangul(text[start - 1]))

    def _ko_follow_ok(self, text: str, end: int) -> bool:
        if end >= len(text) or not _is_hangul(text[end]):
            return True
        return text.startswith(self.ko_followers, end)


def _shared(table: dict[str, Any]) -> dict[str, Any]:
    """``table`` with equal values made one object (10,000 aliases hold a few hundred
    distinct ``Alias`` values): pickle then stores and rebuilds each value once, which takes
    the table cache's load from about 90 ms to a few."""
    one: dict[Any, Any] = {}
    return {key: one.setdefault(value, value) for key, value in table.items()}


# ``str.isascii() and str.isalnum()`` of one character, as a set.
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def _is_hangul(ch: str) -> bool:
    return "\uac00" <= ch <= "\ud7a3"


def _overlaps_blocker(
    spans: list[tuple[int, int]], start: int, end: int, members: list[tuple[int, int, str, bool]]
) -> bool:
    # A compound whose abbreviations sit inside a matched word (平台加速 "platform") is noise.
    for s, e in spans:
        if s >= end:
            break
        if e > start and any(ms < e and me > s and abbr for ms, me, _, abbr in members):
            return True
    return False


def _cldr_names() -> dict[str, dict[str, str]]:
    """Territory names from CLDR (babel), by locale: code -> name."""
    from babel import Locale

    return {
        locale: dict(Locale.parse(locale).territories)
        for locale in ("ja", "fr", "de", "zh_Hant", "ko")
    }


@cache
def gazetteer() -> Gazetteer:
    """The shared, lazily built gazetteer (from the table cache when possible)."""
    return Gazetteer.cached()

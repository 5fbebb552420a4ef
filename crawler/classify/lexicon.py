"""Cooperation, type, negative-cue and topic vocabulary (``data/lexicon.toml``).

English terms are compiled into a trie-shaped regex over lower-cased text; Chinese and
Korean terms are matched by the engine's shared CJK scan (together with the names).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import NamedTuple

from . import tables
from .text import normalize, trie_regex

IGNORE = "ignore"
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


class Term(NamedTuple):
    start: int
    end: int
    text: str
    categories: tuple[str, ...]


class Lexicon:
    """Every term of every category in one trie-shaped regex over lower-cased text."""

    def __init__(self) -> None:
        data = tables.get("lexicon.toml")
        if data is None:
            with resources.files(__package__).joinpath("data", "lexicon.toml").open("rb") as fh:
                data = tomllib.load(fh)
            tables.put("lexicon.toml", data)
        self.exact: dict[str, tuple[str, ...]] = {}
        self.stems: dict[str, tuple[str, ...]] = {}  # "cooperat*" -> its categories
        for category, terms in _flatten(data):
            for raw in terms:
                term = normalize(raw.lower())
                table = self.stems if term.endswith("*") else self.exact
                key = term.rstrip("*")
                if category not in table.get(key, ()):
                    table[key] = (*table.get(key, ()), category)
                if table is self.exact and not key[0].isascii() and key[0] != key[0].upper():
                    # A Latin term with an accented initial ("überblick", "état des lieux")
                    # is matched by the CJK scan, which reads the text as written: a
                    # capitalised noun or a sentence's first word needs its capitalised form.
                    cap = key[0].upper() + key[1:]
                    if category not in table.get(cap, ()):
                        table[cap] = (*table.get(cap, ()), category)
        words = list(self.exact) + [stem + "*" for stem in self.stems]
        latin = [w for w in words if w[0].isascii()]
        cjk = [w for w in words if not w[0].isascii()]
        self.categories_defined = tuple(c for c, _ in _flatten(data))
        # English terms need a non-alphanumeric character in front; matching it (rather than
        # looking behind) lets ``re`` skip whole words at C speed. ``find`` prefixes a space.
        latin_trie = tables.pattern(trie_regex, sorted(latin))
        self.latin_regex = tables.compile(r"[^a-z0-9](" + latin_trie + r")(?![a-z0-9])")
        # In Chinese or Korean text nearly every character is "non-alphanumeric", so there
        # the pattern opens with the term itself and the left boundary is checked in Python.
        self.sparse_regex = tables.compile("(" + latin_trie + r")(?![a-z0-9])")
        self.cjk_words = frozenset(cjk)  # scanned together with the CJK names, see engine
        self._memo: dict[str, tuple[str, ...]] = {}  # word -> categories, see ``categories``
        self._kept: dict[str, tuple[str, ...]] = {}  # the same, () when ignore-listed

    def categories(self, word: str) -> tuple[str, ...]:
        found = self._memo.get(word)
        if found is None:
            if len(self._memo) > 100_000:  # words a wildcard extends are many; keep it bounded
                self._memo.clear()
            found = self._memo[word] = self._categories(word)
        return found

    def _categories(self, word: str) -> tuple[str, ...]:
        found = self.exact.get(word)
        if found is not None:
            return found
        for cut in range(len(word), 0, -1):  # a wildcard stem that the word extends
            found = self.stems.get(word[:cut])
            if found is not None:
                return found
        return ()

    def find(
        self, lowered: str, cjk_hits: list[tuple[int, int, str]], cjk: bool = False
    ) -> list[Term]:
        """Terms in ``lowered`` (normalised, lower-cased text), ignore-listed phrases dropped;
        ``cjk_hits`` are the CJK matches already found in the same text, ``cjk`` says that
        the text is mostly Chinese or Korean."""
        out = []
        # ``tuple.__new__`` builds the named tuple without the Python-level ``Term.__new__``
        # (the same object, at a fraction of the cost: a release holds about a hundred terms).
        new, term = tuple.__new__, Term
        if cjk:
            for start, end, word, cats in self._scan(lowered, cjk_hits, cjk):
                out.append(new(term, (start, end, word, cats)))
        else:
            # ``_scan``'s Latin branch, inlined (no generator) and with the ignore list
            # applied once per distinct word (``_kept``): the same terms, in the same order.
            kept = self._kept
            for m in self.latin_regex.finditer(" " + lowered):
                word = m.group(1)
                cats = kept.get(word)
                if cats is None:
                    cats = self._keep(word)
                if cats:
                    start, end = m.span(1)
                    out.append(new(term, (start - 1, end - 1, word, cats)))
            if cjk_hits:
                exact = self.exact
                for start, end, word in cjk_hits:
                    cats = exact.get(word)
                    if cats and IGNORE not in cats:
                        out.append(new(term, (start, end, word, cats)))
        if cjk_hits:
            out.sort()
        return out

    def _keep(self, word: str) -> tuple[str, ...]:
        """The categories of ``word``, or ``()`` when it has none or is ignore-listed."""
        if len(self._kept) > 100_000:  # as ``_memo``
            self._kept.clear()
        cats = self.categories(word)
        found = self._kept[word] = cats if cats and IGNORE not in cats else ()
        return found

    def topics(
        self, lowered: str, cjk_hits: list[tuple[int, int, str]], cjk: bool = False
    ) -> set[str]:
        """The topic categories of the terms :meth:`find` returns (without building them)."""
        found: set[str] = set()
        if cjk:
            matched = {cats for _, _, _, cats in self._scan(lowered, cjk_hits, cjk)}
        else:
            # Positions are not needed: ``findall`` returns the matched words without building
            # a match object for each, and each distinct word is looked up once.
            words = set(self.latin_regex.findall(" " + lowered))
            words.update(word for _, _, word in cjk_hits if word in self.exact)
            matched = set(map(self.categories, words))
        for cats in matched:
            if not cats or IGNORE in cats:
                continue
            for category in cats:
                if category.startswith("topic."):
                    found.add(category)
        return found

    def _scan(
        self, lowered: str, cjk_hits: list[tuple[int, int, str]], cjk: bool
    ) -> Iterator[tuple[int, int, str, tuple[str, ...]]]:
        categories = self.categories
        if cjk:
            for m in self.sparse_regex.finditer(lowered):
                start = m.start()
                if start and lowered[start - 1] in _WORD_CHARS:
                    continue
                word = m.group(1)
                cats = categories(word)
                if cats and IGNORE not in cats:
                    yield start, m.end(), word, cats
        else:
            for m in self.latin_regex.finditer(" " + lowered):
                word = m.group(1)
                cats = categories(word)
                if cats and IGNORE not in cats:
                    start, end = m.span(1)
                    yield start - 1, end - 1, word, cats
        if cjk_hits:
            exact = self.exact
            for start, end, word in cjk_hits:
                cats = exact.get(word)
                if cats and IGNORE not in cats:
                    yield start, end, word, cats


def _flatten(data: dict, prefix: str = "") -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            if "terms" in value:
                out.append((name, value["terms"]))
            else:
                out.extend(_flatten(value, name + "."))
    return out


@cache
def lexicon() -> Lexicon:
    """The shared, lazily built lexicon."""
    return Lexicon()

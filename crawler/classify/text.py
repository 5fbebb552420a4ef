"""Text helpers for the classifier: normalisation, sentence spans, trie-shaped regexes and
Aho-Corasick scans that match what those regexes match."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import ahocorasick

# Replacements (one character for one, so offsets stay put): dashes become "-", curly quotes
# straight, exotic spaces plain, other line breaks "\n".
_CHAR_MAP = {
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\uff0d\ufe63\ufe58", "-"),
    **dict.fromkeys("\u2018\u2019\u02bc", "'"),
    **dict.fromkeys("\u00a0\u2002\u2003\u2009\u202f\u3000\t", " "),
    **dict.fromkeys("\r\f\v", "\n"),
}
# Every pattern here opens with a literal or a character class, so ``re`` jumps from one
# candidate position to the next at C speed (a leading look-behind would defeat that).
_ODD_CHARS = re.compile("[" + "".join(_CHAR_MAP) + "\u00ad\u200b]")
# The same characters, each looked for with ``in`` (a memchr-like scan, and none at all for a
# character beyond the text's widest): most non-ASCII releases hold none of them, and the
# class above cost ``re`` a set test per character (about a tenth of classifying one).
_ODD_LIST = (*_CHAR_MAP, "\u00ad", "\u200b")
# Line-break hyphenation from PDF-like sources ("Coopera-tion", "Tech-nology", "al-so"): an
# ASCII hyphen between lower-case letters is dropped. Real compounds lose their hyphen too
# ("net-zero" -> "netzero"), which is harmless because vocabulary goes through the same step.
_SOFT_HYPHEN = re.compile(r"-(?<=[a-z]-)(?: *\n *)?(?=[a-z])")
_SPACES = re.compile(r"  +")
_SPACE_NEWLINE = re.compile(r"  *\n")
_NEWLINES = re.compile(r"\n[ \n]+")

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def normalize(text: str) -> str:
    """Return ``text`` with unified dashes/quotes/spaces and line-break hyphens repaired."""
    if not text:
        return ""
    if not text.isascii() and any(ch in text for ch in _ODD_LIST):
        text = _ODD_CHARS.sub(lambda m: _CHAR_MAP.get(m.group(), ""), text)
    if "-" in text:
        text = _SOFT_HYPHEN.sub("", text)
    if "  " in text:
        text = _SPACES.sub(" ", text)
    if " \n" in text:
        text = _SPACE_NEWLINE.sub("\n", text)
    if "\n\n" in text or "\n " in text:
        text = _NEWLINES.sub("\n", text)
    return text.strip()


# ``str.lower`` of each character below U+0100, as a byte table: each lower-cases to one
# character below U+0100 (checked here), and none depends on its neighbours (only "Σ" does).
_LATIN1_LOWER = bytes(ord(chr(code).lower()) for code in range(256))


def lower_same_length(text: str) -> str:
    """Lower-case ``text`` keeping every offset (a few characters grow when lower-cased)."""
    if not text.isascii():
        try:
            raw = text.encode("latin-1")  # a copy for a one-byte string; fails fast otherwise
        except UnicodeEncodeError:
            pass
        else:
            # ``str.lower`` reads every non-ASCII character through the Unicode tables (about
            # a twentieth of classifying a Latin release with an accent or a pound sign); a
            # byte table gives the same for characters below U+0100.
            return raw.translate(_LATIN1_LOWER).decode("latin-1")
    low = text.lower()
    if len(low) == len(text):
        return low
    # Each character lower-cased on its own (so "Σ" is always "σ", never the final "ς" that
    # ``str.lower`` picks by context): one table for the distinct characters, applied by
    # ``str.translate`` in C (a join over every character took about 1 ms per 4 KB).
    return text.translate({ord(ch): ch.lower()[:1] or ch for ch in set(text)})


def is_cjk(text: str) -> bool:
    """Whether ``text`` is mainly Chinese, Japanese or Korean (a third of its start is)."""
    sample = text[:200]
    return len(_CJK.findall(sample)) * 3 > len(sample.strip() or "x")


# Sentence ends: ., ! or ? followed by space (not after an initial such as "U.S.", nor after
# a one- or two-digit ordinal: German dates read "am 12. September"), a CJK full stop, or a
# line break; a match ends where the next sentence starts.
_SENTENCE_END = re.compile(
    r"[.!?。！？\n](?:(?<=[.!?])(?<![A-Z]\.)(?<!\b\d\.)(?<!\b\d\d\.) +|(?<=[。！？\n]))"
)


# ``_SENTENCE_END`` by its terminators, each scan opening with a literal: ``re`` finds a literal
# with a tight loop but tests a leading character class at every character (about ten times
# the instructions). A match is one terminator and the blanks after it, so the matches of
# the parts are those of the whole, and their ends sorted are its ends.
_SENTENCE_END_BLANKS = (
    (".", re.compile(r"\.(?<![A-Z]\.)(?<!\b\d\.)(?<!\b\d\d\.) +")),
    ("!", re.compile(r"! +")),
    ("?", re.compile(r"\? +")),
)
_SENTENCE_END_CHARS = ("\n", "。", "！", "？")


def sentence_starts(text: str) -> list[int]:
    """The offsets at which the sentences of ``text`` start (the first is 0): the ends of the
    matches of ``_SENTENCE_END``."""
    ends: list[int] = []
    for mark, pattern in _SENTENCE_END_BLANKS:
        if mark in text:
            ends.extend(m.end() for m in pattern.finditer(text))
    for mark in _SENTENCE_END_CHARS:
        at = text.find(mark)
        while at >= 0:
            ends.append(at + 1)
            at = text.find(mark, at + 1)
    ends.sort()
    return [0, *ends]


_END = "\x00end"  # trie key marking the end of a word (not a character)
_WILD = "\x00wild"  # trie key: "any lower-case letters may follow"


def trie_regex(words: Iterable[str], wildcard: str = "[a-z]*") -> str:
    """Build one regex alternation, shaped like a trie, that matches any of ``words``.

    Python's ``re`` tries the branches of ``a|b|c`` one by one at every position; sharing
    prefixes keeps that to one branch per distinct next character. Optional tails are greedy,
    so the longest word wins at a given start ("Papua New Guinea" over "Guinea" needs the
    leftmost start as well, which the regex engine gives by scanning left to right). A word
    ending in ``*`` may be followed by ``wildcard``.
    """
    root: dict[str, dict] = {}
    for word in words:
        if not word:
            continue
        node = root
        wild = word.endswith("*")
        for ch in word[:-1] if wild else word:
            node = node.setdefault(ch, {})
        node[_WILD if wild else _END] = {}
    return _emit(root, wildcard) or "(?!)"


def _emit(node: dict[str, dict], wildcard: str) -> str:
    branches: list[str] = []
    leaves: list[str] = []
    for ch in sorted(k for k in node if k not in (_END, _WILD)):
        child = node[ch]
        if set(child) == {_END}:
            leaves.append(ch)
        else:
            branches.append(re.escape(ch) + _emit(child, wildcard))
    if leaves:
        if len(leaves) == 1:
            branches.append(re.escape(leaves[0]))
        else:
            branches.append("[" + "".join(_class_escape(c) for c in leaves) + "]")
    if _WILD in node:
        branches.append(wildcard)
    if not branches:
        return ""
    optional = _END in node or _WILD in node
    if len(branches) == 1 and not optional:
        return branches[0]
    return "(?:" + "|".join(branches) + ")" + ("?" if optional else "")


def _class_escape(ch: str) -> str:
    return "\\" + ch if ch in "\\]^-[" else ch


def dispatch_regex(words: Iterable[str], wildcard: str = "[a-z]*", fan: int = 4) -> str:
    """Like :func:`trie_regex`, but fast when thousands of words start with hundreds of
    different characters (Chinese and Korean names).

    ``re`` skips positions whose character cannot start a match only when the pattern opens
    with a character class, and it tries the branches of an alternation one after the other.
    So the pattern consumes the first character with a class and then dispatches on it
    through nested look-behind classes of ``fan`` branches each: about ``fan * log(n)``
    checks per candidate position instead of ``n``.
    """
    by_first: dict[str, list[str]] = {}
    for word in words:
        if word:
            by_first.setdefault(word[0], []).append(word[1:])
    if not by_first:
        return "(?!)"
    firsts = sorted(by_first)
    return _char_class(firsts) + _nested(firsts, by_first, wildcard, fan)


def _nested(firsts: list[str], by_first: dict[str, list[str]], wildcard: str, fan: int) -> str:
    parts = []
    if len(firsts) <= fan:
        for ch in firsts:
            rests = by_first[ch]
            tail = trie_regex([r for r in rests if r], wildcard) if any(rests) else ""
            if tail and "" in rests:
                tail = f"(?:{tail})?"
            parts.append(f"(?<={re.escape(ch)}){tail}")
    else:
        size = math.ceil(len(firsts) / fan)
        for i in range(0, len(firsts), size):
            group = firsts[i : i + size]
            parts.append(f"(?<={_char_class(group)})" + _nested(group, by_first, wildcard, fan))
    return "(?:" + "|".join(parts) + ")"


def _char_class(chars: list[str]) -> str:
    return "[" + "".join(_class_escape(c) for c in chars) + "]"


# -- Aho-Corasick scans ---------------------------------------------------------------------
# ``re`` tries a trie-shaped alternation at every candidate position, trying the branches of
# each node one after the other; for thousands of case-sensitive names (whose first letters
# cover most of the alphabet) that costs about 0.3 ms per 2.4 KB body. pyahocorasick (a C
# automaton) reports every occurrence in one pass; the functions below pick from them exactly
# what ``finditer`` over the trie regex would have matched, so results do not change.

_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


# pyahocorasick finds a node's child by a linear search over the children in the order they
# were added, so each character of the text costs a search at the current node (and at each
# node its failure links lead to). Adding the words in order of how common their characters
# are in running text puts frequent letters first at every node: the same automaton, with
# about a quarter less time per scanned character on English releases.
_TEXT_ORDER = "etaoinsrhldcumfpgwybvkxjqz TSACIMNEPBRHDFGLWOUKJVYQXZ.,-'0123456789"
_BY_FREQUENCY = {ord(ch): chr(1 + rank) for rank, ch in enumerate(_TEXT_ORDER)}


def automaton(words: Iterable[str]) -> ahocorasick.Automaton:
    """An Aho-Corasick automaton over ``words`` (no wildcards), each mapped to its length."""
    found = ahocorasick.Automaton()
    for word in sorted(words, key=lambda word: word.translate(_BY_FREQUENCY)):
        if word:
            found.add_word(word, len(word))
    if len(found):
        found.make_automaton()
    return found


def leftmost_longest(
    words: ahocorasick.Automaton, text: str, name_end: bool = False
) -> list[tuple[int, int]]:
    """The spans ``re.finditer(trie_regex(words) + tail, text)`` matches, where ``tail`` is
    nothing or, with ``name_end``, ``(?:(?<=-)|(?![A-Za-z0-9]))`` (a name ends with "-" or
    before a character that is not an ASCII letter or digit).

    ``finditer`` takes the leftmost start at or after the previous match's end that has a
    match, and there the longest one (the trie's optional tails are greedy and a text follows
    one path through the trie; with ``name_end`` it backtracks to the longest word that ends
    well). The automaton lists every occurrence; keeping the longest acceptable end per
    start and walking the starts in order gives the same spans.
    """
    if not len(words):
        return []
    best: dict[int, int] = {}
    if name_end:
        n = len(text)
        alnum = _ASCII_ALNUM
        for last, length in words.iter(text):
            end = last + 1
            if end == n or text[last] == "-" or text[end] not in alnum:
                start = end - length
                if best.get(start, -1) < end:
                    best[start] = end
    else:
        for last, length in words.iter(text):
            start = last + 1 - length
            if best.get(start, -1) <= last:
                best[start] = last + 1
    out = []
    pos = 0
    for start in sorted(best):
        if start >= pos:
            pos = best[start]
            out.append((start, pos))
    return out

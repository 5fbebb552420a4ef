"""Pages nested deeper than a parser keeps: flattened before any parser sees them.

libxml2 stops building the tree at 256 levels without its "huge" option (``lxml.html``, which
trafilatura's generic extraction uses) and at a few thousand with it (parsel's selectors): the
text below, and after, that depth is silently lost (issue 18, item 7: pages nested 1,000 to
2,000 levels lost all their text). Real pages nest a few dozen levels. So a page whose
elements nest deeper than ``MAX_DEPTH`` has its container tags below that depth removed
(``<div>``, ``<span>``, ``<blockquote>``... and their end tags): their text stays, in order,
in the container at the cap. Paragraphs, headings and line breaks (``p``, ``h1``-``h6``,
``br``), which cannot nest, are kept.

Hand-written, one linear pass over the tags with a regular expression: no HTML parser can be
used to repair what HTML parsers lose. Tags are told apart by name only; a "<" in a script
is rare on such pages and costs at most one misread tag.
"""

from __future__ import annotations

import re

#: Deepest element nesting a page keeps; deeper containers are flattened (and it is logged).
MAX_DEPTH = 200

# A tag: (end-tag slash, name, the rest up to ">"), self-closing when the rest ends in "/".
# (A greedy rest, not a lazy one with an optional "/" before ">": the same matches, four
# times faster on a 200 KB page, where this check ran for 5 ms of every response.)
_TAG = re.compile(rb"<(/?)([A-Za-z][A-Za-z0-9-]*)\b([^<>]*)>")
# Elements without an end tag: they open no level.
_VOID = frozenset(
    b"area base br col embed hr img input link meta param source track wbr".split()
)
# Kept whatever the depth: they carry the text's paragraphs and structure.
# (Lists and tables nest too: below the cap they are flattened like any container.)
_KEEP = frozenset(b"html head body title script style p br h1 h2 h3 h4 h5 h6".split())


# The pre-test's counts (``nests_deeper``), found by one pattern of two branches. A tag
# ``_TAG`` counts as an opening (one level deeper) always matches the second branch: "<" and
# a letter, unless the name is a void one ending right there. A first-branch match (group 1
# is "/") is always a tag ``_TAG`` counts as a closing (one level up): a whole end tag, not
# of a void name (``\b`` also excludes "</br-x>", which ``_TAG`` would count; excluding more
# keeps a lower bound) and not ending in "/>". The branches start differently ("</", "<" and
# a letter) and a match holds no "<" but its first, so one scan finds what two separate
# scans found (issue 19: 0.40 against 0.56 ms on a 210 KB page).
_VOID_NAME = rb"(?i:area|base|br|col|embed|hr|img|input|link|meta|param|source|track|wbr)"
_OPENING_OR_CLOSING = re.compile(
    rb"<(?:(/)(?!" + _VOID_NAME + rb"\b)[A-Za-z][A-Za-z0-9-]*\b[^<>]*(?<!/)>"
    rb"|(?!" + _VOID_NAME + rb"(?![A-Za-z0-9-]))[A-Za-z])"
)
#: Bytes per chunk of the pre-test; it is cut at a "<", so that no tag spans two chunks.
_CHUNK = 4096


def depth_bound(body: bytes, stop_at: int = MAX_DEPTH, chunk: int = _CHUNK) -> int:
    """An upper bound of ``max_depth(body)`` (exact or above it, never below), found about
    twice as fast: counted per chunk, not tag by tag (issue 19: on a 210 KB page the exact
    walk took 2 ms, this 1 ms, and gave 75 where the page nests 20 levels).

    The depth after a tag is the rise of opening minus closing tags since the walk was last
    at level 0. A rise that starts in chunk *a* and ends in chunk *b* is at most the openings
    of *a*, plus openings minus closings of each chunk between, plus the openings of *b*:
    with at least as many openings and at most as many closings counted as ``max_depth``
    counts, the largest such sum bounds the depth. Every tag lies in one chunk (a tag holds
    no "<" but its first), so the counts per chunk are exact for the tags in it.
    """
    best = carry = 0  # carry: the largest rise that can reach the end of the previous chunk
    start, size = 0, len(body)
    while start < size:
        end = body.find(b"<", start + chunk)
        end = size if end < 0 else end
        found = _OPENING_OR_CLOSING.findall(body, start, end)
        closed = found.count(b"/")
        opened = len(found) - closed
        best = max(best, carry + opened)
        if best > stop_at:
            break
        carry = max(carry + opened - closed, opened)
        start = end
    return best


def nests_deeper(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether the page's elements nest deeper than ``limit``: ``max_depth(body) > limit``,
    with the exact walk only for pages the cheap bound cannot clear (deep or hostile ones)."""
    return depth_bound(body, limit) > limit and max_depth(body, limit) > limit


def max_depth(body: bytes, stop_at: int = MAX_DEPTH) -> int:
    """How deep the page's elements nest, counting until ``stop_at`` is passed."""
    depth = deepest = 0
    for closing, name, rest in _TAG.findall(body):
        if rest.endswith(b"/") or name.lower() in _VOID:
            continue
        if closing:
            if depth:
                depth -= 1
        else:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop_at:
                    break
    return deepest


def flattened(body: bytes, limit: int = MAX_DEPTH) -> tuple[bytes, int]:
    """The page with container tags below ``limit`` levels removed, and how many went."""
    out: list[bytes] = []
    stack: list[tuple[bytes, bool]] = []  # (tag name, removed)
    position = removed = 0
    for match in _TAG.finditer(body):
        closing, name, rest = match.groups()
        name = name.lower()
        drop = False
        if name in _VOID or rest.endswith(b"/"):
            pass
        elif not closing:
            drop = len(stack) >= limit and name not in _KEEP
            stack.append((name, drop))
        else:
            # The innermost open element of that name closes (HTML lets end tags be missing).
            for index in range(len(stack) - 1, max(len(stack) - 64, -1), -1):
                if stack[index][0] == name:
                    drop = stack[index][1]
                    del stack[index:]
                    break
        if drop:
            out.append(body[position : match.start()])
            position = match.end()
            removed += 1
    out.append(body[position:])
    return b"".join(out), removed

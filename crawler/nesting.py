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

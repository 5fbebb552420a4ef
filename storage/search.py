"""Full-text search over release titles and bodies, in every language the sources publish in.

Chinese, Japanese and Korean are written without spaces between words (Korean with spaces
between phrases, particles attached), so no word tokenizer of SQLite or PostgreSQL finds
"협력" in "협력을" or "合作" in "科技合作會議". Text is therefore tokenized here, once, the same
way for both backends: each run of CJK characters becomes its overlapping bigrams (plus its
last character alone, so a one-character query still finds it), every other word is lower-
cased and stripped of diacritics. A query is tokenized the same way, each of its terms
becoming a phrase of consecutive tokens: "科技合作" finds exactly the releases containing it.

- SQLite: an FTS5 table ``release_search(title, body)`` (rowid = release id) holding the
  token text; ranked by bm25 with the title weighted higher.
- PostgreSQL: ``release_search(release_id, document tsvector)`` with a GIN index; the
  tsvector is built here with positions (so phrases work) and weights (A title, D body), and
  cast, never parsed by a text-search configuration: no locale or parser changes the tokens.

The index is kept in step by storage itself: ``index_releases`` for rows inserted by plain
statements (storage.releases), and a session hook for rows changed or deleted through the
ORM. Nothing here knows about Scrapy. The table is not in the ORM metadata: its shape
differs by backend (migration 0004 creates it).
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Float, Integer, column, event, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import Subquery

from storage.models import Release

log = logging.getLogger(__name__)

TABLE = "release_search"
#: FTS5's own tables for ``release_search``: not stnews's to compare with the models.
SHADOW_TABLES = frozenset(
    f"{TABLE}_{suffix}" for suffix in ("data", "idx", "content", "docsize", "config")
)
#: A stated cap (issue 18: no text step without a bound): tokens indexed per release. Beyond
#: it the body is not searchable. PostgreSQL keeps positions up to 16,383 only, so phrases
#: past that could not match anyway.
MAX_TOKENS = 16_000
MAX_TOKEN_CHARS = 100  # a longer "word" (a URL, a hash) is cut: no lexeme limit is reached
MAX_QUERY_TERMS = 12
_MAX_POSITION = 16383  # PostgreSQL's largest tsvector position

# Han (with extensions and compatibility ideographs), kana, Hangul syllables and jamo,
# CJK symbols' letters: scripts written without spaces between words.
_CJK = (
    "\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff\uf900-\ufaff\uff66-\uff9f"
    "\U00020000-\U0002fa1f\U00030000-\U0003134f"
)
_WORDS = re.compile(r"[^\W_]+")
_TOKENS = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<word>(?:(?![{_CJK}])[^\W_])+)")
_HAS_CJK = re.compile(rf"[{_CJK}]")
# (cjk token, "") or ("", word): at a CJK character, it and the next if that is CJK too.
_TOKEN_PER_MATCH = re.compile(rf"(?=([{_CJK}]{{1,2}}))[{_CJK}]|((?:(?![{_CJK}])[^\W_])+)")


@dataclass(frozen=True)
class Term:
    """One term of a query: its tokens, to be found consecutively; ``prefix`` when the last
    token may be the start of a longer one ("semicond" finds "semiconductor")."""

    tokens: tuple[str, ...]
    prefix: bool


def _fold(word: str) -> str:
    # "Région" and "region" are one word to a reader typing a query.
    if word.isascii():  # nothing to strip: most words of most releases
        return word[:MAX_TOKEN_CHARS]
    return _fold_accented(word)


# Cached: a French or German release repeats its accented words ("coopération", "für"), and
# stripping marks character by character in Python was most of their tokenizing (issue 19).
@functools.lru_cache(maxsize=65536)
def _fold_accented(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped)[:MAX_TOKEN_CHARS]


def _runs(text: str) -> Iterable[tuple[bool, str]]:
    """(is_cjk, run) in order; NFKC first, so full-width Latin and half-width kana match."""
    for match in _TOKENS.finditer(unicodedata.normalize("NFKC", text).casefold()):
        if match["cjk"]:
            yield True, match["cjk"]
        else:
            yield False, _fold(match["word"])


# Issue 19: a word is a run of letters and digits, so a text's words are also what is left
# when every other character is a space: ``str.translate`` for an ASCII text; for another,
# ``bytes.translate`` of its UTF-8 for the ASCII characters and ``str.replace`` for each of
# the few non-ASCII ones, then ``split``, all in C. One regex match a word cost 0.15 ms of
# CPU for a 4.5 KB body, and a Python test of each word for accents 0.07 more.
_ASCII_LOWER_WORDS = str.maketrans(
    {chr(c): (chr(c).lower() if chr(c).isalnum() else " ") for c in range(128)}
)
_ASCII_SEPARATORS_UTF8 = bytes(c if chr(c).isalnum() else 0x20 for c in range(128)) + bytes(
    range(128, 256)
)
_ASCII_BYTES = bytes(range(128))
_WORD_CHARACTER = re.compile(r"[^\W_]")


def _cut(words: list[str]) -> list[str]:
    if max(map(len, words), default=0) <= MAX_TOKEN_CHARS:  # nearly always: no copy
        return words
    return [word[:MAX_TOKEN_CHARS] for word in words]


def _spaced_words(folded: str, utf8: bytes, others: str) -> str | None:
    """``folded`` (NFKC, case-folded, no CJK; ``utf8`` its encoding, ``others`` its non-ASCII
    characters) as its words between spaces, each folded (``_fold_accented``); or None when
    that could differ from ``tokens``'s definition (a word whose folding is empty or splits;
    never seen)."""
    spaced = utf8.translate(_ASCII_SEPARATORS_UTF8).decode()
    letters: list[str] = []
    for character in set(others):
        if _WORD_CHARACTER.match(character):
            letters.append(character)
        else:
            spaced = spaced.replace(character, " ")
    if not letters:
        return spaced
    spans: set[tuple[int, int]] = set()  # of the words holding a non-ASCII letter
    for letter in letters:
        at = spaced.find(letter)
        while at >= 0:
            start = spaced.rfind(" ", 0, at) + 1
            end = spaced.find(" ", at)
            end = len(spaced) if end < 0 else end
            spans.add((start, end))
            at = spaced.find(letter, end)
    parts: list[str] = []
    done = 0  # ``spaced`` is copied up to here
    for start, end in sorted(spans):
        word = _fold_accented(spaced[start:end])
        if len(word.split()) != 1:
            return None
        parts += (spaced[done:start], word)
        done = end
    parts.append(spaced[done:])
    return "".join(parts)


def tokens(text: str, limit: int = MAX_TOKENS) -> list[str]:
    """The index tokens of ``text``, in order, at most ``limit``."""
    if text.isascii():
        # The same tokens as below: for ASCII, NFKC changes nothing, casefold is lower, and
        # a word is a run of letters and digits.
        return _cut(text.translate(_ASCII_LOWER_WORDS).split()[:limit])
    folded = unicodedata.normalize("NFKC", text).casefold()
    try:
        utf8 = folded.encode()
    except UnicodeEncodeError:  # a lone surrogate: the general path below
        utf8, others = b"", folded
    else:
        others = utf8.translate(None, _ASCII_BYTES).decode()  # its non-ASCII characters
    if not _HAS_CJK.search(others):  # words only
        if utf8 and (spaced := _spaced_words(folded, utf8, others)) is not None:
            return _cut(spaced.split()[:limit])
        found = _WORDS.findall(folded)[:limit]
        return [w[:MAX_TOKEN_CHARS] if w.isascii() else _fold_accented(w) for w in found]
    # One match per token, ``_runs``'s tokens in order: a CJK character with the next one
    # when the run goes on (a bigram), alone when it ends the run, or a word. From the text
    # folded above (``_runs`` folds again); no loop over runs in Python (issue 19: 30 -> 21
    # ms of CPU for the 709 CJK titles and bodies of tests/classify/realset.jsonl).
    found = _TOKEN_PER_MATCH.findall(folded)[:limit]
    return [cjk or _fold(word) for cjk, word in found]


def query_terms(query: str) -> list[Term]:
    """The terms of a user's query (whitespace-separated; all must match)."""
    terms: list[Term] = []
    for word in query.split()[:MAX_QUERY_TERMS]:
        parts: list[str] = []
        last_cjk = False
        runs = list(_runs(word))
        for is_cjk, run in runs:
            if is_cjk and len(run) > 1:
                parts.extend(run[i : i + 2] for i in range(len(run) - 1))
            else:
                parts.append(run)
            last_cjk = is_cjk
        if not parts:
            continue
        single_cjk = len(runs) == 1 and runs[0][0] and len(runs[0][1]) == 1
        terms.append(Term(tuple(parts), prefix=(not last_cjk) or single_cjk))
    return terms


# --- keeping the index in step ---------------------------------------------------------------


def _document(title: str, body: str) -> tuple[list[str], list[str]]:
    title_tokens = tokens(title or "", MAX_TOKENS)
    body_tokens = tokens(body or "", MAX_TOKENS - len(title_tokens))
    if len(title_tokens) + len(body_tokens) >= MAX_TOKENS:
        log.info("search index: text cut at %d tokens (a very long release)", MAX_TOKENS)
    return title_tokens, body_tokens


def _tsvector(title_tokens: Sequence[str], body_tokens: Sequence[str]) -> str:
    """A tsvector literal with positions and weights: 'token':1A,7 ..."""
    # Every release stored on PostgreSQL passes here, so it is written for speed (issue 19):
    # position strings made in C (``map``), one dict look-up per token, quotes escaped only
    # when there are any (tokens are runs of letters and digits: never). Handing PostgreSQL
    # one entry per token to merge was cheaper here but dearer in the server, in total.
    spots: dict[str, list[str]] = {}
    first = len(title_tokens) + 1
    positions: Iterable[int] = range(first, first + len(body_tokens))
    if first + len(body_tokens) - 1 > _MAX_POSITION:  # never within MAX_TOKENS
        positions = [min(index, _MAX_POSITION) for index in positions]
    title = zip(title_tokens, map("{}A".format, range(1, first)), strict=True)
    for token, spot in itertools.chain(title, zip(body_tokens, map(str, positions), strict=True)):
        found = spots.get(token)
        if found is None:
            spots[token] = [spot]
        else:
            found.append(spot)
    if "'" in (joined := "".join(spots)) or "\\" in joined:
        spots = {t.replace("\\", "\\\\").replace("'", "''"): v for t, v in spots.items()}
    return " ".join([f"'{token}':{','.join(spot[:256])}" for token, spot in spots.items()])


def index_releases(connection: Connection, rows: Iterable[tuple[int, str, str]]) -> None:
    """(Re)index releases given as (id, title, body), in the caller's transaction."""
    rows = list(rows)
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        values = []
        for release_id, title, body in rows:
            title_tokens, body_tokens = _document(title, body)
            values.append({"id": release_id, "doc": _tsvector(title_tokens, body_tokens)})
        connection.execute(
            text(
                f"INSERT INTO {TABLE} (release_id, document) "
                "VALUES (:id, CAST(:doc AS tsvector)) "
                "ON CONFLICT (release_id) DO UPDATE SET document = EXCLUDED.document"
            ),
            values,
        )
        return
    # The driver's executemany (plain values): SQLAlchemy's handling of each row's
    # parameters cost a fifth of FTS5's own insert (issue 19).
    connection.exec_driver_sql(
        f"DELETE FROM {TABLE} WHERE rowid = ?", [(release_id,) for release_id, _, _ in rows]
    )
    values = []
    for release_id, title, body in rows:
        title_tokens, body_tokens = _document(title, body)
        values.append((release_id, " ".join(title_tokens), " ".join(body_tokens)))
    connection.exec_driver_sql(f"INSERT INTO {TABLE} (rowid, title, body) VALUES (?, ?, ?)", values)


def unindex_releases(connection: Connection, ids: Sequence[int]) -> None:
    if not ids:
        return
    key = "release_id" if connection.dialect.name == "postgresql" else "rowid"
    connection.execute(text(f"DELETE FROM {TABLE} WHERE {key} = :id"), [{"id": i} for i in ids])


def rebuild_index(connection: Connection, batch: int = 500) -> int:
    """Index every stored release again (the migration's backfill); the number indexed."""
    connection.execute(text(f"DELETE FROM {TABLE}"))
    done, last = 0, 0
    table = Release.__table__
    while True:
        rows = connection.execute(
            select(table.c.id, table.c.title, table.c.body)
            .where(table.c.id > last)
            .order_by(table.c.id)
            .limit(batch)
        ).all()
        if not rows:
            return done
        index_releases(connection, [tuple(row) for row in rows])
        done += len(rows)
        last = rows[-1][0]


_WATCHED = ("title", "body")


@event.listens_for(Session, "after_flush")
def _follow_orm_changes(session: Session, _context: object) -> None:
    """Releases added, edited (title or body) or deleted through the ORM."""
    from sqlalchemy import inspect

    changed: list[tuple[int, str, str]] = []
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, Release) or obj.id is None:
            continue
        state = inspect(obj)
        if obj in session.new or any(state.attrs[name].history.has_changes() for name in _WATCHED):
            changed.append((obj.id, obj.title, obj.body))
    deleted = [obj.id for obj in session.deleted if isinstance(obj, Release) and obj.id]
    if changed or deleted:
        connection = session.connection()
        index_releases(connection, changed)
        unindex_releases(connection, deleted)


# --- querying --------------------------------------------------------------------------------


def _fts5_query(terms: Sequence[Term]) -> str:
    parts = []
    for term in terms:
        phrase = '"' + " ".join(token.replace('"', '""') for token in term.tokens) + '"'
        parts.append(phrase + ("*" if term.prefix else ""))
    return " AND ".join(parts)


def _tsquery(terms: Sequence[Term]) -> str:
    parts = []
    for term in terms:
        lexemes = ["'{}'".format(t.replace("\\", "\\\\").replace("'", "''")) for t in term.tokens]
        if term.prefix:
            lexemes[-1] += ":*"
        parts.append("(" + " <-> ".join(lexemes) + ")")
    return " & ".join(parts)


def matches(dialect: str, query: str) -> Subquery | None:
    """A subquery of (release_id, score) of the releases matching ``query`` (higher score:
    better match); None when the query holds no searchable word."""
    terms = query_terms(query)
    if not terms:
        return None
    if dialect == "postgresql":
        sql = text(
            "SELECT release_id, ts_rank(document, CAST(:stnews_q AS tsquery)) AS score "
            f"FROM {TABLE} WHERE document @@ CAST(:stnews_q AS tsquery)"
        ).bindparams(stnews_q=_tsquery(terms))
    else:
        sql = text(
            f"SELECT rowid AS release_id, -bm25({TABLE}, 4.0, 1.0) AS score "
            f"FROM {TABLE} WHERE {TABLE} MATCH :stnews_q"
        ).bindparams(stnews_q=_fts5_query(terms))
    return sql.columns(column("release_id", Integer), column("score", Float)).subquery("search")

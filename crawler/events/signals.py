"""What the linker knows of one release: its parties, kind, dates, ordinal, instruments,
anchors and a MinHash of its opening text.

Computed once per release (the classification may come in precomputed, as stored by the
crawl's enrich step); the scorer then compares signals only.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from itertools import combinations, pairwise

import numpy as np

from crawler.classify import classify
from crawler.classify.text import is_cjk, normalize

from . import dates, markers

NUM_PERM = 64
# datasketch's MinHash (seed 1, its "affine32" scheme), computed below with the same numbers:
# stored hash values stay valid, and a test holds the two equal. Not datasketch itself:
# importing its package imports its LSH indexes and with them SciPy, 60 MB and 0.6 s of
# start-up in every crawl process, for the few lines of MinHash used here (issue 19).
SCHEME = "affine32"
_SEED = 1
_DTYPE = np.dtype(np.uint32)
_MAX_HASH = np.uint32(0xFFFFFFFF)


def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutations h -> a * h + b (mod 2**32), ``a`` odd."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


_A, _B = _permutations(NUM_PERM, _SEED)
# Opening text hashed for similarity: the headline and lead say what happened; the rest of a
# release (background, quotes) differs between publishers.
SIMILARITY_CHARS = 600
# Rare names are looked for a little further: a wire story names the people in its second
# paragraph.
ANCHOR_CHARS = 700
_PUNCT = re.compile(r"[\W_]+", re.U)
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "the",
        "a",
        "an",
        "of",
        "and",
        "to",
        "in",
        "on",
        "for",
        "with",
        "by",
        "at",
        "from",
        "as",
        "is",
        "was",
        "were",
        "be",
        "its",
        "that",
        "this",
    ]
)


@dataclass(frozen=True, slots=True)
class Release:
    """One release as the linker takes it. ``key`` is its stable identity (a database id, a
    URL or an input line's id); ``partners`` and ``coop_type`` may be given precomputed."""

    key: str
    title: str
    body: str = ""
    language: str = ""
    agency: str = ""
    agency_country: str = ""
    published: date | None = None
    published_month: tuple[int, int] | None = None
    partners: tuple[str, ...] | None = None
    coop_type: str | None = None


@dataclass(slots=True)
class Signals:
    key: str
    language: str
    agency: str
    parties: frozenset[str]
    pairs: frozenset[tuple[str, str]]
    coop_type: str | None
    published: date | None
    when: dates.EventDate
    mentioned: frozenset[date]
    ordinal: int | None
    ordinal_in_title: bool
    instruments: frozenset[str]
    title_instruments: frozenset[str]
    anchors: frozenset[frozenset[str]]
    # The MinHash's hash values (``minhash``, as datasketch computes them); comparing two is
    # counting equal slots (``similarity``).
    minhash: np.ndarray | None = field(repr=False, default=None)

    @property
    def day(self) -> date | None:
        return self.when.day


def parties_of(home: str, partners: tuple[str, ...]) -> frozenset[str]:
    """The publishing country and the partners: everyone the event is between."""
    parties = {p.upper() for p in partners if p}
    if home:
        parties.add(home.upper())
    return frozenset(parties)


def pairs_of(parties: frozenset[str]) -> frozenset[tuple[str, str]]:
    """Every pair of parties: the bilateral relations an event belongs to. A release from a
    third country (a wire story) still shares the pair of the two it reports on."""
    return frozenset(combinations(sorted(parties), 2))


def extract(release: Release) -> Signals:
    title = normalize(release.title or "")
    body = normalize(release.body or "")
    partners, coop_type = release.partners, release.coop_type
    if partners is None:
        trace: dict[str, object] = {}
        verdict = classify(title, body, release.agency_country, release.language, trace)
        # The parties are who the release is about, which the rules find whatever the
        # verdict: when the learned model says "not cooperation" the verdict carries no
        # partners, and linking would then hang on the model's retraining. (The crawl links
        # only releases judged cooperation, with their stored partners; this serves
        # ``stnews cluster`` and the labelled set.)
        partners = verdict.partners or tuple(trace.get("partners_found") or ())  # type: ignore[arg-type]
        coop_type = verdict.coop_type
    parties = parties_of(release.agency_country, tuple(partners))
    lead = body[: dates.LEAD_CHARS]
    # A month of publication without the day still places yearless mentions ("11月23日").
    reference = release.published
    if reference is None and release.published_month:
        reference = date(*release.published_month, 28)
    found = dates.mentions(title, body, release.language, reference)
    when = dates.event_date(found, reference)
    mentioned = frozenset(d for d in (m.as_date() for m in found) if d is not None)
    text = f"{title}\n{lead}"
    ordinal, ordinal_in_title = markers.primary_ordinal(title, lead)
    wider = f"{title}\n{body[:ANCHOR_CHARS]}"
    return Signals(
        key=release.key,
        language=_language(release.language, title or body),
        agency=(release.agency or "").strip().lower(),
        parties=parties,
        pairs=pairs_of(parties) if len(parties) > 1 else frozenset(),
        coop_type=coop_type,
        published=release.published,
        when=when,
        mentioned=mentioned,
        ordinal=ordinal,
        ordinal_in_title=ordinal_in_title,
        instruments=markers.instruments(text),
        title_instruments=markers.instruments(title),
        anchors=markers.anchors(wider),
        minhash=minhash(f"{title}\n{body[:SIMILARITY_CHARS]}", _language(release.language, title)),
    )


def _language(language: str, sample: str) -> str:
    """A language family for similarity: MinHash compares like with like only."""
    lang = (language or "").lower()
    for prefix in ("zh", "ko", "ja"):
        if lang.startswith(prefix):
            return prefix
    if lang:
        return lang.split("-")[0]
    return "cjk" if is_cjk(sample) else "en"


def shingles(text: str, language: str) -> set[bytes]:
    """Character 3-grams for Chinese, Japanese and Korean (no reliable word breaks), word
    2-grams minus stop words elsewhere."""
    if language in ("zh", "ko", "ja", "cjk"):
        compact = _PUNCT.sub("", text.lower())
        return {compact[i : i + 3].encode() for i in range(max(len(compact) - 2, 0))}
    words = [w for w in _WORD.findall(text.lower()) if w not in _STOP]
    return {f"{a} {b}".encode() for a, b in pairwise(words)}


def minhash(text: str, language: str) -> np.ndarray | None:
    """The MinHash hash values of the text's shingles: what ``datasketch.MinHash(num_perm=64,
    seed=1, scheme="affine32").update_batch(grams)`` gives (its SHA-1 32-bit hash, its
    MurmurHash3 pre-mix, its permutations)."""
    grams = shingles(text, language)
    if not grams:
        return None
    hv = np.array(
        [int.from_bytes(hashlib.sha1(g).digest()[:4], "little") for g in grams], dtype=np.uint32
    ).reshape(-1, 1)
    # MurmurHash3's 32-bit finalizer; uint32 arithmetic wraps, which is the modulo.
    hv = hv ^ (hv >> np.uint32(16))
    hv = hv * np.uint32(0x85EBCA6B)
    hv = hv ^ (hv >> np.uint32(13))
    hv = hv * np.uint32(0xC2B2AE35)
    hv = hv ^ (hv >> np.uint32(16))
    values = (hv * _A + _B).min(axis=0)
    return np.minimum(np.full(NUM_PERM, _MAX_HASH, dtype=np.uint32), values)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two MinHashes: the share of equal slots (as
    ``datasketch.MinHash.jaccard``)."""
    return float(np.count_nonzero(a == b)) / len(a)


def stable_event_id(founding_key: str) -> str:
    """An event's id: a hash of its founding release's stable key. See ``linker``."""
    return "ev-" + hashlib.sha256(founding_key.encode()).hexdigest()[:16]


__all__ = ["Release", "Signals", "extract", "pairs_of", "parties_of", "stable_event_id"]


# Bumped whenever extraction changes, so stored signals are recomputed (see storage.events).
SIGNALS_VERSION = 2


def to_dict(s: Signals) -> dict[str, object]:
    """Plain JSON for storage; ``from_dict`` gives back an equal ``Signals``."""
    return {
        "key": s.key,
        "language": s.language,
        "agency": s.agency,
        "parties": sorted(s.parties),
        "coop_type": s.coop_type,
        "published": s.published.isoformat() if s.published else None,
        "day": s.when.day.isoformat() if s.when.day else None,
        "month_day": list(s.when.month_day) if s.when.month_day else None,
        "stated": s.when.stated,
        "mentioned": sorted(d.isoformat() for d in s.mentioned),
        "ordinal": s.ordinal,
        "ordinal_in_title": s.ordinal_in_title,
        "instruments": sorted(s.instruments),
        "title_instruments": sorted(s.title_instruments),
        "anchors": sorted(sorted(a) for a in s.anchors),
        "minhash": [int(v) for v in s.minhash] if s.minhash is not None else None,
    }


def from_dict(data: dict[str, object], key: str | None = None) -> Signals:
    def day(value: object) -> date | None:
        return date.fromisoformat(value) if isinstance(value, str) else None

    parties = frozenset(data["parties"])  # type: ignore[arg-type]
    month_day = data.get("month_day")
    hashvalues = data.get("minhash")
    mh = np.array(hashvalues, dtype=_DTYPE) if hashvalues else None
    return Signals(
        key=key if key is not None else str(data["key"]),
        language=str(data["language"]),
        agency=str(data["agency"]),
        parties=parties,
        pairs=pairs_of(parties) if len(parties) > 1 else frozenset(),
        coop_type=data.get("coop_type"),  # type: ignore[arg-type]
        published=day(data.get("published")),
        when=dates.EventDate(
            day(data.get("day")),
            tuple(month_day) if month_day else None,  # type: ignore[arg-type]
            bool(data.get("stated")),
        ),
        mentioned=frozenset(d for d in map(day, data.get("mentioned") or ()) if d),  # type: ignore[arg-type]
        ordinal=data.get("ordinal"),  # type: ignore[arg-type]
        ordinal_in_title=bool(data.get("ordinal_in_title")),
        instruments=frozenset(data.get("instruments") or ()),  # type: ignore[arg-type]
        title_instruments=frozenset(data.get("title_instruments") or ()),  # type: ignore[arg-type]
        anchors=frozenset(frozenset(a) for a in data.get("anchors") or ()),  # type: ignore[union-attr]
        minhash=mh,
    )

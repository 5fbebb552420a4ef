"""What the linker knows of one release: its parties, kind, dates, ordinal, instruments,
anchors and a MinHash of its opening text.

Computed once per release (the classification may come in precomputed, as stored by the
crawl's enrich step); the scorer then compares signals only.
"""

from __future__ import annotations

import hashlib
import operator
import re
import sys
from array import array
from dataclasses import dataclass, field
from datetime import date
from itertools import combinations, pairwise

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
_MASK = 0xFFFFFFFF
# Its permutations h -> a * h + b (mod 2**32), ``a`` odd, as datasketch draws them from NumPy's
# ``RandomState(1)`` (a test draws them again): written out, so that the pure path below needs
# no NumPy.
# fmt: off
_A = (
    3582191691, 4270784983, 1892572953, 3715639441, 982527, 1100580627, 2597016983,
    4286725387, 1260623519, 2027988865, 793182497, 3406602499, 1599963033, 3332127887,
    2968344027, 1458107385, 3408206605, 3741252147, 333433189, 2974788137, 3600853501,
    2690998987, 1591023397, 210867113, 1756231447, 3809231353, 3248004053, 1972053305,
    235257659, 295613213, 1464304741, 3555906697, 3584620975, 3927359407, 504141779,
    3699672547, 1205914607, 3772079037, 1701678785, 2391345325, 2583376155, 1855172563,
    4022336275, 2600667151, 2692293247, 797152891, 1652038701, 155929203, 3233158147,
    3135500033, 3389645433, 2827350435, 730524177, 2831271345, 335478043, 2345481447,
    1458832223, 508895189, 3248219379, 1464824721, 844792893, 799426703, 3617286919,
    1474497421,
)
_B = (
    4114104213, 1768615473, 2289927481, 848474627, 2971589572, 1243949848, 1355129329,
    610401323, 2948499020, 3364310042, 3584689972, 1771840848, 78547565, 146764659,
    3221845289, 2680188370, 4247126031, 2837408832, 3213347012, 1282027545, 1204497775,
    1916133090, 3389928919, 954017671, 443352346, 315096729, 1923688040, 2015364118,
    3902387977, 413056707, 1261063143, 3879945342, 1235985687, 513207677, 558468452,
    2253996187, 83180453, 359158073, 2915576403, 3937889446, 908935816, 3910346016,
    1140514210, 1283895050, 2111290647, 2509932175, 229190383, 2430573655, 2465816345,
    2636844999, 630194419, 4108289372, 2531048010, 1120896190, 3005439278, 992203680,
    439523032, 2291143831, 1778356919, 4079953217, 2982425969, 2117674829, 1778886403,
    2321861504,
)
# fmt: on
# From this many releases to hash in one go, NumPy's import (80 ms) is cheaper than the pure
# path (0.3 against 0.08 ms a release; see ``numpy_for``).
NUMPY_FROM = 300
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
    minhash: tuple[int, ...] | None = field(repr=False, default=None)

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


def minhash(text: str, language: str) -> tuple[int, ...] | None:
    """The MinHash hash values of the text's shingles: what ``datasketch.MinHash(num_perm=64,
    seed=1, scheme="affine32").update_batch(grams)`` gives (its SHA-1 32-bit hash, its
    MurmurHash3 pre-mix, its permutations). With NumPy when it is loaded (``numpy_for``), else
    in pure Python: the same numbers either way."""
    grams = shingles(text, language)
    if not grams:
        return None
    # The first four bytes of each SHA-1, read little-endian: datasketch's 32-bit hash.
    raw = b"".join([hashlib.sha1(g).digest()[:4] for g in grams])
    if "numpy" in sys.modules:
        return _minhash_numpy(raw)
    return _minhash_pure(raw, len(grams))


def numpy_for(count: int) -> None:
    """About to hash ``count`` releases: load NumPy if that is cheaper than the pure path."""
    if count >= NUMPY_FROM:
        import numpy  # noqa: F401  (``minhash`` takes the NumPy path from now on)


def _minhash_pure(raw: bytes, count: int) -> tuple[int, ...]:
    """The hashes side by side in one integer, 64 bits each, so that each step is one big-int
    operation for all of them (a product of two 32-bit values fits in its 64 bits); the
    minimum per permutation is then read from the lanes by ``array``."""
    order = sys.byteorder  # ``array``'s
    hashes = array("I", raw)
    if order != "little":
        hashes.byteswap()
    ones = int.from_bytes(array("Q", [1]) * count, order)
    low = ones * _MASK  # each lane's low 32 bits: arithmetic modulo 2**32
    h = int.from_bytes(array("Q", hashes).tobytes(), order)
    # MurmurHash3's 32-bit finalizer.
    h ^= (h >> 16) & low
    h = (h * 0x85EBCA6B) & low
    h ^= (h >> 13) & low
    h = (h * 0xC2B2AE35) & low
    h ^= (h >> 16) & low
    size = 8 * count
    return tuple(
        min(array("Q", ((((h * a) & low) + b * ones) & low).to_bytes(size, order)))
        for a, b in zip(_A, _B, strict=True)
    )


def _minhash_numpy(raw: bytes) -> tuple[int, ...]:
    import numpy as np

    hv = np.frombuffer(raw, dtype="<u4").astype(np.uint32).reshape(-1, 1)
    # MurmurHash3's 32-bit finalizer; uint32 arithmetic wraps, which is the modulo.
    hv = hv ^ (hv >> np.uint32(16))
    hv = hv * np.uint32(0x85EBCA6B)
    hv = hv ^ (hv >> np.uint32(13))
    hv = hv * np.uint32(0xC2B2AE35)
    hv = hv ^ (hv >> np.uint32(16))
    values = (hv * np.array(_A, dtype=np.uint32) + np.array(_B, dtype=np.uint32)).min(axis=0)
    return tuple(values.tolist())


def similarity(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """Estimated Jaccard similarity of two MinHashes: the share of equal slots (as
    ``datasketch.MinHash.jaccard``)."""
    return sum(map(operator.eq, a, b)) / len(a)


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
        "minhash": list(s.minhash) if s.minhash is not None else None,
    }


def from_dict(data: dict[str, object], key: str | None = None) -> Signals:
    def day(value: object) -> date | None:
        return date.fromisoformat(value) if isinstance(value, str) else None

    parties = frozenset(data["parties"])  # type: ignore[arg-type]
    month_day = data.get("month_day")
    hashvalues = data.get("minhash")
    mh = tuple(int(v) for v in hashvalues) if hashvalues else None  # type: ignore[attr-defined]
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

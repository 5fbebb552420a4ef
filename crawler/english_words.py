"""English word frequencies on the Zipf scale, from wordfreq's small list: the hyphenation
repair (``crawler.normalize``) and the events' name anchors (``crawler.events.markers``) ask
about the same kind of words, through one cache."""

from __future__ import annotations

from functools import cache, lru_cache

from wordfreq import get_frequency_dict, zipf_frequency

#: wordfreq's "small" English list holds the words of Zipf 3.01 and above, with the same
#: values as its default (large) list; the large list costs every crawl process 34 MB for the
#: rarer words, which neither caller needs (both test "at least 3" or "below 3.2": a word
#: missing from the small list reads 0 and passes or fails those tests as a rarer word would;
#: only joined words of exactly 3.00 read 0 and stay hyphenated).
WORDLIST = "small"


@cache
def _listed() -> dict[str, float]:
    return get_frequency_dict("en", WORDLIST)


@lru_cache(maxsize=65536)
def english_zipf(word: str) -> float:
    """``zipf_frequency(word, "en", wordlist=WORDLIST)``. A word of plain lower-case ASCII
    letters is one token that wordfreq's tokenizer leaves as it is, so when the list lacks it
    the answer is 0 without the tokenizer (about 50 µs a word; most words asked about are
    names and word fragments, which the list lacks; issue 19)."""
    if word.isascii() and word.isalpha() and word.islower() and word not in _listed():
        return 0.0
    return zipf_frequency(word, "en", wordlist=WORDLIST)

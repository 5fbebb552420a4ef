"""The Aho-Corasick scans match exactly what the trie regexes they replace matched."""

from __future__ import annotations

import random
import re

from crawler.classify.gazetteer import gazetteer
from crawler.classify.text import automaton, leftmost_longest, trie_regex

_NAME_END = r"(?:(?<=-)|(?![A-Za-z0-9]))"


def _regex_spans(words: list[str], text: str, name_end: bool) -> list[tuple[int, int]]:
    pattern = re.compile(trie_regex(sorted(words)) + (_NAME_END if name_end else ""))
    return [m.span() for m in pattern.finditer(text)]


def test_leftmost_longest_equals_the_trie_regex_on_random_text() -> None:
    # A small alphabet makes overlaps, shared prefixes and failed name ends frequent.
    rng = random.Random(20261207)
    alphabet = "abAB -x1"
    for _ in range(400):
        words = list({"".join(rng.choices(alphabet, k=rng.randint(1, 5))) for _ in range(12)})
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 60)))
        words_automaton = automaton(words)
        for name_end in (False, True):
            assert leftmost_longest(words_automaton, text, name_end) == _regex_spans(
                words, text, name_end
            ), (words, text, name_end)


def test_leftmost_longest_backtracks_to_a_name_that_ends_well() -> None:
    names = automaton(["New", "New Zealand", "Zealand", "Sino-"])
    # "New Zealanders": the longer name does not end at a word end, "New" does.
    assert leftmost_longest(names, "New Zealanders", name_end=True) == [(0, 3)]
    assert leftmost_longest(names, "New Zealand.", name_end=True) == [(0, 11)]
    assert leftmost_longest(names, "Sino-Japanese", name_end=True) == [(0, 5)]
    assert leftmost_longest(automaton([]), "anything") == []


def test_gazetteer_scan_equals_its_former_regex_on_the_real_set() -> None:
    """The names found in real releases, against the regex the gazetteer used before."""
    import json
    from pathlib import Path

    gaz = gazetteer()
    latin = sorted(a for a in gaz.aliases if a[0].isascii())
    regex = re.compile(trie_regex(latin) + _NAME_END)
    path = Path(__file__).with_name("realset.jsonl")
    for line in path.read_text(encoding="utf-8").splitlines()[:300]:
        item = json.loads(line)
        text = f"{item['title']}\n{item['body']}"
        expected = [m.span() for m in regex.finditer(text)]
        assert leftmost_longest(gaz.latin_names, text, name_end=True) == expected

"""The classifier's shortcuts give exactly what the plain computation gives: the Aho-Corasick
scans what the trie regexes they replace matched, the model's scoring what its inputs give,
the example-marker search what the per-name regex drops."""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from crawler.classify import classify
from crawler.classify.gazetteer import gazetteer
from crawler.classify.text import automaton, leftmost_longest, lower_same_length, trie_regex

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


def _items() -> list[dict]:
    import json
    from pathlib import Path

    here = Path(__file__).parent
    lines = (here / "realset.jsonl").read_text(encoding="utf-8").splitlines()
    lines += (here / "devset.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_grams_are_the_sliced_grams() -> None:
    """``model.grams`` (per blank-free run, memoised) against slicing every offset."""
    from crawler.classify import model

    def sliced(text: str) -> set[str]:
        t = text.lower()
        return {
            t[i : i + n]
            for n in model.NGRAMS
            for i in range(len(t) - n + 1)
            if " " not in t[i : i + n] and "\n" not in t[i : i + n]
        }

    rng = random.Random(7)
    texts = [item["title"] for item in _items()] + [item["body"][:200] for item in _items()]
    texts += ["".join(rng.choices("aB \n\tç", k=rng.randint(0, 12))) for _ in range(300)]
    for text in texts:
        assert model.grams(text) == sliced(text), text


def test_model_score_is_the_probability_of_the_inputs() -> None:
    """The engine's ``model.score`` gives exactly ``probability(inputs(...))``: every
    language (with and without n-grams), with and without a title."""
    from crawler.classify import model

    weights = model.load()
    assert weights is not None
    for item in _items()[::3]:
        for language in (item["language"], "", "fr", "xx"):
            for title in (item["title"], ""):
                trace: dict[str, object] = {}
                classify(title, item["body"], item["agency_country"], language, trace)
                features = trace["features"]
                assert isinstance(features, dict)
                langs = weights["ngram_languages"]
                expected = model.probability(
                    weights, model.inputs(features, title, item["body"], language, langs)
                )
                assert model.score(weights, features, title, item["body"], language) == expected
                x = model.inputs(features, title, item["body"], language, langs)
                # An exact sum: the order of the inputs (sets of n-grams) does not matter.
                assert model.probability(weights, dict(reversed(x.items()))) == expected


def test_example_markers_are_found_before_every_name_the_regex_finds() -> None:
    """``_not_examples`` looks for the markers in the lower-cased text first; it must drop
    exactly the names the case-blind regex drops, in any case and with odd folds."""
    from crawler.classify import engine
    from crawler.classify.text import lower_same_length, normalize

    rng = random.Random(11)
    fillers = ["", " ", "  the ", " in ", ", ", " (", " and others such as ", " x" * 20]
    cases = [str.lower, str.upper, str.title, lambda s: s.replace("s", "ſ").replace("i", "ı")]
    gaz = gazetteer()
    dropped = 0
    for item in _items()[:300]:
        text = normalize(f"{item['title']}\n{item['body']}")[:1500]
        mentions = gaz.find(text, [], "TW", "latin")[0]
        # Put a marker (any case) with some filler before some of the names.
        for m in sorted(rng.sample(mentions, min(4, len(mentions))), reverse=True):
            marker = rng.choice(cases)(rng.choice(engine._EXAMPLE_MARKERS))
            text = text[: m.start] + marker + rng.choice(fillers) + text[m.start :]
        mentions = gaz.find(text, [], "TW", "latin")[0]
        expected = [
            m for m in mentions
            if not engine._EXAMPLE_BEFORE.search(text, max(0, m.start - 45), m.start)
        ]  # fmt: skip
        assert engine._not_examples(text, mentions, lower_same_length(text)) == expected
        dropped += len(mentions) - len(expected)
    assert dropped > 50  # the test exercises the dropping


def test_fold_odd_lists_every_character_the_markers_fold_differently() -> None:
    """Characters that ``re.IGNORECASE`` matches to a marker letter while lower-casing to
    another one must send ``_not_examples`` to the plain regex search."""
    import sys

    from crawler.classify import engine

    letters = sorted({ch for marker in engine._EXAMPLE_MARKERS for ch in marker if ch.isalpha()})
    blind = re.compile("[" + "".join(letters) + "]", re.IGNORECASE)
    odd = [
        chr(cp) for cp in range(sys.maxunicode + 1)
        if blind.fullmatch(chr(cp)) and chr(cp).lower()[:1] not in letters
    ]  # fmt: skip
    assert odd and all(engine._FOLD_ODD.fullmatch(ch) for ch in odd), odd


def test_numbered_calls_found_from_their_nouns_are_the_patterns_matches() -> None:
    # Issue 19: the numbered-call pattern is tried only before "call"/"appel"; the matches
    # must be those of its own scan over the whole text, whatever the text.
    from crawler.classify import engine

    rng = random.Random(20261207)
    pieces = ["call", "appel", " ", "  ", "\n", "\u00a0", "first", "2", "2nd", "e", "ème",
              "premier", "x", "re", "_", "é", "second", "calls", "."]  # fmt: skip
    for _ in range(20000):
        text = "".join(rng.choices(pieces, k=rng.randrange(10)))
        expected = [m.span() for m in engine._NUMBERED_CALL.finditer(text)]
        assert [m.span() for m in engine._numbered_calls(text)] == expected, text


def test_lower_same_length_lowers_each_character_on_its_own() -> None:
    """The translate path of ``lower_same_length`` gives the per-character join it replaces
    (final sigma included), on every text whose lower case changes length."""
    from crawler.classify.text import lower_same_length

    def plain(text: str) -> str:
        low = text.lower()
        return low if len(low) == len(text) else "".join(ch.lower()[:1] or ch for ch in text)

    rng = random.Random(3)
    pieces = ["İstanbul", "ΣΟΦΙΑ ΣΑΣ", " ", "ẞ", "Ǆ", "ﬀ", "ǰ", "a", "Σ.", "\n", "I"]
    texts = ["".join(rng.choices(pieces, k=rng.randint(0, 12))) for _ in range(2000)]
    texts += [f"{item['title']}\nİ {item['body']}" for item in _items()[:200]]
    for text in texts:
        assert lower_same_length(text) == plain(text), text
        assert len(lower_same_length(text)) == len(text)


def _cued_scan_matches_the_pattern(
    finder: Callable[[str], list[re.Match[str]]], pattern: re.Pattern[str], pieces: list[str],
    seed: int,
) -> None:
    """``finder`` (``pattern`` started only at the words that hold a cue) gives the matches of
    the pattern's own scan over the whole text, on random texts of ``pieces`` and the set's."""
    rng = random.Random(seed)
    texts = ["".join(rng.choices(pieces, k=rng.randrange(12))) for _ in range(30000)]
    texts += [lower_same_length(f"{item['title']}\n{item['body']}") for item in _items()]
    matched = 0
    for text in texts:
        expected = [m.span() for m in pattern.finditer(text)]
        assert [m.span() for m in finder(text)] == expected, text
        matched += len(expected)
    assert matched > 1000  # the texts exercise the matching


def test_compound_heads_found_from_word_ends_are_the_patterns_matches() -> None:
    """``_compound_heads``: trips and agreements (``_COMPOUND_HEADS``)."""
    from crawler.classify import engine

    pieces = ["reise", "reisen", "besuch", "e", "delegation", "en", "abkommen", "s", "p", "k",
              "vereinbarung", "bildungs", "ab", " ", "-", "\n", "2", "_", "é", "ä", "ß",
              "x", "info", "rm", "A"]  # fmt: skip
    _cued_scan_matches_the_pattern(
        engine._compound_heads, engine._COMPOUND_HEADS, pieces, seed=20261208
    )


def test_head_kinds_found_from_word_ends_are_the_patterns_matches() -> None:
    """``_head_kind_matches``: calls, forums and centres (``_HEAD_KINDS``)."""
    from crawler.classify import engine

    pieces = ["ausschreibung", "aufruf", "s", "bekanntmachung", "konferenz", "en", "workshop",
              "symposi", "um", "tagung", "kolloqui", "foren", "forum", "zentrum", "zentren",
              "labor", "e", "fach", "ab",
              " ", "-", "\n", "2", "_", "é", "ä", "ß", "x", "A"]  # fmt: skip
    _cued_scan_matches_the_pattern(
        engine._head_kind_matches, engine._HEAD_KINDS, pieces, seed=20261209
    )


def test_area_prechecks_hold_wherever_the_area_patterns_match() -> None:
    """``_not_in_names`` tries the area-studies patterns only in a text that holds what
    each of their matches holds: wherever they match, the precheck says so."""
    from crawler.classify import engine

    rng = random.Random(5)
    pieces = [" Studies", "-Studien", " études", " ÉTUDES", " étudeſ", " Etudes", "研究中心",
              "연구소", "x", " ", "\u212a", "Japan", "Korean"]  # fmt: skip
    texts = ["".join(rng.choices(pieces, k=rng.randint(0, 8))) for _ in range(3000)]
    texts += [f"{item['title']}\n{item['body'][:600]}" for item in _items()[:400]]
    matched = 0
    for text in texts:
        after = any(word in text for word in engine._AREA_AFTER_WORDS)
        before = engine._AREA_BEFORE_WORD in lower_same_length(text)
        for i in range(len(text) + 1):
            if engine._AREA_AFTER.match(text, i):
                assert after, text
                matched += 1
            if i >= 8 and engine._AREA_BEFORE.search(text, i - 8, i):
                assert before, text
                matched += 1
    assert matched > 1000
    # No character folds to "t", "u", "d" or "e" (case-blind) while lower-casing to another.
    import sys

    blind = re.compile("[tude]", re.IGNORECASE)
    assert not [
        chr(cp) for cp in range(sys.maxunicode + 1)
        if blind.fullmatch(chr(cp)) and chr(cp).lower()[:1] not in "tude"
    ]  # fmt: skip


def test_compound_scan_skipped_only_where_no_compound_can_start() -> None:
    """``Gazetteer.find`` skips the compound scan in a text without the first character of
    any of the home's abbreviations: wherever a compound matches, one is there."""
    gaz = gazetteer()
    texts = [f"{item['title']}\n{item['body']}" for item in _items()]
    homes = ("TW", "KR", "JP", "CN")
    matched = 0
    for home in homes:
        for lang in ("zh", "ja"):
            regex = gaz.compound_regex(home, lang)
            if regex is None:
                continue
            firsts = gaz._compound_firsts[(home, lang)]
            for text in texts:
                if regex.search(text):
                    matched += 1
                    assert any(ch in text for ch in firsts), (home, lang)
    assert matched > 100


def test_normalize_prechecks_give_the_unconditional_substitutions() -> None:
    """``normalize`` runs the odd-character and soft-hyphen substitutions only when the text
    holds one of their characters: the same text as running them always."""
    from crawler.classify import text as t

    def plain(text: str) -> str:
        if not text:
            return ""
        if not text.isascii():
            text = t._ODD_CHARS.sub(lambda m: t._CHAR_MAP.get(m.group(), ""), text)
        text = t._SOFT_HYPHEN.sub("", text)
        if "  " in text:
            text = t._SPACES.sub(" ", text)
        if " \n" in text:
            text = t._SPACE_NEWLINE.sub("\n", text)
        if "\n\n" in text or "\n " in text:
            text = t._NEWLINES.sub("\n", text)
        return text.strip()

    rng = random.Random(9)
    pieces = ["coopera", "-", "tion", " ", "\n", "é", "£", "台", *t._CHAR_MAP, "\u00ad", "\u200b"]
    texts = ["".join(rng.choices(pieces, k=rng.randint(0, 15))) for _ in range(5000)]
    texts += [f"{item['title']}\n{item['body']}" for item in _items()]
    for text in texts:
        assert t.normalize(text) == plain(text), text


def test_sentence_starts_by_terminator_are_the_patterns_ends() -> None:
    """``sentence_starts`` (a scan per terminator) gives the ends of ``_SENTENCE_END``'s own
    scan over the whole text, whatever the text."""
    from crawler.classify import text as t

    rng = random.Random(12)
    pieces = [".", "!", "?", "。", "！", "？", "\n", " ", "  ", "U", "S", "a", "1", "12", "123",
              "٣", "_", "é", "x.", "Dr", "\u3000"]  # fmt: skip
    texts = ["".join(rng.choices(pieces, k=rng.randint(0, 14))) for _ in range(20000)]
    texts += [t.normalize(f"{item['title']}\n{item['body']}") for item in _items()]
    for text in texts:
        expected = [0, *(m.end() for m in t._SENTENCE_END.finditer(text))]
        assert t.sentence_starts(text) == expected, text


def test_cjk_hits_skip_only_texts_without_a_first_character() -> None:
    """``_cjk_hits`` gives the shared CJK scan's matches, whether it skips the scan or not."""
    from crawler.classify import engine

    rng = random.Random(13)
    words = [*sorted(gazetteer().cjk_words)[:50], "überblick", "état des lieux", "Überblick"]
    pieces = [*words, " ", "£", "é", "ü", "x", "台", "日本", "\u00ff", "\u0100", "État"]
    texts = ["".join(rng.choices(pieces, k=rng.randint(0, 10))) for _ in range(5000)]
    texts += [f"{item['title']}\n{item['body']}" for item in _items()]
    found = 0
    for text in texts:
        expected = [(m.start(), m.end(), m.group()) for m in engine._cjk_regex().finditer(text)]
        assert engine._cjk_hits(text) == expected, text
        found += len(expected)
    assert found > 1000


def test_lower_same_length_of_one_byte_text_is_str_lower() -> None:
    """The byte-table path (every character below U+0100) gives ``str.lower``."""
    from crawler.classify.text import lower_same_length

    rng = random.Random(14)
    alphabet = [chr(code) for code in range(256)]
    for _ in range(3000):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 40)))
        assert lower_same_length(text) == text.lower(), text
    assert lower_same_length("ÉTAT £ À Þ") == "état £ à þ"


def test_call_nouns_are_the_patterns_matches() -> None:
    from crawler.classify import engine

    rng = random.Random(15)
    pieces = ["call", "appel", "s", "_", "2", "é", " ", "re", "ap", "pel", "cal", "l", "\n"]
    texts = ["".join(rng.choices(pieces, k=rng.randrange(12))) for _ in range(20000)]
    for text in texts:
        expected = [m.start() for m in engine._CALL_NOUN.finditer(text)]
        assert engine._call_nouns(text) == expected, text


def test_quoted_spans_by_opener_are_the_patterns_spans() -> None:
    from crawler.classify import engine

    rng = random.Random(16)
    pieces = ["‘", "’", "“", "”", "'", '"', "「", "」", "『", "』", "《", "》", "〈", "〉", "｢",
              "｣", "OECD", " ", "\n", "x" * 30, "ab"]  # fmt: skip
    texts = ["".join(rng.choices(pieces, k=rng.randrange(14))) for _ in range(20000)]
    texts += [f"{item['title']}\n{item['body']}" for item in _items()]
    found = 0
    for text in texts:
        expected = [m.span(1) for m in engine._QUOTED.finditer(text)]
        assert engine._quoted_spans(text) == expected, text
        found += len(expected)
    assert found > 1000


def test_warming_up_by_use_covers_every_language_and_loads_the_model() -> None:
    """``stnews classify`` forks its workers after ``warm_up(by_use=True)``: one release per
    language the real set judges is classified first, so that what classifying builds lazily
    (the model, a script's or a home's patterns) is built once, before the fork."""
    import json
    from pathlib import Path

    from crawler.classify import engine, model

    realset = Path(__file__).with_name("realset.jsonl").read_text(encoding="utf-8")
    languages = {json.loads(line)["language"] for line in realset.splitlines() if line}
    assert {release[3] for release in engine._WARM_RELEASES} == languages
    model.load.cache_clear()
    engine.warm_up(by_use=True)
    assert model.load.cache_info().currsize == 1

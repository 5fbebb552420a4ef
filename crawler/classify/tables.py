"""A disk cache for the classifier's tables, so that a fresh process is ready in milliseconds.

Building the gazetteer and lexicon means reading pycountry, gettext catalogues, CLDR (babel)
and three TOML files, then compiling regexes of tens of thousands of characters; together
that takes about a second. The built tables (plain dicts and pattern strings) are pickled,
and so is the compiled form of each large regex: ``re`` has no persistent cache, so this
module keeps what ``re._compiler`` produces (the opcode list and group tables) and hands it
back to ``_sre.compile``, which is what ``re.compile`` does after parsing. That part uses
CPython internals, so the cache is keyed on the exact interpreter (version, build, the regex
engine's ``MAGIC``), ``_sre`` itself validates the code it is given, and every failure falls
back to an ordinary ``re.compile``: the cache can only make a process start faster, never
classify differently (``test_table_cache_gives_the_same_verdicts``).

Why keep that part: the plain data alone (tables and pattern sources) loads in about 30 ms of
CPU, but compiling the eight large patterns (the lexicon's, the shared CJK scan, the compound
patterns) with ``re.compile`` takes about 400 ms more on every cold start (measured on this
project's machine), far from "tens of milliseconds"; with the compiled form cached, the whole
build (``engine.warm_up``) takes about 30 ms of CPU. The gazetteer's Latin names are no regex
but an Aho-Corasick automaton, cached pickled (loading it takes about 7 ms of CPU, building
it from the names about 40 ms; issue 19).

The key also covers the data files, this package's sources and the installed pycountry,
babel and pyahocorasick (their location and the time they were installed): any change
rebuilds. The cache
lives in ``$STNEWS_CACHE_DIR`` or ``$XDG_CACHE_HOME/stnews`` (``~/.cache/stnews``);
``STNEWS_CACHE_DIR=off`` disables it. A directory that cannot be written only costs the
rebuild.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import pickle
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_state: dict[str, Any] = {"codes": {}, "objects": {}, "dirty": False, "loaded": False}


def _key() -> str:
    # The compiled form belongs to one interpreter build: its version, implementation and
    # the regex engine's own version number (``_sre.MAGIC``) are all part of the key.
    digest = hashlib.sha256(sys.version.encode())
    digest.update(f"{sys.implementation.cache_tag}:{sys.hexversion}".encode())
    with contextlib.suppress(ImportError, AttributeError):
        import _sre

        digest.update(f"{_sre.MAGIC}:{_sre.CODESIZE}".encode())
    package = resources.files(__package__)
    for name in sorted(p.name for p in package.iterdir() if p.name.endswith(".py")):
        digest.update(package.joinpath(name).read_bytes())
    for name in sorted(p.name for p in package.joinpath("data").iterdir()):
        digest.update(package.joinpath("data", name).read_bytes())
    # pyahocorasick too: its automaton is cached pickled (``built``), in its own format.
    for dist in ("pycountry", "babel", "ahocorasick"):
        # Where the package is installed and when: an upgrade rewrites its files. (Cheaper
        # than ``importlib.metadata.version``, whose import alone takes tens of milliseconds.)
        with contextlib.suppress(ImportError, ValueError, OSError, TypeError):
            spec = importlib.util.find_spec(dist)
            origin = spec.origin if spec is not None else None
            if origin:
                stat = os.stat(origin)
                digest.update(f"{dist}:{origin}:{stat.st_mtime_ns}:{stat.st_size}".encode())
    return digest.hexdigest()[:20]


def cache_path() -> Path | None:
    """Where the tables are cached, or ``None`` when caching is off."""
    root = os.environ.get("STNEWS_CACHE_DIR")
    if root and root.lower() in ("off", "0", "none", "false"):
        return None
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = str(Path(base) / "stnews")
    return Path(root) / f"classify-tables-{_key()}.pickle"


def _load() -> None:
    if _state["loaded"]:
        return
    _state["loaded"] = True
    path = cache_path()
    if path is None or not path.is_file():
        return
    try:
        with path.open("rb") as fh:
            data = pickle.load(fh)
        _state["codes"].update(data["codes"])
        _state["objects"].update(data["objects"])
    except Exception as exc:  # a truncated or foreign file: rebuild
        log.debug("classifier table cache %s unreadable: %s", path, exc)


def get(name: str) -> Any:
    """A cached object (the state of a built table), or ``None``."""
    _load()
    return _state["objects"].get(name)


def put(name: str, obj: Any) -> None:
    _state["objects"][name] = obj
    _state["dirty"] = True


def pattern(builder: Any, words: list[str], *args: Any) -> str:
    """``builder(words, *args)`` (a regex source such as ``trie_regex``), memoised in the cache:
    building a trie over thousands of names costs more than loading its result."""
    return built(builder, words, *args)


def built(builder: Any, words: list[str], *args: Any) -> Any:
    """``builder(words, *args)``, any picklable result, memoised in the cache as ``pattern``."""
    _load()
    digest = hashlib.sha1("\x00".join(words).encode())
    digest.update(repr(args).encode())
    key = f"{builder.__name__}:{digest.hexdigest()}"
    found = _state["objects"].get(key)
    if found is None:
        found = builder(words, *args)
        put(key, found)
    return found


def compile(pattern: str) -> re.Pattern[str]:
    """``re.compile(pattern)``, served from the cached compiled form when there is one."""
    _load()
    entry = _state["codes"].get(pattern)
    if entry is not None:
        try:
            import _sre

            flags, code, groups, groupindex, indexgroup = entry
            return _sre.compile(pattern, flags, code, groups - 1, groupindex, indexgroup)
        except Exception as exc:  # internals changed: compile normally
            log.debug("cached regex unusable: %s", exc)
    try:
        from re import _compiler, _parser  # type: ignore[attr-defined]

        parsed = _parser.parse(pattern, 0)
        code = [int(op) for op in _compiler._code(parsed, 0)]  # named constants -> ints
        groupindex = parsed.state.groupdict
        indexgroup = [None] * parsed.state.groups
        for k, i in groupindex.items():
            indexgroup[i] = k
        entry = (parsed.state.flags, code, parsed.state.groups, dict(groupindex), tuple(indexgroup))
        import _sre

        compiled = _sre.compile(pattern, entry[0], entry[1], entry[2] - 1, entry[3], entry[4])
        _state["codes"][pattern] = entry
        _state["dirty"] = True
        return compiled
    except Exception as exc:
        log.debug("precompiling a regex failed, compiling normally: %s", exc)
        return re.compile(pattern)


def save() -> None:
    """Write the cache if something new was built (atomically; errors are only logged)."""
    if not _state["dirty"]:
        return
    _state["dirty"] = False
    path = cache_path()
    if path is None:
        return
    try:
        import tempfile  # only when writing

        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"codes": _state["codes"], "objects": _state["objects"]}
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tables-")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except (OSError, pickle.PicklingError, TypeError) as exc:
        log.debug("classifier table cache not written to %s: %s", path, exc)
        if "tmp" in locals():
            Path(tmp).unlink(missing_ok=True)

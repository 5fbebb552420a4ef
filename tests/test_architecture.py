"""The shape of the code: the import contracts of pyproject.toml hold, no module imports itself
back through others, and no module grows past the size one can read without a stated reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("crawler", "spiders", "storage")
#: Lines past which a module must say at its top why it is one module ("Size: ...").
MAX_LINES = 600


def test_the_import_contracts_hold() -> None:
    # In a child: import-linter reads pyproject.toml from the working directory.
    code = "import sys; from importlinter.cli import lint_imports as l; sys.exit(l(no_cache=True))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def test_no_import_cycles() -> None:
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True, cache_dir=None)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle(tmp_path: Path, monkeypatch) -> None:
    package = tmp_path / "loopy"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from loopy import b\n")
    (package / "b.py").write_text("from loopy import c\n")
    (package / "c.py").write_text("import loopy.a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("loopy", cache_dir=None)
    assert _cycles(graph) == [["loopy.a", "loopy.b", "loopy.c"]]


def test_long_modules_say_why() -> None:
    unexplained = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            if text.count("\n") > MAX_LINES and "Size:" not in text[:3000]:
                unexplained.append(f"{path.relative_to(ROOT)}: {text.count(chr(10))} lines")
    assert unexplained == []


def test_page_objects_load_no_database_code() -> None:
    # Page objects share the store's link rule (storage.links); importing it must not load
    # SQLAlchemy or the rest of storage (storage/__init__.py loads its names on first use).
    code = (
        "import sys, crawler.pages.generic, crawler.pages.selectors; "
        "print(sorted(m for m in sys.modules if m.startswith(('sqlalchemy', 'storage.'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "['storage.links']"


def test_storage_exports_every_name_it_lists() -> None:
    import storage

    assert storage.__all__ == sorted(storage._EXPORTS)
    for name in storage.__all__:
        assert getattr(storage, name).__name__ == name


def test_storage_restates_no_project_default() -> None:
    # crawler/settings.py is the one place of defaults: storage takes its URL from the caller.
    import inspect

    from storage.db import Database, make_engine

    for function in (Database.__init__, make_engine):
        assert inspect.signature(function).parameters["url"].default is inspect.Parameter.empty


def test_the_writer_takes_its_batching_from_the_caller() -> None:
    import inspect

    from crawler.store_writers import ReactorBatches

    parameters = inspect.signature(ReactorBatches.__init__).parameters
    for name in ("batch_size", "linger"):
        assert parameters[name].default is inspect.Parameter.empty


def test_a_crawls_extensions_load_without_the_remote_control_servers_libraries() -> None:
    # Scrapy imports every listed extension to sort them, even a disabled one: its
    # RemoteControl would cost each crawl process aiohttp's import (crawler/project.py).
    code = (
        "import sys; from crawler.project import project_settings; "
        "s = project_settings(); s.get_component_priority_dict_with_base('EXTENSIONS'); "
        "print('aiohttp' in sys.modules, 'crawler.health' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.stdout.split() == ["False", "True"], result.stderr[-2000:]
    enabled = (
        "from crawler.project import project_settings; "
        "s = project_settings({'REMOTE_CONTROL_ENABLED': True}); "
        "print('scrapy.extensions.remote_control.RemoteControl' in s.getdict('EXTENSIONS_BASE'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", enabled], cwd=ROOT, capture_output=True, text=True
    )
    assert result.stdout.strip() == "True", result.stderr[-2000:]

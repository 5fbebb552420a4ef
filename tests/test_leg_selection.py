"""Which tests the PostgreSQL leg of `make test` reruns (tests/conftest.py)."""

import pytest

from tests.conftest import depends_on_backend


def test_a_test_that_opens_no_database_is_left_to_the_sqlite_leg(
    request: pytest.FixtureRequest, tmp_path
) -> None:
    assert not depends_on_backend(request.node)


def test_a_test_that_opens_the_database_under_test_runs_in_both(
    request: pytest.FixtureRequest, database_url: str
) -> None:
    assert depends_on_backend(request.node)


def test_a_module_that_reaches_the_backend_directly_runs_in_both() -> None:
    # Modules that call tests.databases themselves (new_database_url, BACKEND, ...) are kept
    # whole: their tests may create databases without the fixtures.
    import tests.test_crash_recovery as direct
    import tests.test_urls as pure
    from tests.conftest import _module_uses_test_databases

    assert _module_uses_test_databases(direct)
    assert not _module_uses_test_databases(pure)


def test_the_longest_first_list_names_test_modules_that_exist() -> None:
    # A renamed module would silently lose its place at the front of `make test`'s queue.
    from tests.conftest import LONGEST_FIRST
    from tests.support import ROOT

    missing = [path for path in LONGEST_FIRST if not (ROOT / path).is_file()]
    assert not missing
    assert len(set(LONGEST_FIRST)) == len(LONGEST_FIRST)


def test_modules_in_the_list_come_first_and_each_stays_whole(
    request: pytest.FixtureRequest,
) -> None:
    from tests.conftest import LONGEST_FIRST

    paths = [item.nodeid.split("::", 1)[0] for item in request.session.items]
    listed = [path for path in dict.fromkeys(paths) if path in LONGEST_FIRST]
    assert listed == [path for path in LONGEST_FIRST if path in paths]
    # The listed modules form the head of the run, and no module is split in two.
    assert paths[: len([p for p in paths if p in LONGEST_FIRST])] == [
        p for p in paths if p in LONGEST_FIRST
    ]
    runs = [path for n, path in enumerate(paths) if n == 0 or paths[n - 1] != path]
    assert len(runs) == len(set(runs))


def test_the_postgresql_leg_leaves_out_sqlite_only_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    import tests.conftest as conftest

    class Item:
        def __init__(self, name: str, marker: str | None) -> None:
            self.nodeid = f"tests/test_x.py::{name}"
            self.fixturenames = ("database_url",)
            self.module = None
            self._marker = marker

        def get_closest_marker(self, name: str) -> object | None:
            return object() if name == self._marker else None

    deselected: list = []
    config = types.SimpleNamespace(
        hook=types.SimpleNamespace(pytest_deselected=lambda items: deselected.extend(items))
    )
    items = [Item("plain", None), Item("plans", "sqlite_only")]
    monkeypatch.setattr(conftest, "BACKEND", "postgresql")
    monkeypatch.delenv("STNEWS_TEST_ALL_ON_POSTGRES", raising=False)
    conftest.pytest_collection_modifyitems(config, items)  # type: ignore[arg-type]
    assert [item.nodeid for item in items] == ["tests/test_x.py::plain"]
    assert [item.nodeid for item in deselected] == ["tests/test_x.py::plans"]

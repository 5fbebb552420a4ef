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

"""The declared dependencies and constraints.txt (the versions the suite was last run with)
agree: every dependency is pinned there, every pin satisfies pyproject.toml, and the
libraries stnews reaches into have an upper bound that the installed version is under."""

import tomllib
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support import ROOT

#: Libraries whose internals stnews uses; a new major or minor release must be tried first.
BOUNDED = ["scrapy", "twisted", "sqlalchemy", "apscheduler"]
#: The extras `make install` installs (`train` is only for retraining the model).
INSTALLED_EXTRAS = ["dev", "postgres", "distributed"]


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = list(project["dependencies"])
    for extra in INSTALLED_EXTRAS:
        lines += project["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


def _pins() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: not a pin: {line!r}"
            pins[canonicalize_name(name)] = Version(version)
    return pins


def test_every_dependency_is_pinned_within_its_range() -> None:
    pins = _pins()
    for requirement in _requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in constraints.txt (run `make constraints`)"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, outside {requirement}"
        )


@pytest.mark.parametrize("name", BOUNDED)
def test_libraries_stnews_reaches_into_have_a_tested_upper_bound(name: str) -> None:
    (requirement,) = [r for r in _requirements() if canonicalize_name(r.name) == name]
    assert any(spec.operator == "<" for spec in requirement.specifier), requirement
    installed = Version(metadata.version(name))
    assert requirement.specifier.contains(installed), f"{name} {installed} is outside {requirement}"
    assert _pins()[name] == installed, f"{name} {installed} installed, constraints.txt differs"

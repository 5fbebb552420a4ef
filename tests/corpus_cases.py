"""The `make_cases.py` of a folder of `fixtures/bad/`, loaded as a module of its own.

Several corpus folders have a script of that name; importing them through `sys.path` would
hand every test the first one loaded (`sys.modules` caches by name), so each is loaded from
its file under a name that says which folder it belongs to.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from tests.support import ROOT


def load_cases(folder: str) -> ModuleType:
    name = f"stnews_bad_{folder}_cases"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, ROOT / "fixtures/bad" / folder / "make_cases.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and annotations look their module up by name
    spec.loader.exec_module(module)
    return module

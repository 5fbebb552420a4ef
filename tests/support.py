"""Helpers shared by the tests: build Scrapy responses from the saved fixtures."""

import time
from collections.abc import Callable
from pathlib import Path

from scrapy import Request
from scrapy.http import Response
from scrapy.responsetypes import responsetypes

from crawler.replay import FixtureStore

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
#: The project's seed texts (real pages as a person copied them); see their PROVENANCE.md.
SEEDS = ROOT / "tests" / "data" / "seeds"

_stores: dict[Path, FixtureStore] = {}


def fixture_store(root: Path = FIXTURES) -> FixtureStore:
    if root not in _stores:
        _stores[root] = FixtureStore.load(root)
    return _stores[root]


def fixture_response(url: str, root: Path = FIXTURES, **request_kwargs) -> Response:
    """The saved response for ``url``, as the replay middleware would hand it to a spider."""
    saved = fixture_store(root).find(url)
    if saved is None:
        raise KeyError(f"no fixture for {url}")
    body = saved.body()
    cls = responsetypes.from_args(headers=saved.headers, url=saved.url, body=body[:4096])
    return cls(
        url=url,
        status=saved.status,
        headers=saved.headers,
        body=body,
        request=Request(url, **request_kwargs),
    )


def wait_for(
    condition: Callable[[], bool], what: str, timeout: float = 20, every: float = 0.05
) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def child_pids(pid: int) -> list[int]:
    """The live children of process ``pid`` (Linux: /proc/PID/task/PID/children); none once
    it is gone."""
    try:
        return [
            int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        ]
    except OSError:
        return []

"""One spider class per source of the sources file.

Each enabled ``[[source]]`` becomes a subclass of its spider: the class its ``spider`` key
names (a site that needs code), or the configurable spider of its kind. The subclass
carries the file's metadata as class attributes (``source_metadata``), so a spider module
holds only site code. ``spiders/registry.py`` puts these classes where Scrapy's spider
loader finds them (``SPIDER_MODULES``); tests and tools call ``spider_classes()``.
"""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path
from typing import Any

from scrapy import Spider

from crawler.pages import DetailPage, ListPage
from crawler.release_spider import ReleaseSpider, source_metadata
from crawler.sources import SourceConfig, SourcesFileError, cached_sources, sources_path

logger = logging.getLogger(__name__)

#: Where the generated classes live: a module of SPIDER_MODULES, so Scrapy lists them.
REGISTRY_MODULE = "spiders.registry"

#: The spider of each kind for sources without code of their own.
KIND_SPIDERS = {
    "html": "spiders.configured:ConfiguredSpider",
    "feed": "spiders.feed_source:FeedSourceSpider",
    "page": "spiders.configured:ConfiguredPageSpider",
}
#: Kinds whose spiders yield releases (and so have health expectations).
RELEASE_KINDS = frozenset({"html", "feed"})

_built: dict[tuple[str, int, int], dict[str, type[Spider]]] = {}


def spider_classes(path: str | os.PathLike[str] | None = None) -> dict[str, type[Spider]]:
    """Source name → spider class, for every enabled source of the file (default: the
    ``STNEWS_SOURCES`` file or ``sources.toml``). Raises SourcesFileError for a file that
    cannot be used, naming the source and field."""
    path = Path(path) if path else sources_path()
    sources = cached_sources(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _built:
        _built[key] = _build(sources, path)
    return dict(_built[key])


def page_objects(config: SourceConfig) -> tuple[ListPage, DetailPage]:
    """The list and detail page objects of a release source (its spider class names them)."""
    spider = spider_classes().get(config.name)
    if spider is None or not issubclass(spider, ReleaseSpider):
        return ListPage(config), DetailPage(config)
    return spider.page_objects(config)


def class_name(base: type, source: str) -> str:
    return f"{base.__name__}_{source}"


def _build(sources: list[SourceConfig], path: Path) -> dict[str, type[Spider]]:
    classes: dict[str, type[Spider]] = {}
    for config in sources:
        if not config.enabled:
            continue
        base = _base_class(config, path)
        if base is None:
            continue
        attributes = {
            **source_metadata(config),
            "__module__": REGISTRY_MODULE,
            "__qualname__": class_name(base, config.name),
            "__doc__": f"{config.agency} ({config.name}), as declared in {path.name}.",
        }
        if config.kind in RELEASE_KINDS:
            attributes["health"] = config.health
        attributes.update(_contracts(base, config))
        classes[config.name] = type(class_name(base, config.name), (base,), attributes)
    return classes


#: Where `scrapy check` finds pages for a source's contracts (run with REPLAY_DIR=fixtures).
CONTRACT_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _contracts(base: type, config: SourceConfig) -> dict[str, Any]:
    """Scrapy contracts for `scrapy check`, from the source's own fixture pages: its first
    list page must lead to releases, its first release page give one complete release.
    A source without fixtures (an installed package, a new source) has none."""
    from crawler.pages.fixtures import fixture_pages

    if config.kind not in RELEASE_KINDS or not issubclass(base, ReleaseSpider):
        return {}
    pages = {}
    for page in fixture_pages(CONTRACT_FIXTURES, config):
        pages.setdefault(page.role, page.url)
    start = config.start_url_strings[0] if config.kind == "feed" else pages.get("list")
    methods: dict[str, Any] = {}
    if start:

        def parse(self: Any, response: Any, **kwargs: Any) -> Any:
            return base.parse(self, response, **kwargs)

        parse.__doc__ = (f"{base.parse.__doc__ or ''}\n\n@url {start}\n"
                         "@returns requests 1\n")  # fmt: skip
        methods["parse"] = parse
    if pages.get("detail"):

        def parse_detail(self: Any, response: Any, **kwargs: Any) -> Any:
            return base.parse_detail(self, response, **kwargs)

        parse_detail.__doc__ = (
            f"{base.parse_detail.__doc__ or ''}\n\n@url {pages['detail']}\n"
            "@returns items 1 1\n@returns requests 0 0\n@scrapes title url published_raw body\n"
        )
        methods["parse_detail"] = parse_detail
    return methods


def _base_class(config: SourceConfig, path: Path) -> type[Spider] | None:
    if config.spider:
        try:
            return _import(config.spider)
        except (ImportError, AttributeError, TypeError) as exc:
            raise SourcesFileError(
                f"{path}: source {config.name!r}, field 'spider': cannot use "
                f"{config.spider!r}: {exc}"
            ) from exc
    spec = KIND_SPIDERS[config.kind]
    try:
        return _import(spec)
    except ModuleNotFoundError as exc:
        # The kind's spider is not installed (yet): the other sources still run.
        if exc.name != spec.partition(":")[0]:
            raise
        logger.warning(
            "source %r skipped: its kind %r needs %s, which is not available",
            config.name,
            config.kind,
            spec,
        )
        return None


def _import(spec: str) -> type[Spider]:
    module_name, _, class_attr = spec.partition(":")
    found = getattr(importlib.import_module(module_name), class_attr)
    if not (isinstance(found, type) and issubclass(found, Spider)):
        raise TypeError(f"{spec} is not a Scrapy spider class")
    return found

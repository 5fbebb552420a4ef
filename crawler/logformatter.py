"""Log lines that name a release by its URL instead of dumping the whole item (raw bytes)."""

from typing import Any

from scrapy import logformatter


def _short(item: Any) -> str:
    if hasattr(item, "get"):
        return f"<{item.get('source')} {item.get('url')}>"
    return repr(item)[:200]


class ReleaseLogFormatter(logformatter.LogFormatter):
    def scraped(self, item, response, spider):  # type: ignore[override]
        result = super().scraped(item, response, spider)
        result["args"] = {**result["args"], "item": _short(item)}
        return result

    def dropped(self, item, exception, response, spider):  # type: ignore[override]
        result = super().dropped(item, exception, response, spider)
        result["args"] = {**result["args"], "item": _short(item)}
        return result

    def item_error(self, item, exception, response, spider):  # type: ignore[override]
        result = super().item_error(item, exception, response, spider)
        result["args"] = {**result["args"], "item": _short(item)}
        return result

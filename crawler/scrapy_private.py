"""Every private Scrapy name stnews relies on, in one place.

Scrapy may rename or drop a name that starts with an underscore in any release, without a
deprecation warning. stnews needs a few: verified TLS with an extra CA bundle
(``crawler/tls.py``: Scrapy's public ``DOWNLOAD_VERIFY_CERTIFICATES`` cannot add a bundle)
and a shorter idle poll for Redis-fed workers (``crawler/service/workers.py``: the engine's
heartbeat has no setting). Nothing else imports a private Scrapy name; each is reached
through this module, and ``tests/test_scrapy_private.py`` checks every one against the
installed Scrapy, so an upgrade that changes one fails there, by name, not in a crawl.
"""

from __future__ import annotations

from typing import Any

from scrapy.core.downloader.contextfactory import (
    _get_creator_context,
    _ScrapyClientContextFactory,
)
from scrapy.core.engine import ExecutionEngine
from scrapy.utils.ssl import _get_keylog_filename, _set_keylog_callback

#: Scrapy's HTTPS context factory (``_ScrapyClientContextFactory``): its settings (ciphers,
#: TLS versions) and its tolerance of servers without secure renegotiation, to subclass.
ClientContextFactory = _ScrapyClientContextFactory
#: The OpenSSL context of a connection creator made by ``optionsForClientTLS``.
creator_context = _get_creator_context
#: ``SSLKEYLOGFILE`` support, as Scrapy's own factory does it.
keylog_filename = _get_keylog_filename
set_keylog_callback = _set_keylog_callback

#: Where a text response keeps the Selector that ``response.css``/``xpath`` parse it into,
#: and its body decoded (``response.text``).
CACHED_SELECTOR = "_cached_selector"
CACHED_TEXT = "_cached_ubody"

#: The engine's idle poll of its scheduler, seconds (a class attribute, no setting).
ENGINE_HEARTBEAT = "_SLOT_HEARTBEAT_INTERVAL"


def stop_verifying(factory: Any) -> None:
    """Turn off the factory's own verification (its not-verifying path, kept for the hosts
    a subclass opts out)."""
    factory._verify_certificates = False


def certificate_options(factory: Any) -> dict[str, Any]:
    """The keyword arguments of the factory's certificate options (ciphers, versions)."""
    return factory._get_cert_options_kwargs()


def set_engine_heartbeat(seconds: float) -> bool:
    """Set the engine's idle poll for this process; False when Scrapy has no such knob."""
    if not isinstance(getattr(ExecutionEngine, ENGINE_HEARTBEAT, None), int | float):
        return False
    setattr(ExecutionEngine, ENGINE_HEARTBEAT, seconds)
    return True


def forget_parsed_page(response: Any) -> None:
    """Drop the response's cached Selector, and with it the page's lxml tree, and its
    decoded text (as large as the body, up to four times for CJK pages).

    The Selector refers back to its response, so the pair is a reference cycle: refcounting
    never frees it, Python's cyclic collector does, late (a full collection is rare once a
    crawl holds a few hundred thousand objects), and the tree is C memory the collector does
    not count. A later ``response.css`` or ``response.text`` decodes and parses again."""
    for name in (CACHED_SELECTOR, CACHED_TEXT):
        if getattr(response, name, None) is not None:
            setattr(response, name, None)

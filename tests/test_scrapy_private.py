"""The private Scrapy names stnews relies on (crawler/scrapy_private.py) still exist and
still behave as stnews uses them. A Scrapy upgrade that renames or changes one fails here,
naming it, instead of in a crawl."""

from __future__ import annotations

import inspect
import re

from OpenSSL import SSL
from scrapy.core.engine import ExecutionEngine
from scrapy.utils.test import get_crawler
from twisted.internet.ssl import optionsForClientTLS

from crawler import scrapy_private
from tests.support import ROOT


def test_the_context_factory_has_the_verification_switch_and_options_tls_uses() -> None:
    factory = scrapy_private.ClientContextFactory.from_crawler(
        get_crawler(settings_dict={"DOWNLOAD_VERIFY_CERTIFICATES": True})
    )
    assert factory._verify_certificates is True  # the attribute stop_verifying sets
    # The parent's creatorForNetloc reads it: its not-verifying path is a different class.
    verifying = type(factory.creatorForNetloc(b"example.org", 443))
    scrapy_private.stop_verifying(factory)
    assert factory._verify_certificates is False
    assert type(factory.creatorForNetloc(b"example.org", 443)) is not verifying
    options = scrapy_private.certificate_options(factory)
    assert options["fixBrokenPeers"] is True  # old servers without RFC 5746 still connect


def test_the_creator_context_is_an_openssl_context() -> None:
    creator = optionsForClientTLS(hostname="example.org")
    assert isinstance(scrapy_private.creator_context(creator), SSL.Context)


def test_keylog_follows_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("SSLKEYLOGFILE", raising=False)
    assert scrapy_private.keylog_filename() is None
    monkeypatch.setenv("SSLKEYLOGFILE", str(tmp_path / "keys"))
    assert scrapy_private.keylog_filename() == str(tmp_path / "keys")
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    scrapy_private.set_keylog_callback(context)  # accepts a plain OpenSSL context


def test_the_engine_heartbeat_is_a_class_attribute_the_engine_reads() -> None:
    name = scrapy_private.ENGINE_HEARTBEAT
    before = getattr(ExecutionEngine, name)
    assert isinstance(before, int | float)
    assert f"self.{name}" in inspect.getsource(ExecutionEngine)  # read, not only defined
    try:
        assert scrapy_private.set_engine_heartbeat(0.25) is True
        assert getattr(ExecutionEngine, name) == 0.25
    finally:
        setattr(ExecutionEngine, name, before)


def test_forgetting_the_parsed_page_frees_it_without_the_cyclic_collector() -> None:
    import gc
    import weakref

    from scrapy.http import HtmlResponse

    response = HtmlResponse("https://example.org/", body=b"<p>one</p>", encoding="utf-8")
    assert response.css("p::text").get() == "one"
    selector = weakref.ref(getattr(response, scrapy_private.CACHED_SELECTOR))
    assert selector() is response.selector  # the attribute is the cache .css reads
    assert getattr(response, scrapy_private.CACHED_TEXT) is response.text  # the text's cache
    gc.disable()
    try:
        scrapy_private.forget_parsed_page(response)
        assert getattr(response, scrapy_private.CACHED_TEXT) is None
        assert selector() is None  # freed by refcount: the cycle is broken
        alive = weakref.ref(response)
        del response
        assert alive() is None
    finally:
        gc.enable()


def test_without_forgetting_a_parsed_response_outlives_its_last_reference() -> None:
    # Why forget_parsed_page exists: the response and its Selector are a reference cycle.
    # Should Scrapy break it itself one day, the middleware is no longer needed.
    import gc
    import weakref

    from scrapy.http import HtmlResponse

    response = HtmlResponse("https://example.org/", body=b"<p>one</p>", encoding="utf-8")
    response.css("p")
    alive = weakref.ref(response)
    gc.disable()
    try:
        del response
        assert alive() is not None
    finally:
        gc.enable()
        gc.collect()


_SCRAPY_IMPORT = re.compile(r"^\s*from scrapy[\w.]* import (\([^)]*\)|[^\n]*)", re.M)
_PRIVATE_PATH = re.compile(r"\bscrapy\.[\w.]*\._")


def uses_private_scrapy_names(text: str) -> bool:
    imported = " ".join(match.group(1) for match in _SCRAPY_IMPORT.finditer(text))
    return bool(re.search(r"\b_[a-zA-Z]", imported) or _PRIVATE_PATH.search(text))


def test_the_scan_sees_the_shims_own_imports() -> None:
    assert uses_private_scrapy_names((ROOT / "crawler" / "scrapy_private.py").read_text())
    assert not uses_private_scrapy_names("from scrapy.http import (\n    Request,\n)\n")


def test_no_other_module_uses_a_private_scrapy_name() -> None:
    found = []
    for folder in ("crawler", "spiders", "storage"):
        for path in (ROOT / folder).rglob("*.py"):
            if path == ROOT / "crawler" / "scrapy_private.py":
                continue
            text = path.read_text(encoding="utf-8")
            names = (
                "_verify_certificates",
                "_get_cert_options",
                scrapy_private.ENGINE_HEARTBEAT,
                scrapy_private.CACHED_SELECTOR,
                scrapy_private.CACHED_TEXT,
            )
            if uses_private_scrapy_names(text):
                found.append(str(path.relative_to(ROOT)))
            found += [f"{path.relative_to(ROOT)}: {name}" for name in names if name in text]
    assert found == []


def test_deprecations_raised_in_stnews_modules_fail_the_tests() -> None:
    # pyproject's filterwarnings: shown from other code, errors from crawler, spiders, storage.
    import warnings

    from scrapy.exceptions import ScrapyDeprecationWarning

    def raise_in(module: str, category: type[Warning]) -> None:
        warnings.warn_explicit("old API", category, f"{module}.py", 1, module=module)

    for module in ("crawler.tls", "spiders.msit", "storage"):
        for category in (DeprecationWarning, ScrapyDeprecationWarning):
            try:
                raise_in(module, category)
            except category:
                continue
            raise AssertionError(f"{category.__name__} from {module} did not fail")
    with warnings.catch_warnings(record=True) as shown:  # the filters stay pytest's
        raise_in("scrapy.core.engine", DeprecationWarning)
    assert len(shown) == 1  # shown, not raised

"""SSRF: requests and redirects stay on a source's domains and off private addresses.

No test here connects anywhere but 127.0.0.1: private, link-local and reserved addresses
appear only as strings (in URLs and fixtures) that must be refused before any connection.
Name resolution is faked, except for `localhost` (answered by /etc/hosts).
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.utils.test import get_crawler
from twisted.internet.error import DNSLookupError

from crawler.project import project_settings
from crawler.safety import (
    NetworkSafetyMiddleware,
    Refusal,
    host_allowed,
    host_kind,
    parse_permission,
    permitted,
)
from tests.bad_spider import BadSiteSpider
from tests.crawl_support import run_cli
from tests.databases import new_database_url
from tests.safety_support import Crawl, copy_corpus, crawl, page, serve, stored_releases
from tests.support import FIXTURES, ROOT

BAD = "https://www.badsite.test"


def test_the_project_settings_enable_the_safety_middlewares() -> None:
    settings = project_settings()
    middlewares = settings.getdict("DOWNLOADER_MIDDLEWARES")
    assert middlewares.get("crawler.safety.NetworkSafetyMiddleware") == 40
    assert middlewares.get("crawler.safety.ResponseSanityMiddleware") == 575
    assert parse_permission(settings.get("ALLOW_PRIVATE_ADDRESSES")) is False
    assert settings.getint("DOWNLOAD_MAXSIZE") == 16 * 1024 * 1024
    assert settings.getint("DOWNLOAD_TIMEOUT") == 30


@pytest.mark.slow
def test_a_crawl_opens_no_console_that_runs_code(tmp_path: Path) -> None:
    """Neither Scrapy's telnet console nor its remote-control HTTP server (on by default)."""
    result = run_cli(
        "crawl", "ey", "--replay", str(FIXTURES), "-s", "LOG_LEVEL=INFO",
        db=new_database_url(tmp_path),
    )  # fmt: skip
    enabled = result.stderr.split("Enabled extensions:", 1)[1].split("]", 1)[0]
    assert "CoreStats" in enabled  # the list is there, and read whole
    assert "TelnetConsole" not in enabled and "RemoteControl" not in enabled
    assert "listening" not in result.stderr


# --- addresses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("::1", "loopback"),
        ("[::1]", "loopback"),
        ("fc00::1", "unique local"),
        ("fd12:3456::1", "unique local"),
        ("fe80::1%eth0", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "shared (carrier-grade NAT)"),
        ("192.0.2.10", "reserved"),  # documentation range: not public either
        # Other spellings of internal addresses that resolvers accept.
        ("localhost", "loopback"),
        ("LOCALHOST.", "loopback"),
        ("api.localhost", "loopback"),
        ("0x7f.1", "loopback"),
        ("2130706433", "loopback"),
        ("0177.0.0.1", "loopback"),
        ("127.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
        ("2002:c0a8:0001::1", "private"),  # 6to4 of 192.168.0.1
        # Public.
        ("8.8.8.8", None),
        ("172.32.0.1", None),
        ("2001:4860:4860::8888", None),
        ("www.nstc.gov.tw", None),
        ("localhost.example.org", None),
    ],
)
def test_host_kind(host: str, kind: str | None) -> None:
    assert host_kind(host) == kind


def test_allowed_domains_match_hosts_and_their_subdomains() -> None:
    domains = ["www.nstc.gov.tw", "msit.go.kr", "127.0.0.1:8080"]
    assert host_allowed("www.nstc.gov.tw", domains)
    assert host_allowed("WWW.NSTC.GOV.TW.", domains)
    assert host_allowed("www.msit.go.kr", domains)
    assert host_allowed("127.0.0.1", domains)
    assert not host_allowed("nstc.gov.tw", domains)
    assert not host_allowed("evilmsit.go.kr", domains)
    assert not host_allowed("www.nstc.gov.tw.evil.test", domains)
    assert host_allowed("anything.test", [])  # no allowed_domains: no domain rule


def test_permissions() -> None:
    assert parse_permission(None) is False
    assert parse_permission("False") is False
    assert parse_permission("True") is True
    assert parse_permission(True) is True
    only_loopback = parse_permission("127.0.0.1")
    assert permitted("127.0.0.1", only_loopback)
    assert permitted("localhost", only_loopback)
    assert permitted("::ffff:127.0.0.1", only_loopback)
    assert not permitted("127.0.0.2", only_loopback)
    assert not permitted("192.168.0.1", only_loopback)
    intranet = parse_permission(["10.8.0.0/16", "::1"])
    assert permitted("10.8.1.1", intranet) and not permitted("10.9.0.1", intranet)
    with pytest.raises(ValueError):
        parse_permission("127.0.0.1,not-a-network")


# --- the middleware, in process ----------------------------------------------------------------

Resolver = Callable[[str], Awaitable[list[str]]]


def middleware(
    settings: dict[str, Any] | None = None,
    resolve: Resolver | None = None,
    **spider_args: Any,
) -> tuple[NetworkSafetyMiddleware, Crawler]:
    crawler = get_crawler(BadSiteSpider, settings_dict=settings or {})
    crawler.spider = BadSiteSpider.from_crawler(crawler, **spider_args)
    return NetworkSafetyMiddleware(crawler, resolve=resolve), crawler


def resolving(answers: dict[str, list[str]]) -> tuple[Resolver, list[str]]:
    asked: list[str] = []

    async def resolve(host: str) -> list[str]:
        asked.append(host)
        if host not in answers:
            raise DNSLookupError(host)
        return answers[host]

    return resolve, asked


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.1.2.3/x", "private-address"),
        ("http://169.254.169.254/latest/meta-data", "private-address"),
        ("http://[::1]/", "private-address"),
        ("http://localhost/", "private-address"),
        ("http://0x7f.1/", "private-address"),
        ("https://evil.test/page", "offsite"),
        ("https://www.badsite.test.evil.test/", "offsite"),
        ("file:///etc/passwd", "scheme"),
        ("ftp://www.badsite.test/file", "scheme"),
        ("data:text/html,<h1>x</h1>", "scheme"),
    ],
)
def test_refused_without_any_lookup(
    url: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    mw, crawler = middleware(resolve=resolving({})[0])
    # dont_filter (start requests, their redirects) bypasses Scrapy's offsite filter only.
    request = Request(url, dont_filter=True)
    with caplog.at_level(logging.WARNING), pytest.raises(Refusal) as refused:
        mw.check(request)
    assert refused.value.reason == reason
    assert crawler.stats.get_value(f"safety/refused/{reason}") == 1
    assert f"Refused {request.url} ({reason})" in caplog.text


def test_allow_offsite_lifts_the_domain_rule_only() -> None:
    # Attachments on a file host ask for it; a private address stays refused.
    mw, _ = middleware()
    mw.check(Request("https://files.example.org/a.pdf", meta={"allow_offsite": True}))
    with pytest.raises(Refusal, match="private-address"):
        mw.check(Request("http://10.1.2.3/a.pdf", meta={"allow_offsite": True}))
    with pytest.raises(Refusal, match="scheme"):
        mw.check(Request("file:///etc/passwd", meta={"allow_offsite": True}))


def test_a_start_url_on_a_private_address_is_not_a_permission() -> None:
    # `-a start_url=` adds the host to allowed_domains; reaching it still needs the setting.
    mw, _ = middleware(start_url="http://127.0.0.1:8000/list")
    assert "127.0.0.1" in mw.crawler.spider.allowed_domains
    with pytest.raises(Refusal, match=r"127\.0\.0\.1 is a loopback address"):
        mw.check(Request("http://127.0.0.1:8000/list", dont_filter=True))
    permission = {"ALLOW_PRIVATE_ADDRESSES": "127.0.0.1"}
    allowed, _ = middleware(permission, start_url="http://127.0.0.1:8000/list")
    allowed.check(Request("http://127.0.0.1:8000/list"))
    with pytest.raises(Refusal, match="private-address"):
        allowed.check(Request("http://10.1.2.3/"))  # the permission names 127.0.0.1 only


def test_an_invalid_spider_permission_permits_nothing() -> None:
    class TypoSpider(BadSiteSpider):
        allow_private_addresses = "127.0.0.1/33"

    crawler = get_crawler(TypoSpider)
    crawler.spider = TypoSpider.from_crawler(crawler)
    with pytest.raises(Refusal):
        NetworkSafetyMiddleware(crawler).check(Request("http://127.0.0.1/", dont_filter=True))


def test_the_spider_attribute_permits_too() -> None:
    class IntranetSpider(BadSiteSpider):
        allowed_domains = ["10.8.0.5"]
        allow_private_addresses = ["10.8.0.0/16"]

    crawler = get_crawler(IntranetSpider)
    crawler.spider = IntranetSpider.from_crawler(crawler)
    mw = NetworkSafetyMiddleware(crawler)
    mw.check(Request("http://10.8.0.5/news"))
    with pytest.raises(Refusal):
        mw.check(Request("http://10.9.0.5/news"))


def test_a_name_resolving_to_a_private_address_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    resolve, asked = resolving({"www.badsite.test": ["10.0.0.5"]})
    mw, crawler = middleware(resolve=resolve)
    with caplog.at_level(logging.WARNING), pytest.raises(Refusal):
        asyncio.run(mw.process_request(Request(f"{BAD}/page")))
    assert asked == ["www.badsite.test"]
    assert crawler.stats.get_value("safety/refused/private-address") == 1
    assert "www.badsite.test resolves to 10.0.0.5, a private address" in caplog.text


def test_a_name_resolving_to_a_public_address_passes() -> None:
    resolve, asked = resolving({"www.badsite.test": ["8.8.4.4"]})
    mw, crawler = middleware(resolve=resolve)
    assert asyncio.run(mw.process_request(Request(f"{BAD}/page"))) is None
    assert asked == ["www.badsite.test"]
    assert not crawler.stats.get_value("safety/refused/private-address")


def test_a_failed_lookup_fails_the_request_as_the_download_would() -> None:
    # DNSLookupError is what the retry middleware retries; nothing is refused.
    mw, _ = middleware(resolve=resolving({})[0])
    with pytest.raises(DNSLookupError):
        asyncio.run(mw.process_request(Request(f"{BAD}/page")))


@pytest.mark.parametrize(
    "settings",
    [{"REPLAY_DIR": "fixtures"}, {"ALLOW_PRIVATE_ADDRESSES": "True"}],
    ids=["replay", "all-private-allowed"],
)
def test_no_lookup_when_there_is_nothing_to_protect(settings: dict[str, Any]) -> None:
    resolve, asked = resolving({})
    mw, _ = middleware(settings, resolve=resolve)
    asyncio.run(mw.process_request(Request(f"{BAD}/page")))
    assert asked == []


def test_the_lookup_is_scrapys_own_and_fills_its_dns_cache() -> None:
    """The address checked is the one the download connects to: the same cached answer."""
    script = (
        "import asyncio\n"
        "from scrapy.utils.reactor import install_reactor\n"
        "install_reactor('twisted.internet.asyncioreactor.AsyncioSelectorReactor')\n"
        "from twisted.internet import reactor, defer\n"
        "from scrapy.resolver import CachingThreadedResolver, dnscache\n"
        "from crawler.safety import reactor_resolve\n"
        "CachingThreadedResolver(reactor, 100, 5.0).install_on_reactor()\n"
        "result = []\n"
        "async def main():\n"
        "    result.extend(await reactor_resolve('localhost'))\n"
        "d = defer.Deferred.fromFuture(asyncio.ensure_future(main()))\n"
        "d.addBoth(lambda _: reactor.stop())\n"
        "reactor.run()\n"
        "print(result, dnscache.get('localhost'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['127.0.0.1'] 127.0.0.1"


# --- whole crawls ------------------------------------------------------------------------------

LEAK = "LEAKED"


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Crawl, list[dict]]:
    """The badsite fixtures: a list of links to forbidden places, each with a saved page."""
    tmp = tmp_path_factory.mktemp("ssrf")
    replay = copy_corpus(tmp / "replay", "badsite")
    db = new_database_url(tmp)
    result = crawl(
        db, tmp, replay=replay, spider_modules="tests.bad_spider", settings={"LOG_LEVEL": "DEBUG"}
    )
    return result, stored(db)


def stored(db: str) -> list[dict]:
    return list(stored_releases(db).values())


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.1.2.3/x", "private-address"),
        ("http://169.254.169.254/latest/meta-data", "private-address"),
        ("http://[::1]/", "private-address"),
        ("http://localhost/", "private-address"),
        ("http://0x7f.1/admin", "private-address"),
        ("http://[::ffff:192.168.1.1]/", "private-address"),
        ("http://192.168.0.1/", "private-address"),  # the target of a 301 from an allowed page
        ("https://evil.test/releases/phish", "offsite"),
        ("https://evil.test/steal", "offsite"),  # the target of a 302 (and of a start URL's)
        ("file:///etc/passwd", "scheme"),
    ],
)
def test_replayed_links_and_redirects_are_refused_not_replayed(
    replayed: tuple[Crawl, list[dict]], url: str, reason: str
) -> None:
    result, _ = replayed
    assert f"Refused {url} ({reason})" in result.stderr  # a warning, once per host
    assert f"Crawled (200) <GET {url}>" not in result.stderr  # not even from a saved file
    host = url.split("/")[2] if "://" in url else ""
    assert f"WARNING: Refused {url.split('://')[0]}://{host}" in result.stderr


def test_replayed_crawl_stores_only_the_public_release(replayed: tuple[Crawl, list[dict]]) -> None:
    result, releases = replayed
    assert result.summary["badsite"]["status"] == "finished"
    assert [r["title"] for r in releases] == ["Public Release"]
    assert not any(LEAK in r["title"] + r["body"] for r in releases)
    assert result.stats_with("badsite", "safety/refused/") == {
        "private-address": 7,
        "offsite": 3,  # a link, a redirect, a start URL's redirect
        "scheme": 1,  # file:; Scrapy refuses to build a request for javascript: at all
    }
    # Only the list, the public page and the two redirecting pages were answered.
    assert result.stat("badsite", "replay/hit") == 5


def test_redirects_are_checked_again(replayed: tuple[Crawl, list[dict]]) -> None:
    # Scrapy's redirect middleware builds the new request; it is checked like any other.
    log = replayed[0].stderr
    redirects = {
        "http://192.168.0.1/": f"{BAD}/releases/to-private",
        "https://evil.test/steal": f"{BAD}/releases/to-offsite",
    }
    for target, source in redirects.items():
        assert f"to <GET {target}> from <GET {source}>" in log
        assert f"Crawled (200) <GET {target}>" not in log
    # The start URL's redirect too, though start requests skip Scrapy's offsite filter.
    assert f"to <GET https://evil.test/steal> from <GET {BAD}/start-redirect>" in log
    assert log.count("Refused https://evil.test/steal (offsite)") == 2
    assert log.count("WARNING: Refused https://evil.test/steal (offsite)") == 1  # then debug


def live_crawl(tmp: Path, origin: str, settings: dict[str, str]) -> tuple[Crawl, list[dict]]:
    db = new_database_url(tmp)
    result = crawl(
        db,
        tmp,
        "badsite",
        "-a",
        f"start_url={origin}/list",
        spider_modules="tests.bad_spider",
        settings={"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False", **settings},
    )
    return result, stored(db)


DETAIL = (
    "<html><body><h1>{0}</h1><p class='date'>2024-05-01</p>"
    "<div class='body'><p>{0}.</p></div></body></html>"
)


@pytest.mark.slow
def test_a_local_server_needs_the_explicit_permission(tmp_path: Path) -> None:
    links = "".join(
        f"<a class='release' href='{path}'>x</a>"
        for path in ("/ok", "/to-private", "/to-metadata", "/to-offsite")
    )
    routes = {
        "/list": page(f"<html><body>{links}</body></html>"),
        "/ok": page(DETAIL.format("Local Release")),
        "/to-private": page("", 301, Location="http://192.168.0.1/"),
        "/to-metadata": page("", 302, Location="http://169.254.169.254/latest/meta-data"),
        "/to-offsite": page("", 302, Location="https://evil.test/"),
    }
    with serve(routes) as site:
        refused, nothing = live_crawl(tmp_path / "refused", site.origin, {})
        assert site.hits == {}  # not even robots.txt: refused before connecting
        allowed, releases = live_crawl(
            tmp_path / "allowed", site.origin, {"ALLOW_PRIVATE_ADDRESSES": "127.0.0.1"}
        )
    assert refused.summary["badsite"]["status"] == "finished"
    assert f"Refused {site.origin}/list (private-address)" in refused.stderr
    assert nothing == []

    assert allowed.summary["badsite"]["status"] == "finished"
    assert [r["title"] for r in releases] == ["Local Release"]
    # The redirects were followed to their targets only as far as the check: no
    # connection was tried (a download error would say so).
    assert allowed.stats_with("badsite", "safety/refused/") == {
        "private-address": 2,
        "offsite": 1,
    }
    assert allowed.stat("badsite", "downloader/exception_count") == 0
    for target in ("http://192.168.0.1/", "http://169.254.169.254/latest/meta-data"):
        assert f"Refused {target} (private-address)" in allowed.stderr

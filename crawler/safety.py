"""What a crawl may connect to, and what it accepts back.

A crawler follows whatever links and redirects other people's pages hand it, unattended.
Two downloader middlewares keep that from opening a door or feeding the pipelines garbage:

``NetworkSafetyMiddleware`` (request side, before robots.txt is fetched)
    Refuses any request that is not http(s), whose host is not one of the spider's
    ``allowed_domains`` (also for ``dont_filter`` start requests and redirects, which
    Scrapy's own offsite filter lets through; only a request's explicit ``allow_offsite``
    meta key lifts this rule, as in Scrapy), or whose host is a private, loopback,
    link-local or otherwise non-public address: an IP literal (in any form the resolver
    accepts, e.g. ``0x7f.1``), a ``localhost`` name, or, when fetching live, a name that
    resolves to one. Checked when a request is scheduled (links, redirects, meta refreshes)
    and again just before download (every request, robots.txt included). The setting
    ``ALLOW_PRIVATE_ADDRESSES`` or the spider attribute ``allow_private_addresses`` lifts
    the address rule, for every address (``True``) or for some (``"127.0.0.1"``, a list
    of networks): tests and benchmarks against 127.0.0.1, an intranet source. Never the
    other rules.

``ResponseSanityMiddleware`` (response side, after decompression, before the spider)
    Refuses bodies above ``DOWNLOAD_MAXSIZE`` (the download handler cancels those live; a
    replayed one never passes through it), empty ``200`` pages and binary data served as
    text; re-decodes a page whose declared charset cannot be right, and removes control
    characters (which lxml refuses in the trees spiders edit) from pages.

Every refusal raises ``IgnoreRequest``, increments ``safety/refused/<reason>`` and logs a
warning naming the URL (network refusals once per reason and host, later ones at debug
level: one page can link thousands of forbidden addresses). Repairs count in
``safety/repaired/<what>``.

DNS rebinding: names are resolved through the reactor's resolver, which is the one the
download then uses; with Scrapy's DNS cache on (``DNSCACHE_ENABLED``, the default) the
download connects to the very address that was checked. With the cache off, an entry
evicted in between, or an HTTP proxy (which resolves names itself), a name can resolve
differently at connect time; a server that rebinds its name could then reach a private
address. Replayed crawls resolve nothing: they never connect anywhere.

Size: over 600 lines because the request-side (network) and response-side (content) rules
share the refusal plumbing and the stats; the charset and nesting repairs they call live in
``crawler.charset`` and ``crawler.nesting``.
"""

from __future__ import annotations

import codecs
import ipaddress
import logging
import re
import socket
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from charset_normalizer import from_bytes
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.responsetypes import responsetypes
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom
from w3lib.encoding import resolve_encoding as w3lib_resolve_encoding

from crawler.charset import TRUSTED_DETECTIONS, codec_name, mostly_utf8, repair_utf8
from crawler.nesting import MAX_DEPTH, flattened, nests_deeper

logger = logging.getLogger(__name__)

STAT_PREFIX = "safety/refused"
ALLOWED_SCHEMES = frozenset({"http", "https"})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Address blocks a crawler has no business connecting to, with the name used in log lines.
# Anything else that is not globally routable is refused as "reserved".
_BLOCKED_NETWORKS: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.ip_network(network), kind)
    for network, kind in (
        ("0.0.0.0/8", "unspecified"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared (carrier-grade NAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.168.0.0/16", "private"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("fc00::/7", "unique local"),
        ("fe80::/10", "link-local"),
        ("ff00::/8", "multicast"),
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Host names that are loopback by definition (RFC 6761), whatever a resolver says.
_LOOPBACK_NAMES = re.compile(r"^(?:localhost|localhost\.localdomain|.+\.localhost)$")
# What inet_aton reads as an IPv4 address besides the dotted quad: 2130706433, 0x7f.1, 0177.1.
_NUMERIC_HOST = re.compile(r"^(?:0x[0-9a-f]*|\d+)(?:\.(?:0x[0-9a-f]*|\d+)){0,3}$")


def parse_ip(host: str) -> IPAddress | None:
    """The address a host part stands for when it is an IP literal, else None.

    Accepts every spelling a resolver would: IPv6 in brackets or with a zone
    (``fe80::1%eth0``), and the decimal, octal and hex IPv4 forms of ``inet_aton``.
    """
    host = host.strip("[]").rstrip(".").lower()
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if _NUMERIC_HOST.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))  # no lookup: a parser
        except OSError:
            return None
    return None


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 spelling reaches (mapped, 6to4, NAT64), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    embedded = ip.ipv4_mapped or ip.sixtofour
    if embedded is None and ip in _NAT64:
        embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return embedded


def address_kind(ip: IPAddress) -> str | None:
    """What kind of non-public address ``ip`` is ("loopback", "private", ...), or None."""
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        return address_kind(embedded)  # it reaches that address: judge that one
    for network, kind in _BLOCKED_NETWORKS:
        if ip.version == network.version and ip in network:
            return kind
    return None if ip.is_global else "reserved"


def host_kind(host: str) -> str | None:
    """The kind of non-public address a host part names without any lookup, or None."""
    ip = parse_ip(host)
    if ip is not None:
        return address_kind(ip)
    if _LOOPBACK_NAMES.match(host.rstrip(".").lower()):
        return "loopback"
    return None


Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Private addresses a crawl may reach: all (True), none (False), or these networks.
Permission = bool | tuple[Network, ...]
_LOOPBACK_ADDRESSES = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


def parse_permission(value: Any) -> Permission:
    """``ALLOW_PRIVATE_ADDRESSES`` (or a spider's ``allow_private_addresses``) as a permission.

    True/False, or networks and addresses ("127.0.0.1", "10.8.0.0/16"), as a list or a
    comma-separated string (``-s ALLOW_PRIVATE_ADDRESSES=127.0.0.1``). A wrong value is an
    error at start, not a silently open door.
    """
    if value is None or isinstance(value, bool | int):
        return bool(value)
    if isinstance(value, str):
        words = value.strip().lower()
        if words in ("", "0", "false", "no", "off", "none"):
            return False
        if words in ("1", "true", "yes", "on"):
            return True
        value = value.split(",")
    return tuple(ipaddress.ip_network(str(item).strip(), strict=False) for item in value)


def _union(first: Permission, second: Permission) -> Permission:
    if first is True or second is True:
        return True
    return tuple(first or ()) + tuple(second or ())


def permitted(host: str, permission: Permission) -> bool:
    """Whether ``permission`` lets a crawl reach ``host``, a non-public address or name."""
    if isinstance(permission, bool):
        return permission
    ip = parse_ip(host)
    candidates = [ip] if ip is not None else list(_LOOPBACK_ADDRESSES)  # localhost names
    candidates += [v4 for v4 in map(_embedded_ipv4, list(candidates)) if v4 is not None]
    return any(
        address in network
        for address in candidates
        for network in permission
        if address.version == network.version
    )


def host_allowed(host: str, allowed_domains: list[str] | tuple[str, ...]) -> bool:
    """Whether ``host`` is one of the domains or below one (Scrapy's offsite rule)."""
    if not allowed_domains:
        return True
    host = host.rstrip(".").lower()
    for entry in allowed_domains:
        if not entry:
            continue
        domain = entry.lower().rstrip(".")
        if ":" in domain and not domain.startswith("["):
            domain = domain.rsplit(":", 1)[0]  # "host:port" entries: the port is no filter here
        if host == domain or host.endswith("." + domain):
            return True
    return False


class Refusal(IgnoreRequest):
    """A request refused by a safety rule; ``reason`` names the rule."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class _Refusing:
    """Counting, logging and raising refusals."""

    #: Warn about the first refusal per reason and host only (later ones: debug level).
    #: A page can link thousands of forbidden addresses; each refused response is news.
    warn_once_per_host = False

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.warned: set[tuple[str, str]] = set()

    def refuse(self, request: Request, reason: str, why: str) -> Refusal:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"{STAT_PREFIX}/{reason}")
        level = logging.WARNING
        if self.warn_once_per_host:
            key = (reason, urlparse_cached(request).hostname or "")
            level = logging.DEBUG if key in self.warned else logging.WARNING
            self.warned.add(key)
        logger.log(
            level,
            "Refused %(url)s (%(reason)s): %(why)s",
            {"url": request.url, "reason": reason, "why": why},
            extra={"spider": self.crawler.spider},
        )
        return Refusal(reason, f"{reason}: {why}")


#: Resolves a host name to the IPv4/IPv6 address strings a download would connect to.
Resolver = Callable[[str], Awaitable[list[str]]]


async def reactor_resolve(host: str) -> list[str]:
    """The address the download will use: the reactor's resolver (Scrapy's DNS cache)."""
    from twisted.internet import reactor

    address = await maybe_deferred_to_future(reactor.resolve(host))  # type: ignore[attr-defined]
    return [address]


class NetworkSafetyMiddleware(_Refusing):
    """Downloader middleware: http(s) only, allowed domains only, no private addresses.

    See the module docstring for the rules; ``resolve`` is replaceable for tests.
    """

    warn_once_per_host = True

    def __init__(self, crawler: Crawler, resolve: Resolver | None = None) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self.allow_private = parse_permission(settings.get("ALLOW_PRIVATE_ADDRESSES"))
        # Replayed responses come from files: there is no connection to protect, and a
        # lookup would be network traffic the replay promises not to make.
        self.resolve_names = not settings.get("REPLAY_DIR")
        self.resolve: Resolver = resolve or reactor_resolve
        self._spider_permission: tuple[Spider | None, Permission] = (None, False)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NetworkSafetyMiddleware:
        middleware = cls(crawler)
        # Links and redirects are checked as they are scheduled, as Scrapy's offsite filter
        # does, so that they are refused (and counted) even when that filter drops them too.
        crawler.signals.connect(middleware.request_scheduled, signal=signals.request_scheduled)
        return middleware

    def permission(self) -> Permission:
        """The setting's permission joined with the spider's ``allow_private_addresses``."""
        spider = self.crawler.spider
        if self._spider_permission[0] is not spider:
            try:
                own = parse_permission(getattr(spider, "allow_private_addresses", False))
            except ValueError as exc:  # refuse, rather than let a typo open the door
                logger.error("%s.allow_private_addresses is not valid: %s", spider, exc)
                own = False
            self._spider_permission = (spider, _union(self.allow_private, own))
        return self._spider_permission[1]

    def request_scheduled(self, request: Request, spider: Spider) -> None:
        self.check(request)

    def check(self, request: Request) -> None:
        """Every rule that needs no lookup; raises a Refusal."""
        parts = urlparse_cached(request)
        if parts.scheme not in ALLOWED_SCHEMES:
            raise self.refuse(request, "scheme", f"scheme {parts.scheme or '(none)'!r}")
        host = parts.hostname or ""
        if not host:
            raise self.refuse(request, "scheme", "no host")
        kind = host_kind(host)
        if kind and not permitted(host, self.permission()):
            raise self.refuse(request, "private-address", f"{host} is a {kind} address")
        allowed = list(getattr(self.crawler.spider, "allowed_domains", None) or [])
        # `allow_offsite` is a request's own opt-out of the domain rule (attachments on a
        # file host); it never lifts the address or scheme rules.
        if not request.meta.get("allow_offsite") and not host_allowed(host, allowed):
            raise self.refuse(request, "offsite", f"{host} is not in allowed_domains {allowed}")

    async def process_request(self, request: Request) -> None:
        self.check(request)
        host = urlparse_cached(request).hostname or ""
        if not self.resolve_names or self.permission() is True or parse_ip(host) is not None:
            return  # nothing to resolve: a replay, every address allowed, or a literal
        # A lookup failure propagates as the download's own would (DNSLookupError: retried).
        for address in await self.resolve(host):
            ip = parse_ip(address)
            kind = address_kind(ip) if ip is not None else "unparseable"
            if kind and not permitted(address, self.permission()):
                why = f"{host} resolves to {address}, a {kind} address"
                raise self.refuse(request, "private-address", why)


# --- responses ---------------------------------------------------------------------------------

# Binary formats whose signature at the start of a body no HTML page has.
_BINARY_SIGNATURES = (
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"\xff\xd8\xff",  # JPEG
    b"%PDF-",
    b"PK\x03\x04",  # zip, docx, hwpx, odt
    b"\x1f\x8b",  # gzip not decoded (no Content-Encoding)
    b"\xd0\xcf\x11\xe0",  # OLE: doc, xls, hwp
)
_SNIFF_BYTES = 4096
# Bytes that do not occur in text in any ASCII-compatible encoding (WHATWG's "binary data
# bytes" without ESC, which ISO-2022 text uses). A page with the odd stray control
# character is text; a body with many of them is not.
_BINARY_BYTES = bytes(range(0x00, 0x09)) + b"\x0b" + bytes(range(0x0E, 0x1B))
_BINARY_SHARE = 0.05
# A page whose declared charset yields this many undecodable bytes was labelled wrongly
# (fewer: a truncated page cut inside a character, or one stray byte).
_MISDECODED_MIN = 3


def looks_binary(body: bytes) -> bool:
    """Whether a body served as text looks like binary data (an image, an archive...).

    UTF-16 and UTF-32 text looks binary too (NUL bytes in every ASCII character): the caller
    checks the encoding when this says yes.
    """
    head = body[:_SNIFF_BYTES]
    if head.lstrip(b" \t\r\n").startswith(_BINARY_SIGNATURES):
        return True
    binary = len(head) - len(head.translate(None, _BINARY_BYTES))
    return binary > _BINARY_SHARE * max(len(head), 1)


def _wide_encoding(encoding: str) -> bool:
    return encoding.replace("_", "-").lower().startswith(("utf-16", "utf-32"))


# XML spec, appendix F: UTF-16/32 told by a byte order mark or by how "<" starts the text.
_WIDE_STARTS = (
    b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"\x00<\x00", b"<\x00", b"\x00\x00\x00<",
)  # fmt: skip


def _wide_text(body: bytes) -> bool:
    """Whether the body is UTF-16 or UTF-32 text by its first bytes (a feed served without a
    charset: its NUL bytes are no sign of binary data)."""
    return body.lstrip(b" \t\r\n").startswith(_WIDE_STARTS)


def _undecodable(body: bytes, encoding: str, limit: int) -> int:
    """How many bytes of ``body`` cannot be decoded as ``encoding``, counting up to ``limit``."""
    errors, position = 0, 0
    while errors < limit:
        try:
            body[position:].decode(encoding)
            break
        except UnicodeDecodeError as exc:
            errors += 1
            position += exc.end
    return errors


def _resolve_encoding(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(w3lib_resolve_encoding(name) or name).name
    except LookupError:
        return None


def better_encoding(response: TextResponse) -> str | None:
    """A charset that decodes the page when the one Scrapy chose cannot, else None.

    Scrapy believes the Content-Type header, then the page's meta tag; servers and templates
    get both wrong (a Big5 page served as UTF-8, CP949 declared as UTF-8). Candidates, in
    order: the other declaration, then detection from the bytes.
    """
    body = response.body
    current = _resolve_encoding(response.encoding)
    if current is None or _undecodable(body, current, _MISDECODED_MIN) < _MISDECODED_MIN:
        return None
    content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
    candidates = [
        html_body_declared_encoding(body),
        http_content_type_encoding(content_type),
    ]
    best = from_bytes(body).best()
    # Detection is evidence only when it names a charset real pages use (trusted list):
    # stray bytes "decode" as mac-iceland too.
    if best and codec_name(best.encoding) in TRUSTED_DETECTIONS:
        candidates.append(best.encoding)
    for candidate in map(_resolve_encoding, candidates):
        if candidate and candidate != current and not _undecodable(body, candidate, 1):
            return candidate
    return None


_TEXT_TYPES = (b"text/", b"application/xhtml", b"application/xml", b"application/json")


def _declared_text(response: Response) -> bool:
    """Whether the server said the body is text (HTML, XML, JSON, plain text)."""
    mime = (response.headers.get(b"Content-Type") or b"").split(b";")[0].strip().lower()
    return mime.startswith(_TEXT_TYPES) or mime.endswith((b"+xml", b"+json"))


def _as_file(response: TextResponse) -> Response:
    """The same answer as a plain (binary) ``Response``."""
    return Response(
        url=response.url, status=response.status, headers=response.headers,
        body=response.body, flags=response.flags, request=response.request,
        certificate=response.certificate, ip_address=response.ip_address,
        protocol=response.protocol,
    )  # fmt: skip


def as_declared_type(response: Response) -> Response:
    """The response as the text response its Content-Type says it is.

    Scrapy picks a plain ``Response`` for a body that looks binary in its first bytes, or
    when a replayed response's headers were not consulted; a page whose Content-Type says
    HTML must still be judged (and refused, if binary) as the page it claims to be.
    """
    if isinstance(response, TextResponse) or b"Content-Type" not in response.headers:
        return response
    declared = responsetypes.from_args(headers=response.headers)
    return response.replace(cls=declared) if issubclass(declared, TextResponse) else response


# Characters XML 1.0 cannot carry, which lxml refuses in the trees spiders edit (and NUL,
# which PostgreSQL refuses): C0 controls other than tab, newline and carriage return, and
# U+FFFE/U+FFFF. No text needs them; vertical tab and form feed (Word's line and page
# breaks) become spaces, the rest go, whether raw or written as character references.
_CONTROL_BYTES = bytes(range(0x00, 0x09)) + bytes(range(0x0E, 0x20))
_CONTROL_SPACES = bytes.maketrans(b"\x0b\x0c", b"  ")
_UTF8_NONCHARACTERS = re.compile(b"\xef\xbf[\xbe\xbf]")
# Leading zeros are allowed (``&#x0000000D800;`` is U+D800 to every parser; issue 18).
_CHARACTER_REFERENCE = re.compile(
    rb"&#(?:[xX]0*(?P<hex>[0-9a-fA-F]{1,10})|0*(?P<dec>\d{1,12}));"
)
_WHITESPACE_CODES = (0x09, 0x0A, 0x0D)


def _control_reference(match: re.Match[bytes]) -> bytes:
    code = int(match["hex"], 16) if match["hex"] else int(match["dec"])
    if code in (0x0B, 0x0C):
        return b" "
    if (code < 0x20 and code not in _WHITESPACE_CODES) or code in (0xFFFE, 0xFFFF):
        return b""
    if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        return b""  # no character at all
    return match.group(0)


def without_control_characters(body: bytes, encoding: str) -> bytes:
    """The body without the characters above, raw or as character references.

    Works on the bytes: in every ASCII-compatible encoding but ISO-2022 (which uses ESC,
    SO and SI), bytes below 0x20 and "&#" are never part of a multi-byte character.
    """
    name = encoding.replace("_", "-").lower()
    if _wide_encoding(name) or name.startswith("iso-2022") or _wide_text(body):
        return body  # (UTF-16 without a charset: its NULs are half of every character)
    body = body.translate(_CONTROL_SPACES, _CONTROL_BYTES)
    if name in ("utf-8", "utf8"):
        body = _UTF8_NONCHARACTERS.sub(b"", body)
    # No ``b"&#" in body`` pre-test: on a 210 KB page the substring search took 0.26 ms, the
    # pattern's own scan (it starts with a literal "&") 0.08 ms (issue 19).
    return _CHARACTER_REFERENCE.sub(_control_reference, body)


class ResponseSanityMiddleware(_Refusing):
    """Downloader middleware: refuse responses no spider should parse, repair what is easy.

    Refused: bodies above ``DOWNLOAD_MAXSIZE``, empty 200 pages, binary data served as text.
    Repaired: a wrongly declared charset, control characters in the page.

    Sits after decompression and recording (below 580): the recorder keeps what the
    server sent, the spider gets only what is worth parsing.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.maxsize = crawler.settings.getint("DOWNLOAD_MAXSIZE")
        # Bytes received per request in flight: a download cancelled past the size limit
        # fails with a bare CancelledError, told apart from other cancellations by this.
        self.received: weakref.WeakKeyDictionary[Request, int] = weakref.WeakKeyDictionary()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ResponseSanityMiddleware:
        middleware = cls(crawler)
        crawler.signals.connect(middleware.bytes_received, signal=signals.bytes_received)
        return middleware

    def bytes_received(self, data: bytes, request: Request, spider: Spider) -> None:
        self.received[request] = self.received.get(request, 0) + len(data)

    def _maxsize(self, request: Request) -> int:
        return int(request.meta.get("download_maxsize", self.maxsize) or 0)

    def process_response(self, request: Request, response: Response) -> Response:
        self.received.pop(request, None)
        maxsize = self._maxsize(request)
        if maxsize and len(response.body) > maxsize:
            raise self.refuse(
                request, "too-large", f"{len(response.body)} bytes exceed {maxsize} bytes"
            )
        if (
            response.status not in (200, 203)  # 203: a proxy's copy of a 200 (issue 18)
            or request.meta.get("dont_obey_robotstxt")  # robots.txt: empty is a valid answer
            or urlparse_cached(request).path == "/robots.txt"
        ):
            return response
        response = as_declared_type(response)
        if not isinstance(response, TextResponse):
            return response
        if not response.body.strip():
            raise self.refuse(request, "empty-body", "a 200 response without content")
        if (
            looks_binary(response.body)
            and not request.meta.get("allow_binary")
            and not _wide_encoding(response.encoding)
            and not _wide_text(response.body)
        ):
            if not _declared_text(response):
                # A file (a PDF whose first kilobytes are ASCII, served as a PDF, as
                # octet-stream or untyped) that Scrapy's sniffing took for text: it is what
                # it is, not binary data served as text (issue 18, item 11a).
                return _as_file(response)
            raise self.refuse(request, "binary-content", "binary data served as text")
        response, decodes = self._utf8_repaired(response)
        # A UTF-8 page just counted as decoding (fewer than _MISDECODED_MIN errors) is not
        # decoded again to learn the same (issue 19: a second pass over every page).
        encoding = None if decodes else better_encoding(response)
        if encoding is not None:
            self._count("safety/repaired/charset")
            logger.info(
                "Decoding %(url)s as %(new)s: it is not %(old)s as declared",
                {"url": response.url, "new": encoding, "old": response.encoding},
                extra={"spider": self.crawler.spider},
            )
            response = response.replace(encoding=encoding)
        body = without_control_characters(response.body, response.encoding)
        if body != response.body:
            self._count("safety/repaired/control-characters")
            response = response.replace(body=body)
        return self._flattened(response)

    def _flattened(self, response: TextResponse) -> TextResponse:
        """A page nested deeper than parsers keep, flattened below ``MAX_DEPTH`` levels
        (``crawler.nesting``): its text is kept, and the cap is logged."""
        if not isinstance(response, HtmlResponse) or _wide_encoding(response.encoding):
            return response
        if not nests_deeper(response.body, MAX_DEPTH):
            return response
        body, removed = flattened(response.body)
        self._count("safety/repaired/deep-nesting")
        logger.warning(
            "%(url)s nests elements deeper than %(cap)d levels: %(removed)d container tags "
            "below that depth removed, their text kept",
            {"url": response.url, "cap": MAX_DEPTH, "removed": removed},
            extra={"spider": self.crawler.spider},
        )
        return response.replace(body=body)

    def _utf8_repaired(self, response: TextResponse) -> tuple[TextResponse, bool]:
        """A UTF-8 page with stray or foreign bytes, repaired piece by piece (see
        ``crawler.charset``); any other page as it is. The flag says the page returned is
        UTF-8 with fewer than ``_MISDECODED_MIN`` undecodable bytes, which is what
        ``better_encoding`` would otherwise decode it again to find: the replacement
        decoding resumes after each error exactly as ``_undecodable`` does."""
        if _resolve_encoding(response.encoding) != "utf-8":
            return response, False
        try:
            # Most pages decode whole: one strict decoding says so in a third of the time
            # the two counts below take (issue 19: 0.09 against 0.33 ms on a 210 KB page).
            response.body.decode("utf-8")
            return response, True
        except UnicodeDecodeError:
            pass
        # One linear pass (``_undecodable`` re-decodes from each error: fine for a few).
        # The response's own text is that decoding (UTF-8, errors replaced) and is kept: the
        # spider's selectors reuse it instead of decoding the page a second time (0.4 ms on
        # a 200 KB page). Not after another BOM: w3lib would decode by the BOM instead.
        if read_bom(response.body)[0] in (None, "utf-8"):
            text = response.text
        else:
            text = response.body.decode("utf-8", errors="replace")
        undecodable = text.count("\ufffd") - response.body.count("\ufffd".encode())
        if undecodable < _MISDECODED_MIN:
            return response, True
        if not mostly_utf8(response.body, undecodable):
            return response, False
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        declared = [html_body_declared_encoding(response.body),
                    http_content_type_encoding(content_type)]  # fmt: skip
        body, legacy, replaced = repair_utf8(response.body, declared)
        self._count("safety/repaired/mixed-charset")
        logger.info(
            "Repaired %(url)s in place: UTF-8 with %(legacy)d pieces in a legacy charset and "
            "%(replaced)d with stray bytes (U+FFFD)",
            {"url": response.url, "legacy": legacy, "replaced": replaced},
            extra={"spider": self.crawler.spider},
        )
        return response.replace(body=body, encoding="utf-8"), False

    def _count(self, stat: str) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(stat)

    def process_exception(self, request: Request, exception: Exception) -> Any:
        # The download handler cancels a body above DOWNLOAD_MAXSIZE (by Content-Length, or
        # once that many bytes arrived) and logs it; count it as the refusal it is.
        received = self.received.pop(request, 0)
        if isinstance(exception, DownloadCancelledError):
            maxsize = self._maxsize(request)
            if "max size" in str(exception) or (maxsize and received > maxsize):
                why = str(exception) or f"{received} bytes received, above {maxsize} bytes"
                raise self.refuse(request, "too-large", why)
        return None

"""HTTPS that verifies certificates: certifi's roots plus an optional bundle of our own.

Scrapy's default context factory accepts any certificate. This one verifies the chain and
the host name against certifi's bundle plus ``TLS_CA_BUNDLE``, a PEM file for the
certificates some government sites fail to send or that certifi lacks (Taiwan's GRCA root
and its GCA intermediates, TWCA intermediates). ``TLS_UNVERIFIED_HOSTS`` lists hosts that are
not verified at all: a last resort for one broken site, never a global switch.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import certifi
from OpenSSL import SSL, crypto
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings
from twisted.internet.ssl import Certificate, optionsForClientTLS, trustRootFromCertificates
from twisted.web.iweb import IPolicyForHTTPS
from zope.interface import implementer

from crawler import scrapy_private
from crawler.config import setting
from crawler.scrapy_private import ClientContextFactory

if TYPE_CHECKING:
    from twisted.internet._sslverify import ClientTLSOptions, IOpenSSLTrustRoot

logger = logging.getLogger(__name__)

# Parsed one by one with OpenSSL (Certificate.loadPEM): the cryptography package warns about,
# and means to reject, a few old roots that certifi still ships.
PEM_CERTIFICATE = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


class TLSConfigurationError(ValueError):
    """A TLS setting that cannot be used; raised before the crawl starts."""


def read_certificates(path: str | Path, setting: str | None = None) -> list[Certificate]:
    """Every certificate of a PEM file; the error names ``setting`` and the path."""
    origin = f"{setting}={path}" if setting else str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise TLSConfigurationError(
            f"{origin}: cannot read the CA bundle ({exc.strerror or exc})"
        ) from exc
    blocks = PEM_CERTIFICATE.findall(data)
    if not blocks:
        raise TLSConfigurationError(f"{origin}: no PEM certificate in the file")
    try:
        return [Certificate.loadPEM(block) for block in blocks]
    except crypto.Error as exc:
        raise TLSConfigurationError(f"{origin}: unreadable certificate ({exc})") from exc


def trust_root(settings: BaseSettings) -> IOpenSSLTrustRoot:
    """certifi's roots plus the certificates of ``TLS_CA_BUNDLE``, if set."""
    certificates = read_certificates(certifi.where())
    if bundle := setting(settings, "TLS_CA_BUNDLE"):
        certificates += read_certificates(bundle, "TLS_CA_BUNDLE")
    return trustRootFromCertificates(certificates)


def unverified_hosts(settings: BaseSettings) -> frozenset[str]:
    hosts = (host.strip().lower() for host in setting(settings, "TLS_UNVERIFIED_HOSTS"))
    return frozenset(host for host in hosts if host)


@implementer(IPolicyForHTTPS)
class VerifyingContextFactory(ClientContextFactory):
    """``DOWNLOADER_CLIENTCONTEXTFACTORY`` verifying each server against our trust root.

    Keeps what Scrapy's own factory reads from the settings (ciphers, TLS versions) and
    its tolerance of servers without secure renegotiation, common on older government
    sites; only the trust changes.
    """

    def __init__(
        self,
        *args: Any,
        trust_root: IOpenSSLTrustRoot,
        unverified_hosts: frozenset[str] = frozenset(),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # The parent's unverifying path remains, for the opted-out hosts only.
        scrapy_private.stop_verifying(self)
        self.trust_root = trust_root
        self.unverified_hosts = unverified_hosts
        self._warned: set[str] = set()

    @classmethod
    def from_crawler(
        cls,
        crawler: Crawler,
        method: int | None = SSL.SSLv23_METHOD,
        *args: Any,
        **kwargs: Any,
    ) -> VerifyingContextFactory:
        return super().from_crawler(
            crawler,
            method,
            *args,
            trust_root=trust_root(crawler.settings),
            unverified_hosts=unverified_hosts(crawler.settings),
            **kwargs,
        )

    def creatorForNetloc(self, hostname: bytes, port: int) -> ClientTLSOptions:
        host = hostname.decode("ascii")
        if host.lower() in self.unverified_hosts:
            if host not in self._warned:
                self._warned.add(host)
                logger.warning("TLS: not verifying %s (listed in TLS_UNVERIFIED_HOSTS)", host)
            return super().creatorForNetloc(hostname, port)
        creator = optionsForClientTLS(
            hostname=host,
            trustRoot=self.trust_root,
            extraCertificateOptions=scrapy_private.certificate_options(self),
        )
        context = scrapy_private.creator_context(creator)
        # As Scrapy's default factory: old servers lacking RFC 5746 still connect.
        context.set_options(SSL.OP_LEGACY_SERVER_CONNECT)
        if scrapy_private.keylog_filename():
            scrapy_private.set_keylog_callback(context)
        return cast("ClientTLSOptions", creator)


class TLSSettingsAddon:
    """Scrapy add-on checking the TLS settings before the crawl starts.

    Scrapy builds the context factory inside its HTTP download handler and, should that
    fail, only logs the error and fails every request; a bad ``TLS_CA_BUNDLE`` must stop
    the crawl instead.
    """

    def update_settings(self, settings: BaseSettings) -> None:
        trust_root(settings)
        if hosts := unverified_hosts(settings):
            logger.warning(
                "TLS certificates are not verified for: %s (TLS_UNVERIFIED_HOSTS)",
                ", ".join(sorted(hosts)),
            )

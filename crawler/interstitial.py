"""Pages served in place of a release: login walls, maintenance notices, error pages.

Sites answer 200 with such a page when a session, a firewall or a deployment gets in the way
(issue 18, item 6: eight Executive Yuan releases were stored with a login form as their body).
What gives them away is how unlike the source's releases they are:

- the page has **no date where the source's releases have theirs** (the source's selectors
  or templates found none; a list, feed or generic date does not count);
- their text is **short and made of the phrases of such pages**, in the languages of the
  sites (en, zh-Hant, ko, ja, fr, de): a login form's "account / password / forgot
  password", a "system maintenance, service suspended" notice, a "page not found";
- their **title** (when the page gave one) is such a phrase and little else;
- the request was **redirected** to a login, maintenance or error address;
- the **same text** comes back for several different releases (boilerplate: a template
  without content, a challenge page), which the pipeline tells from the crawl
  (``crawler.pipelines.InterstitialPipeline``).

A real release that mentions a password or a maintenance is dated by the source's own
layout and is longer than a notice; the tests keep such controls
(``tests/test_interstitial.py``). The phrases are data, restated from how these pages are
commonly worded, not copied from any one site.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml import etree
from lxml import html as lxml_html

LOGIN, MAINTENANCE, ERROR = "login", "maintenance", "error"

BOILERPLATE = "boilerplate"
#: The drop reasons such pages are counted under (``releases/dropped/<reason>``).
REASONS = tuple(f"{kind}-page" for kind in (LOGIN, MAINTENANCE, ERROR, BOILERPLATE))

#: Phrases of each kind, by language (matched case-insensitively, anywhere in the text).
# fmt: off
PHRASES: dict[str, dict[str, tuple[str, ...]]] = {
    LOGIN: {
        "en": ("log in", "login", "sign in", "sign-in", "password", "forgot your password",
               "username", "user name", "session has expired", "session expired",
               "authentication required", "verification code", "captcha"),
        "zh-Hant": ("登入", "登錄", "密碼", "忘記密碼", "帳號", "驗證碼", "會員專區",
                    "連線逾時", "請重新登入"),
        "ko": ("로그인", "비밀번호", "아이디", "회원가입", "세션이 만료", "인증번호"),
        "ja": ("ログイン", "パスワード", "サインイン", "ユーザーid", "会員登録",
               "セッションの有効期限"),
        "fr": ("se connecter", "connexion", "mot de passe", "identifiant",
               "session a expiré"),
        "de": ("anmelden", "anmeldung", "passwort", "kennwort", "benutzername",
               "sitzung ist abgelaufen"),
    },
    MAINTENANCE: {
        "en": ("under maintenance", "scheduled maintenance", "system maintenance",
               "site maintenance", "temporarily unavailable", "service unavailable",
               "be back soon", "undergoing maintenance", "maintenance window"),
        "zh-Hant": ("系統維護", "維護中", "網站維護", "暫停服務", "系統更新中",
                    "暫時無法提供服務", "停機"),
        "ko": ("시스템 점검", "점검 중", "점검중", "서비스 점검", "점검 시간",
               "일시적으로 서비스", "일시 중단", "서비스를 이용하실 수 없"),
        "ja": ("メンテナンス中", "システムメンテナンス", "メンテナンスのため",
               "一時的にご利用いただけません", "サービスを停止"),
        "fr": ("en maintenance", "maintenance en cours", "temporairement indisponible",
               "service indisponible", "opération de maintenance"),
        "de": ("wartungsarbeiten", "wartungsmodus", "vorübergehend nicht verfügbar",
               "wartung"),
    },
    ERROR: {
        "en": ("page not found", "not found", "page you requested", "page cannot be found",
               "internal server error", "an error occurred", "an error has occurred",
               "access denied", "request rejected", "support id", "forbidden", "bad request",
               "too many requests"),
        "zh-Hant": ("找不到網頁", "找不到頁面", "網頁不存在", "頁面不存在", "查無此頁",
                    "系統發生錯誤", "發生錯誤", "您所要求的網頁", "拒絕存取"),
        "ko": ("페이지를 찾을 수 없", "요청하신 페이지", "오류가 발생", "존재하지 않는",
               "잘못된 접근", "접근이 거부"),
        "ja": ("ページが見つかりません", "お探しのページ", "エラーが発生しました",
               "アクセスが集中", "アクセスが拒否"),
        "fr": ("page introuvable", "page non trouvée", "une erreur est survenue",
               "erreur interne", "accès refusé"),
        "de": ("seite nicht gefunden", "ein fehler ist aufgetreten", "interner serverfehler",
               "zugriff verweigert", "nicht gefunden"),
    },
}

# fmt: on

#: Path segments (without extension) of an address a request may be redirected to instead
#: of its page: whole segments only, so that "/news/error-correction-codes" is no error page.
URL_WORDS = {
    LOGIN: ("login", "logon", "signin", "sign-in", "sso", "auth", "cas"),
    MAINTENANCE: ("maintenance", "maintain", "sorry", "outage"),
    ERROR: ("error", "errors", "errorpage", "error-page", "notfound", "not-found", "denied",
            "blocked"),
}  # fmt: skip

#: A release's text longer than this is not a notice, whatever it mentions.
SHORT_TEXT = 2000
#: A text this short with one phrase is a notice.
TINY_TEXT = 300
#: A title this much of which is the phrases (after punctuation) is the notice's title.
TITLE_SHARE = 0.5


def _pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    # Latin phrases as whole words ("login" not in "blogin"); CJK phrases anywhere.
    parts = []
    for phrase in sorted(phrases, key=len, reverse=True):
        escaped = re.escape(phrase)
        parts.append(rf"\b{escaped}\b" if phrase.isascii() else escaped)
    return re.compile("|".join(parts), re.IGNORECASE)


_PATTERNS = {
    kind: _pattern(tuple(p for phrases in by_language.values() for p in phrases))
    for kind, by_language in PHRASES.items()
}
_URL_KIND = {word: kind for kind, words in URL_WORDS.items() for word in words}
_NOT_TEXT = re.compile(r"[\W_]+")
# The attribute alone (only an <input> takes type=password): a pattern with no run of
# "anything but >" to backtrack over, so a page of unclosed tags costs linear time.
_PASSWORD_FIELD = re.compile(rb"\btype\s*=\s*[\"']?password\b", re.IGNORECASE)


def has_password_field(html: bytes | None) -> bool:
    """Whether a page has a password input (a login form)."""
    # The word first, in C over the lower-cased page (a fraction of a millisecond on a
    # 200 KB page, where the case-blind pattern alone took one or two): most pages have none.
    if not html or b"password" not in html.lower():
        return False
    return _PASSWORD_FIELD.search(html) is not None


#: Elements whose text a reader never sees.
_INVISIBLE = ("script", "style", "noscript", "template", "head")


def visible_text(html: bytes | None, encoding: str | None = None, limit: int = SHORT_TEXT) -> str:
    """The text a reader sees on a page (its title first), for a page whose release text is
    empty or short: a login form's labels are no text to an extractor. Only the first
    ``limit`` + 1 characters matter (longer is no notice), so no more is kept."""
    if not html:
        return ""
    try:
        root = lxml_html.document_fromstring(html, parser=_parser(encoding))
    except (etree.ParserError, ValueError):
        return ""
    title = " ".join((root.findtext(".//title") or "").split())
    for element in list(root.iter(*_INVISIBLE)):
        if element.getparent() is not None:
            element.drop_tree()
    text = " ".join(root.text_content().split())
    return f"{title} {text}".strip()[: limit + 1]


def _parser(encoding: str | None) -> lxml_html.HTMLParser:
    try:
        return lxml_html.HTMLParser(encoding=encoding) if encoding else lxml_html.HTMLParser()
    except LookupError:
        return lxml_html.HTMLParser()


def page_stage(stage: str | None) -> bool:
    """Whether a field's stage means the page itself gave it (not the list or the feed)."""
    return bool(stage) and stage not in ("list", "feed")


def layout_stage(stage: str | None) -> bool:
    """Whether a field was found where the source's releases have it (its selectors or one
    of its templates), not by a fallback that reads any page."""
    return stage == "selectors" or bool(stage and stage.startswith("template:"))


@dataclass(frozen=True)
class Interstitial:
    kind: str  # login, maintenance, error, boilerplate (the last told by the pipeline)
    evidence: str

    @property
    def reason(self) -> str:
        """The drop reason it is counted under (``releases/dropped/<reason>``)."""
        return f"{self.kind}-page"


def phrases_in(text: str) -> dict[str, set[str]]:
    """Distinct phrases of each kind found in ``text`` (lower-cased)."""
    found: dict[str, set[str]] = {}
    for kind, pattern in _PATTERNS.items():
        hits = {match.group(0).lower() for match in pattern.finditer(text)}
        if hits:
            found[kind] = hits
    return found


def _strongest(found: dict[str, set[str]]) -> str:
    # Most distinct phrases wins; on a tie, login before maintenance before error.
    order = (LOGIN, MAINTENANCE, ERROR)
    return max(found, key=lambda kind: (len(found[kind]), -order.index(kind)))


def redirected_to(requested: str | None, final: str) -> str | None:
    """The kind of page a redirect led to, judged by the segments of its address's path."""
    if not requested or requested == final:
        return None
    for segment in urlsplit(final).path.lower().split("/"):
        kind = _URL_KIND.get(segment.rsplit(".", 1)[0])
        if kind is not None:
            return kind
    return None


def recognise(
    *,
    title: str,
    title_from_page: bool,
    body: str,
    dated_by_layout: bool,
    password_field: Callable[[], bool] | None = None,
    requested_url: str | None = None,
    final_url: str = "",
) -> Interstitial | None:
    """Whether a page read as a release is a login, maintenance or error page instead.

    ``title_from_page``: the title was read from the page (not the list or feed entry).
    ``body``: the text read from the page ("" when it came from the feed entry: the
    publisher's own words are no notice).
    ``dated_by_layout``: the source's selectors or templates found the page's date.
    ``password_field``: a function that tells whether the page has an ``<input
    type=password>`` (None: it has none), called only when the verdict hangs on it (issue
    19: a scan of the raw page, 0.2 ms for a 210 KB one, that nearly every release can skip).
    """
    if (kind := redirected_to(requested_url, final_url)) is not None:
        return Interstitial(kind, f"redirected to {final_url}")
    if dated_by_layout:  # where the source's releases have their date: a release
        return None
    if title_from_page and title and len(title) <= 80:
        found = phrases_in(title)
        if found:
            kind = _strongest(found)
            rest = _NOT_TEXT.sub("", _PATTERNS[kind].sub("", title))
            if len(rest) <= len(_NOT_TEXT.sub("", title)) * (1 - TITLE_SHARE):
                return Interstitial(kind, f"title {title!r}")
    text = body.strip()
    if len(text) > SHORT_TEXT:
        return None
    found = phrases_in(text)
    if not found:
        return None
    kind = _strongest(found)
    hits = found[kind]
    if (
        len(hits) >= 2
        or len(text) <= TINY_TEXT
        or (kind == LOGIN and password_field is not None and password_field())
    ):
        shown = ", ".join(sorted(hits)[:4])
        return Interstitial(kind, f"undated {len(text)}-character text with {shown!r}")
    return None

"""Korea's Ministry of Science and ICT (MSIT): its page objects and spiders.

One CMS (eGovFrame) serves the English press releases (board 42) and the Korean ones (board
94, read from its RSS feed with this list as the check page). Its list pages ship their rows
as empty placeholder cells (``td_NTT_SJ_0``, ``td_REG_DT_0``…) that inline jQuery fills in,
so the rows exist only as script text, read here with regular expressions. What is known of
the real markup (``../shared/realpages/msit``, the site notes' ERRATA):

- English rows write the title anchor with ``fn_detail("1290")`` (raw quotes) and
  ``data-value="1290"``, and the date inside ``if('REG_DT' == 'REG_DT'){…}`` as
  ``Jan 22, 2026``;
- Korean rows write the title from ``unescape('…')`` pieces (``%uXXXX``, ``%XX`` UTF-8, or raw
  Korean) and put ``fn_detail(N)`` on a static wrapper anchor around the cells; dates read
  ``2026. 10. 1``;
- both keep older versions of the statements as ``//`` lines and ``/* */`` blocks, which the
  browser never runs: comments are stripped (rjsmin) before anything is read;
- the pager calls ``fn_paging(N)``, which submits ``pageIndex`` (``crawler.pages.listing``);
- detail bodies sit in ``#cont-wrap.view_cont``, attachments in ``div.view_file`` as
  ``fn_download('<atchFileNo>','<fileOrd>','<ext>')`` calls, downloaded by a POST to
  ``/ssm/file/fileDown.do`` whose GET form with the same fields identifies them.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import rjsmin
from parsel import Selector
from scrapy import Request
from scrapy.http import TextResponse
from w3lib.html import remove_tags, replace_entities
from w3lib.url import url_query_parameter

from crawler.attachments import attachment_request, form_download
from crawler.extract import text_of
from crawler.pages import DetailPage, ListEntry, ListPage
from crawler.pages.page import PageContext
from spiders.configured import ConfiguredSpider
from spiders.feed_source import FeedSourceSpider

# --- Inline list script ----------------------------------------------------------------------
# A single-quoted JS string literal, and the terms a jQuery `.html(...)` argument is built from.
_JS_STRING = r"'(?:[^'\\]|\\.)*'"
_JS_TERM = rf"(?:unescape\(\s*{_JS_STRING}\s*\)|{_JS_STRING}|[A-Za-z_$][\w$]*)"
_JS_CONCAT = rf"{_JS_TERM}(?:\s*\+\s*{_JS_TERM})*"

# The three statements that matter, in the order the browser runs them:
#   var sHtml = replyHrml;                    starts a new title
#   sHtml += unescape('%uD55C...');           adds a URL-encoded title piece
#   $('#td_'+'NTT_SJ'+'_3').html('<a ...>');  writes a cell of row 3
# `sHtml += ctgryHtml / newHtml` (category label, "new" badge) are deliberately not matched.
_STATEMENT = re.compile(
    rf"""
      (?P<reset>\b(?:var\s+)?sHtml\s*=(?!=))
    | \bsHtml\s*\+=\s*unescape\(\s*(?P<piece>{_JS_STRING})\s*\)
    | \$\(\s*(?P<target>{_JS_CONCAT})\s*\)\s*\.html\(\s*(?P<value>{_JS_CONCAT})\s*\)
    """,
    re.VERBOSE,
)
_TERM = re.compile(
    rf"unescape\(\s*(?P<escaped>{_JS_STRING})\s*\)"
    rf"|(?P<literal>{_JS_STRING})"
    r"|(?P<name>[A-Za-z_$][\w$]*)"
)
_CELL_ID = re.compile(r"^#td_(?P<column>[A-Z][A-Z0-9_]*?)_(?P<row>\d+)$")
_JS_BACKSLASH = re.compile(r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)", re.DOTALL)
_JS_BACKSLASH_CHARS = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
_PERCENT_RUN = re.compile(r"(?:%u[0-9a-fA-F]{4})+|(?:%[0-9a-fA-F]{2})+")
# fn_detail(1234), fn_detail('1234') or, inside an HTML attribute, fn_detail(&quot;1234&quot;)
_DETAIL_CALL = re.compile(r"fn_detail\(\s*(?:&quot;|&#39;|[\"'])?(\d+)")

# --- Detail page -----------------------------------------------------------------------------
# fn_download('<atchFileNo>','<fileOrd>','<ext>'); old pages call fn_download2 without the ext.
_DOWNLOAD_CALL = re.compile(r"fn_download2?\(\s*'([^']+)'\s*,\s*'([^']+)'")
# The English pages keep the Korean labels of their contact block: 담당부서 (department),
# 작성자 (writer), 연락처 (phone).
DEPARTMENT_LABEL = "담당부서"

# The download endpoint: `download_url` writes its fields as a query string, which identifies
# the file; the site itself POSTs them as a form.
DOWNLOAD_PATH = "/ssm/file/fileDown.do"
DOWNLOAD_FIELDS = ("atchFileNo", "fileOrd", "fileBtn")

ENGLISH_BOARD = {"sCode": "eng", "mId": "4", "mPid": "2", "bbsSeqNo": "42"}
KOREAN_BOARD = {"sCode": "user", "mId": "307", "mPid": "208", "bbsSeqNo": "94"}


@dataclass
class ListRow:
    """One row of the press-release list as the inline script writes it."""

    row: str
    ntt_seq_no: str | None = None
    title: str | None = None
    reg_dt: str | None = None  # "Jul 9, 2026"
    pstg_ymd: str | None = None  # "2026-07-09"

    @property
    def date(self) -> str | None:
        return self.reg_dt or self.pstg_ymd


def js_unescape(text: str) -> str:
    """Decode what JavaScript's ``unescape`` decodes: ``%uXXXX`` and ``%XX`` escapes.

    urllib's ``unquote`` leaves ``%uXXXX`` alone. Runs of ``%XX`` are read as UTF-8 when they
    form valid UTF-8 (what a server-side URL encoder writes), else as Latin-1 code points
    (what JS ``escape`` writes for é and the like). A lone ``%`` stays as it is.
    """

    def decode(match: re.Match[str]) -> str:
        run = match.group(0)
        if run.startswith("%u"):
            units = b"".join(int(unit, 16).to_bytes(2, "big") for unit in run[2:].split("%u"))
            return units.decode("utf-16-be", errors="replace")  # pairs up surrogates
        raw = bytes(int(byte, 16) for byte in run[1:].split("%"))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("latin-1")

    return _PERCENT_RUN.sub(decode, text)


def _js_literal(quoted: str) -> str:
    """The value of a single-quoted JS string literal (backslash escapes resolved)."""

    def decode(match: re.Match[str]) -> str:
        escape = match.group(1)
        if len(escape) > 1:  # \uXXXX or \xXX
            return chr(int(escape[1:], 16))
        return _JS_BACKSLASH_CHARS.get(escape, escape)

    return _JS_BACKSLASH.sub(decode, quoted[1:-1])


def _evaluate(expression: str, title_html: str) -> str:
    """Concatenate a `.html(...)` argument; `sHtml` is the title built so far, other variables
    (category label, "new" badge) are not the title and count as empty."""
    parts = []
    for term in _TERM.finditer(expression):
        if term["escaped"]:
            parts.append(js_unescape(_js_literal(term["escaped"])))
        elif term["literal"]:
            parts.append(_js_literal(term["literal"]))
        elif term["name"] == "sHtml":
            parts.append(title_html)
    return "".join(parts)


def _html_text(fragment: str) -> str | None:
    text = " ".join(replace_entities(remove_tags(fragment)).split())
    return text or None


def live_script(response: TextResponse) -> str:
    """The page's inline scripts as the browser runs them: comments stripped (rjsmin: a
    ``//`` inside a string literal is not a comment, which a regular expression cannot
    tell), one script after another."""
    return "\n".join(rjsmin.jsmin(script) for script in response.css("script::text").getall())


def parse_list_script(text: str) -> list[ListRow]:
    """Rows written by the list page's inline script (comments already stripped: see
    ``live_script``), in the order their titles are written."""
    rows: dict[str, ListRow] = {}
    title_order: list[str] = []
    title_html = ""
    for statement in _STATEMENT.finditer(text):
        if statement["reset"]:
            title_html = ""
        elif statement["piece"]:
            title_html += js_unescape(_js_literal(statement["piece"]))
        else:
            cell = _CELL_ID.match(_evaluate(statement["target"], ""))
            if not cell:
                continue
            row = rows.setdefault(cell["row"], ListRow(cell["row"]))
            value = _evaluate(statement["value"], title_html)
            # Later statements overwrite earlier ones, as they would in the browser.
            if cell["column"] == "NTT_SJ":
                detail = _DETAIL_CALL.search(value)
                row.ntt_seq_no = detail.group(1) if detail else row.ntt_seq_no
                row.title = _html_text(value)
                if row.row not in title_order:
                    title_order.append(row.row)
            elif cell["column"] == "REG_DT":
                row.reg_dt = _html_text(value)
            elif cell["column"] == "PSTG_YMD":
                row.pstg_ymd = _html_text(value)
    return [rows[key] for key in title_order]


def detail_id_of_row(response: TextResponse, row: str) -> str | None:
    """The nttSeqNo of a row whose id sits on a wrapper anchor around its cells (Korean boards:
    ``<a onclick="fn_detail(3186887);">`` around ``#td_NTT_SJ_0``), or a ``data-value``."""
    calls = response.xpath(
        "//*[@id=$cell]/ancestor-or-self::*[self::a or self::tr or self::li][1]"
        "/descendant-or-self::a/@onclick",
        cell=f"td_NTT_SJ_{row}",
    ).getall()
    found = (_DETAIL_CALL.search(call) for call in calls)
    return next((match.group(1) for match in found if match), None)


class MsitListPage(ListPage):
    """A board list of the MSIT CMS: rows from the inline script, ids from the title anchor
    or the row's wrapper anchor, view URLs on the same board."""

    #: The board's parameters when the page's hidden form does not give them.
    board = ENGLISH_BOARD
    #: Path of the view page, relative to the list.
    view = "view.do"

    def native_id(self, url: str) -> str | None:
        value = (url_query_parameter(url, "nttSeqNo") or "").strip()
        return value if value.isdigit() else None

    def link_pattern(self) -> str | None:
        return r"[?&]nttSeqNo=\d+"

    def entries(self, response: TextResponse) -> tuple[list[ListEntry], int, int]:
        board = {name: self._board_value(response, name, default)
                 for name, default in self.board.items()}  # fmt: skip
        rows = parse_list_script(live_script(response))
        found: list[ListEntry] = []
        for row in rows:
            ntt_seq_no = row.ntt_seq_no or detail_id_of_row(response, row.row)
            if not ntt_seq_no:
                continue
            # A relative URL keeps the host (and drops any ;jsessionid from the list path).
            url = response.urljoin(f"{self.view}?{urlencode({**board, 'nttSeqNo': ntt_seq_no})}")
            found.append(ListEntry(url, ntt_seq_no, row.title, row.date))
        return found, len(rows), 0

    @staticmethod
    def _board_value(response: TextResponse, name: str, default: str) -> str:
        """A board parameter from the list page's hidden form, its URL, or the default."""
        return (
            response.css(f"input#{name}::attr(value)").get("").strip()
            or url_query_parameter(response.url, name)
            or default
        )


class MsitKoreanListPage(MsitListPage):
    board = KOREAN_BOARD
    view = "/bbs/view.do"


def download_url(element: Selector, response: TextResponse) -> str | None:
    """Where a ``fn_download('<atchFileNo>','<fileOrd>','<ext>')`` link downloads from."""
    call = _DOWNLOAD_CALL.search(element.attrib.get("onclick", ""))
    if not call or not text_of(element):  # preview buttons and icons carry no file name
        return None
    number, order = call.groups()
    query = urlencode({"atchFileNo": number, "fileOrd": order, "fileBtn": "A"})
    return response.urljoin(f"{DOWNLOAD_PATH}?{query}")


def download_request(url: str, referer: str) -> Request:
    """How the site's page downloads an attachment: ``download_url``'s query as a form POST
    to the endpoint (with ``Referer`` and ``Origin``); any other file as a plain GET."""
    form = form_download(url, referer, DOWNLOAD_FIELDS)
    if form is not None and urlsplit(url).path == DOWNLOAD_PATH:
        return form
    return attachment_request(url, referer)


class MsitDetailPage(DetailPage):
    """A release page of the MSIT CMS: the source's selectors, the department from the
    Korean label 담당부서 (kept on English pages too), and script download links."""

    resolve_attachment = staticmethod(download_url)

    def native_id(self, url: str) -> str | None:
        value = (url_query_parameter(url, "nttSeqNo") or "").strip()
        return value if value.isdigit() else super().native_id(url)

    def own_fields(self, context: PageContext) -> dict:
        values = super().own_fields(context)
        if not values.get("contact_org"):
            department = context.response.xpath(
                "//*[normalize-space(text())=$label]/following-sibling::*[1]",
                label=DEPARTMENT_LABEL,
            )
            values["contact_org"] = text_of(department[0]) if department else ""
        return values


class MsitSpider(ConfiguredSpider):
    """English press releases (board 42); metadata and selectors from the `msit` entry of
    sources.toml."""

    list_page_class = MsitListPage
    detail_page_class = MsitDetailPage

    def attachment_request(self, url: str, referer: str) -> Request:
        return download_request(url, referer)


class MsitKoreanFeedSpider(FeedSourceSpider):
    """보도자료 (press releases, board 94): its RSS feed, with the board's list as the check
    page."""

    list_page_class = MsitKoreanListPage
    detail_page_class = MsitDetailPage

    def attachment_request(self, url: str, referer: str) -> Request:
        return download_request(url, referer)

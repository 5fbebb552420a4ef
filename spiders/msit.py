"""Korea's Ministry of Science and ICT (MSIT): English press releases.

The list page ships its rows as empty placeholder cells (``td_NTT_SJ_0``, ``td_REG_DT_0``…)
that inline jQuery fills in, so the rows exist only as script text and are read with
regular expressions. Detail pages are plain HTML.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from parsel import Selector, SelectorList
from scrapy import Request
from scrapy.http import Response, TextResponse
from w3lib.html import remove_tags, replace_entities
from w3lib.url import add_or_replace_parameter, url_query_parameter

from crawler.extract import paragraphs, text_of
from crawler.items import ReleaseItem
from crawler.release_spider import LIST_PAGE, ReleaseSpider, listing

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
# The pager calls fn_egov_link_page(2) (or a fn_link_page variant); plain links carry pageIndex=2.
_PAGE_CALL = re.compile(r"fn_\w*link_page\(\s*'?(\d+)")
_PAGE_PARAM = re.compile(r"[?&;]pageIndex=(\d+)")

# --- Detail page -----------------------------------------------------------------------------
# fn_download('<atchFileNo>','<fileOrd>','<ext>'); old pages call fn_download2 without the ext.
_DOWNLOAD_CALL = re.compile(r"fn_download2?\(\s*'([^']+)'\s*,\s*'([^']+)'")
# The English pages keep the Korean labels of their contact block: 담당부서 (department),
# 작성자 (writer), 연락처 (phone). That block sits inside the content container.
DEPARTMENT_LABEL = "담당부서"
BODY_DROP = (".dept_info",)

DEFAULT_BOARD = {"sCode": "eng", "mId": "4", "mPid": "2", "bbsSeqNo": "42"}


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


def parse_list_script(text: str) -> list[ListRow]:
    """Rows written by the list page's inline script, in the order their titles are written."""
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


def _first(selection: SelectorList) -> Selector | None:
    return selection[0] if selection else None


class MsitSpider(ReleaseSpider):
    """Source metadata (agency, list URL, domains) comes from the `msit` entry of sources.toml."""

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Request]:
        """Press-release list: one request per row, then the next list page.

        @url https://www.msit.go.kr/eng/bbs/list.do?sCode=eng&mId=4&mPid=2&pageIndex=1
        @returns items 0 0
        @returns requests 12 12
        """
        board = {name: self._board_value(response, name) for name in DEFAULT_BOARD}
        for row in parse_list_script(response.text):
            ntt_seq_no = row.ntt_seq_no or self._ntt_from_anchor(response, row.row)
            if not ntt_seq_no:
                self.logger.warning("msit: no nttSeqNo in list row %s of %s", row.row, response.url)
                continue
            # A relative URL keeps the host (and drops any ;jsessionid from the list path).
            query = urlencode({**board, "nttSeqNo": ntt_seq_no})
            yield Request(
                response.urljoin(f"view.do?{query}"),
                callback=self.parse_detail,
                cb_kwargs={"list_title": row.title, "list_date": row.date},
                meta=listing(ntt_seq_no, row.title, row.date),
            )
        next_page = self._next_page_url(response)
        if next_page:
            yield Request(next_page, callback=self.parse, meta=LIST_PAGE)

    def parse_detail(
        self, response: Response, list_title: str | None = None, list_date: str | None = None
    ) -> Iterator[ReleaseItem]:
        """Press-release page: always exactly one item; validation drops incomplete ones.

        @url https://www.msit.go.kr/eng/bbs/view.do?sCode=eng&mId=4&mPid=2&bbsSeqNo=42&nttSeqNo=212
        @returns items 1 1
        @returns requests 0 0
        @scrapes title url published_raw body
        """
        native_id = url_query_parameter(response.url, "nttSeqNo")
        if not isinstance(response, TextResponse):  # not a page at all: let validation count it
            yield self.release_item(response, native_id=native_id, title=list_title)
            return
        title = text_of(_first(response.css("div.view_head h2"))) or list_title
        published_raw = text_of(_first(response.css("div.view_head .date"))) or list_date
        content = _first(response.css("#cont-wrap, div.view_cont"))
        body = paragraphs(content, drop=BODY_DROP) if content is not None else []
        while body and body[0] == title:  # the title is repeated at the top of the content
            body.pop(0)
        department = response.xpath(
            "//*[normalize-space(text())=$label]/following-sibling::*[1]", label=DEPARTMENT_LABEL
        )
        image = _first(content.css("img[src]")) if content is not None else None
        yield self.release_item(
            response,
            native_id=native_id,
            title=title or None,
            published_raw=published_raw or None,
            body="\n\n".join(body) or None,
            image_url=response.urljoin(image.attrib["src"]) if image is not None else None,
            attachments=self._attachments(response),
            contact_org=text_of(_first(department)) or None,
        )

    def _attachments(self, response: Response) -> list[dict[str, str]]:
        """Files of the `view_file` block. The site downloads them with a POST of these fields;
        a GET URL with the same query is their stable identifier."""
        files: dict[str, dict[str, str]] = {}
        for link in response.css("div.view_file a[onclick*='fn_download']"):
            call = _DOWNLOAD_CALL.search(link.attrib["onclick"])
            name = text_of(link) or link.attrib.get("title", "")
            if not call or not name:  # preview buttons and icons carry no file name
                continue
            number, order = call.groups()
            query = urlencode({"atchFileNo": number, "fileOrd": order, "fileBtn": "A"})
            url = response.urljoin(f"/ssm/file/fileDown.do?{query}")
            files.setdefault(url, {"name": name, "url": url})
        return list(files.values())

    @staticmethod
    def _board_value(response: Response, name: str) -> str:
        """A board parameter from the list page's hidden form, its URL, or the known default."""
        return (
            response.css(f"input#{name}::attr(value)").get("").strip()
            or url_query_parameter(response.url, name)
            or DEFAULT_BOARD[name]
        )

    @staticmethod
    def _ntt_from_anchor(response: Response, row: str) -> str | None:
        """Some boards put `onclick="fn_detail(N)"` on a plain anchor around the title cell."""
        calls = response.xpath(
            "//*[@id=$cell]/ancestor-or-self::*[self::a or self::tr or self::li][1]"
            "/descendant-or-self::a/@onclick",
            cell=f"td_NTT_SJ_{row}",
        ).getall()
        found = (_DETAIL_CALL.search(call) for call in calls)
        return next((match.group(1) for match in found if match), None)

    @staticmethod
    def _next_page_url(response: Response) -> str | None:
        shown = url_query_parameter(response.url, "pageIndex") or ""
        shown = shown or response.css("input#pageIndex::attr(value)").get("")
        current = int(shown) if shown.strip().isdigit() else 1
        linked = {int(n) for call in response.css("a::attr(onclick)").getall()
                  for n in _PAGE_CALL.findall(call)}  # fmt: skip
        linked |= {int(n) for href in response.css("a::attr(href)").getall()
                   for n in _PAGE_PARAM.findall(href)}  # fmt: skip
        if current + 1 not in linked:
            return None
        return add_or_replace_parameter(response.url, "pageIndex", str(current + 1))

"""Release text from attached PDF and HWPX files when the page body is only a stub."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy import FormRequest
from scrapy.http import HtmlResponse, Request
from sqlalchemy import select

from crawler.attachments import (
    AttachmentBodyMiddleware,
    AttachmentRefused,
    attachment_kind,
    attachment_request,
    attachment_text,
    disposition_filename,
    hwpx_text,
    pdf_text,
    readable_attachments,
)
from crawler.items import ReleaseItem
from crawler.normalize import clean_text
from spiders.msit import download_request
from storage import Database, Release
from tests.databases import new_database_url
from tests.support import FIXTURES, ROOT

FILES = FIXTURES / "attachments" / "files"
PDF = FILES / "joint-call-2024.pdf"
HWPX = FILES / "sw-supply-chain.hwpx"
SPIDER = ROOT / "tests" / "attachment_spider.py"
MSIT_FILE = (
    "https://www.msit.go.kr/ssm/file/fileDown.do?atchFileNo=ATCH_000000000123456&fileOrd=1"
    "&fileBtn=A"
)

PDF_PARAGRAPHS = [
    "Taiwan and France open joint call for quantum and net-zero research",
    "The Example Research Council and the French National Research Agency (ANR) today opened "
    "their third joint call for research projects. Teams from Taiwan and France may apply "
    "together for up to three years of funding in quantum technology and net-zero energy "
    "systems.",
    "Each project is led by one principal investigator in each country. The two agencies "
    "evaluate the proposals jointly and fund their own national teams.",
    "Applications are due on 15 March 2024. Results will be announced in July 2024.",
    "Contact: Department of International Cooperation, +886 2 1234 5678.",
]
HWPX_PARAGRAPHS = [
    "과학기술정보통신부, 소프트웨어 공급망 보안 가이드라인 1.0 발표",
    # A line break inside the paragraph's text is a space.
    "과학기술정보통신부는 국가정보원, 한국인터넷진흥원과 함께 소프트웨어 공급망 보안 "
    "가이드라인 1.0을 발표했다.",
    "이번 가이드라인은 소프트웨어 개발과 배포의 전 과정에서 보안 위협을 줄이기 위한 "
    "국제 협력 사례와 점검 항목을 담았다.",
    # Table cells are paragraphs of their own, after the paragraph holding the table.
    "구분",
    "주요 내용",
    # The second section follows the first.
    "담당 부서: 소프트웨어공급망보안팀",
]

HP = "http://www.hancom.co.kr/hwpml/2011/paragraph"


def make_hwpx(sections: dict[str, bytes], mimetype: bool = True) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if mimetype:
            archive.writestr("mimetype", "application/hwp+zip", zipfile.ZIP_STORED)
        for name, data in sections.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def section(*texts: str) -> bytes:
    paragraphs = "".join(f"<hp:p><hp:run><hp:t>{text}</hp:t></hp:run></hp:p>" for text in texts)
    return f'<hs:sec xmlns:hs="x" xmlns:hp="{HP}">{paragraphs}</hs:sec>'.encode()


# --- Reading files ---------------------------------------------------------------------------


def test_pdf_text_keeps_paragraphs_and_drops_page_numbers() -> None:
    text = pdf_text(PDF.read_bytes())
    assert text.split("\n\n") == PDF_PARAGRAPHS  # the "- 1 -" footer is gone


def test_hwpx_text_reads_sections_paragraphs_and_table_cells_in_order() -> None:
    assert hwpx_text(HWPX.read_bytes()).split("\n\n") == HWPX_PARAGRAPHS


def test_kind_is_sniffed_from_the_bytes_not_the_declared_type() -> None:
    pdf, hwpx = PDF.read_bytes(), HWPX.read_bytes()
    assert attachment_kind(pdf, "application/octet-stream", None) == "pdf"
    assert attachment_kind(hwpx, "application/octet-stream", "download") == "hwpx"
    # An error page served in place of the file, an HWP 5 binary, an office zip.
    assert attachment_kind(b"<html>login required</html>", "text/html", "a.pdf") is None
    assert attachment_kind(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), None, "a.hwp") is None
    docx = make_hwpx({"word/document.xml": b"<w:document/>"}, mimetype=False)
    assert attachment_kind(docx, None, "a.docx") is None
    assert attachment_kind("본문 텍스트".encode(), "text/plain; charset=utf-8", None) == "text"


def test_attachment_text_dispatches_and_returns_none_for_what_it_cannot_read() -> None:
    assert attachment_text(PDF.read_bytes(), "application/pdf", "x.pdf") == "\n\n".join(
        PDF_PARAGRAPHS
    )
    assert attachment_text(HWPX.read_bytes(), "application/hwp+zip", None) == "\n\n".join(
        HWPX_PARAGRAPHS
    )
    assert attachment_text("첫 문단\r\n\r\n둘째 문단".encode("cp949"), "text/plain", "a.txt") == (
        "첫 문단\n\n둘째 문단"
    )
    assert attachment_text(b"%PDF-1.7 truncated garbage", "application/pdf", "x.pdf") is None
    assert attachment_text(b"\x00\x01binary", "application/octet-stream", "x.bin") is None


def test_zip_bomb_is_refused_before_it_is_unpacked() -> None:
    # 30 MB of one repeated paragraph compresses to a few tens of kilobytes.
    big = section("폭탄 " * 10) + b" " * (30 * 1024 * 1024)
    bomb = make_hwpx({"Contents/section0.xml": big})
    assert len(bomb) < 200_000
    with pytest.raises(AttachmentRefused, match="unpack"):
        hwpx_text(bomb)
    assert attachment_text(bomb, "application/hwp+zip", "bomb.hwpx") is None


def test_size_cap_counts_all_sections_together() -> None:
    archive = make_hwpx({f"Contents/section{i}.xml": section("가" * 400) for i in range(3)})
    assert hwpx_text(archive, max_bytes=10_000).count("\n\n") == 2
    with pytest.raises(AttachmentRefused):
        hwpx_text(archive, max_bytes=2_000)  # each section fits, all three do not


def test_entity_expansion_is_refused() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b'<hs:sec xmlns:hs="x" xmlns:hp="' + HP.encode() + b'">'
        b"<hp:p><hp:run><hp:t>&lol2;</hp:t></hp:run></hp:p></hs:sec>"
    )
    with pytest.raises(AttachmentRefused, match="rejected"):
        hwpx_text(make_hwpx({"Contents/section0.xml": laughs}))


def test_archive_without_sections_is_refused() -> None:
    with pytest.raises(AttachmentRefused, match="no Contents/section"):
        hwpx_text(make_hwpx({"Contents/header.xml": b"<x/>"}))


# --- Choosing and requesting attachments ----------------------------------------------------


def test_readable_attachments_prefer_hwpx_then_pdf_and_skip_other_formats() -> None:
    attachments = [
        {"name": "보도자료.hwp", "url": "https://example.org/1"},
        {"name": "보도자료.pdf", "url": "https://example.org/2"},
        {"name": "참고자료.xlsx", "url": "https://example.org/3"},
        {"name": "Press release", "url": "https://example.org/files/release.PDF"},
        {"name": "보도자료.hwpx", "url": "https://example.org/4"},
    ]
    assert [a["url"] for a in readable_attachments(attachments)] == [
        "https://example.org/4",
        "https://example.org/2",
        "https://example.org/files/release.PDF",
    ]


def test_msit_download_is_a_form_post_with_referer() -> None:
    page = "https://www.msit.go.kr/bbs/view.do?sCode=user&bbsSeqNo=94&nttSeqNo=3184474"
    request = download_request(MSIT_FILE, referer=page)
    assert isinstance(request, FormRequest)
    assert request.method == "POST"
    assert request.url == "https://www.msit.go.kr/ssm/file/fileDown.do"
    assert request.body == b"atchFileNo=ATCH_000000000123456&fileOrd=1&fileBtn=A"
    assert request.headers["Referer"] == page.encode()
    assert request.headers["Origin"] == b"https://www.msit.go.kr"


def test_other_downloads_are_gets_with_referer() -> None:
    for make in (attachment_request, download_request):  # MSIT's other files too
        request = make("https://cdn.example.org/f/a.pdf", "https://example.org/news/1")
        assert request.method == "GET"
        assert request.headers["Referer"] == b"https://example.org/news/1"
        assert request.meta["allow_offsite"] is True  # files often live on another host


def test_shared_code_knows_no_site_download_form() -> None:
    # Without the MSIT spider's hook, MSIT's endpoint is an ordinary GET: the form is the
    # spider's knowledge (spiders/msit.py), not the middleware's.
    assert attachment_request(MSIT_FILE, "https://www.msit.go.kr/").method == "GET"
    assert "fileDown" not in Path(sys.modules[attachment_request.__module__].__file__).read_text()


@pytest.mark.parametrize(
    ("header", "name"),
    [
        (b'attachment; filename="release.pdf"', "release.pdf"),
        (b"attachment; filename*=UTF-8''%EB%B3%B4%EB%8F%84.hwpx", "보도.hwpx"),
        ('attachment; filename="보도자료.hwpx"'.encode("cp949"), "보도자료.hwpx"),
        (b"attachment; filename=%EB%B3%B4%EB%8F%84.pdf", "보도.pdf"),
        (b"inline", None),
    ],
)
def test_disposition_filename(header: bytes, name: str | None) -> None:
    assert disposition_filename(header) == name


# --- The middleware, in process --------------------------------------------------------------


class FakeEngine:
    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.requests: list[Request] = []

    async def download_async(self, request: Request) -> Any:
        self.requests.append(request)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def middleware(answer: Any, spider: Any = None) -> tuple[AttachmentBodyMiddleware, FakeEngine]:
    from scrapy.settings import Settings

    engine = FakeEngine(answer)
    stats: dict[str, int] = {}
    crawler = SimpleNamespace(
        settings=Settings({"ATTACHMENT_STUB_CHARS": 200}),
        engine=engine,
        spider=spider,
        stats=SimpleNamespace(inc_value=lambda key: stats.__setitem__(key, stats.get(key, 0) + 1)),
    )
    return AttachmentBodyMiddleware(crawler), engine  # type: ignore[arg-type]


def stub_item(body: str = "첨부파일 참조", **fields: Any) -> ReleaseItem:
    fields.setdefault("attachments", [{"name": "보도자료.hwpx", "url": MSIT_FILE}])
    return ReleaseItem(
        url="https://www.msit.go.kr/bbs/view.do?nttSeqNo=1", body=body, http_status=200, **fields
    )


def run_through(mw: AttachmentBodyMiddleware, item: ReleaseItem) -> list[Any]:
    page = HtmlResponse(url=item["url"], body=b"<html></html>", encoding="utf-8")

    async def outputs() -> Any:
        yield item

    async def collect() -> list[Any]:
        return [output async for output in mw.process_spider_output(page, outputs())]

    return asyncio.run(collect())


def test_failed_download_keeps_the_item_unchanged() -> None:
    mw, engine = middleware(ConnectionRefusedError("no route"))
    item = stub_item()
    before = dict(item)
    assert run_through(mw, item) == [item]
    assert dict(item) == before
    assert len(engine.requests) == 1


def test_the_spider_says_how_its_attachments_download() -> None:
    # The MSIT spider's hook turns its endpoint into the site's form POST; a spider without
    # one gets a GET of the same URL.
    error = ConnectionRefusedError("no route")
    msit_spider = SimpleNamespace(attachment_request=download_request)
    msit, msit_engine = middleware(error, spider=msit_spider)
    plain, plain_engine = middleware(error, spider=SimpleNamespace())
    run_through(msit, stub_item())
    run_through(plain, stub_item())
    assert [r.method for r in msit_engine.requests] == ["POST"]
    assert [r.method for r in plain_engine.requests] == ["GET"]
    assert plain_engine.requests[0].url == MSIT_FILE


def test_unreadable_file_keeps_the_item_unchanged() -> None:
    download = HtmlResponse(url="https://www.msit.go.kr/x", body=b"<html>error</html>")
    mw, _ = middleware(download)
    item = stub_item()
    assert run_through(mw, item)[0]["body"] == "첨부파일 참조"
    assert "extraction" not in item


def test_full_body_or_no_readable_attachment_fetches_nothing() -> None:
    mw, engine = middleware(AssertionError("must not download"))
    run_through(mw, stub_item(body="긴 본문 " * 60))
    run_through(mw, stub_item(attachments=[{"name": "a.hwp", "url": "https://x.org/a"}]))
    assert engine.requests == []


# --- End to end: a replayed crawl stores the attachment's text ------------------------------


@pytest.mark.slow
def test_stub_releases_are_stored_with_their_attachment_text(tmp_path: Path) -> None:
    db = new_database_url(tmp_path)
    report = tmp_path / "report.json"
    middlewares = {"crawler.attachments.AttachmentBodyMiddleware": 940}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "scrapy",
            "runspider",
            str(SPIDER),
            "-a",
            f"report={report}",
            "-s",
            f"REPLAY_DIR={FIXTURES / 'attachments'}",
            "-s",
            f"DATABASE_URL={db}",
            "-s",
            f"SPIDER_MIDDLEWARES={json.dumps(middlewares)}",
            "-s",
            "LOG_LEVEL=INFO",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    stats = json.loads(report.read_text())["stats"]
    assert stats["attachments/used"] == 2
    assert stats["attachments/failed"] == 1  # the gone PDF: its release keeps its stub
    assert stats["downloader/request_method_count/POST"] == 1  # MSIT's form download

    database = Database(db)
    try:
        with database.session(readonly=True) as session:
            stored = {r.native_id: r for r in session.scalars(select(Release))}
            with_raw = {r.native_id for r in stored.values() if r.raw is not None}
    finally:
        database.dispose()
    assert set(stored) == {"2024-031", "3184474", "2024-032", "2024-033"}

    pdf_release = stored["2024-031"]
    assert pdf_release.extraction == "attachment"
    assert pdf_release.body == clean_text(attachment_text(PDF.read_bytes(), None, None))
    assert pdf_release.body.split("\n\n")[1] == PDF_PARAGRAPHS[1]

    hwpx_release = stored["3184474"]
    assert hwpx_release.extraction == "attachment"
    assert hwpx_release.body == clean_text(attachment_text(HWPX.read_bytes(), None, None))
    assert HWPX_PARAGRAPHS[2] in hwpx_release.body.split("\n\n")
    assert hwpx_release.summary == HWPX_PARAGRAPHS[0]  # the first paragraph, as for any body
    assert "3184474" in with_raw  # provenance stays the page itself

    gone = stored["2024-032"]
    assert (gone.extraction, gone.body) == ("selectors", "The full text is in the attachment.")

    full = stored["2024-033"]
    assert full.extraction == "selectors"
    assert full.body.startswith("The Example Research Council and the Czech Academy")

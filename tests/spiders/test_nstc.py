"""NSTC specifics that the generic expected-output test does not spell out."""

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.spider import iterate_spider_output

from crawler.items import ReleaseItem
from spiders.nstc import NstcSpider
from tests.support import fixture_response, fixture_store

LIST_URL = "https://www.nstc.gov.tw/folksonomy/list/6bdef02b-46ee-4659-a2c4-09883339f721?l=en"
LAST_LIST_URL = f"{LIST_URL}&pageNum=2&pageSize=10"
DETAIL = "https://www.nstc.gov.tw/folksonomy/detail/{}?l=en"
FRAUD_NOTICE_UUID = "7cb7258a-0d6a-48d3-89c3-d2bc5699a470"
PINNED_RELEASE_UUID = "166e3204-01ff-48ba-a15f-216d58dd766f"
CZECH_CALL_UUID = "30e20339-0d90-483c-b78b-630fcc1e1211"
LABELS_IN_BODY_UUID = "ff4f3b2e-9bcc-46d8-b207-6b0a97a765a2"
NO_LABELS_UUID = "35590a53-0bea-453f-8725-1af87f92a9aa"
# Site chrome and trailing labels that must never leak into a release body.
CHROME = (
    "Go to the content anchor",
    ":::",
    "Last Modified",
    "Copyright",
    "Date:",
    "Source:",
    "Heping E. Rd.",
    "Sitemap",
    "Attachments",
    "Print",
)


def _requests(url: str) -> list[Request]:
    spider = NstcSpider()
    output = iterate_spider_output(spider.parse(fixture_response(url)))
    return [out for out in output if isinstance(out, Request)]


def _item(url: str, **cb_kwargs: str) -> ReleaseItem:
    output = list(
        iterate_spider_output(NstcSpider().parse_detail(fixture_response(url), **cb_kwargs))
    )
    assert len(output) == 1, output
    return output[0]


def _detail_urls() -> list[str]:
    return sorted(
        saved.url for saved in fixture_store().by_key.values() if "/folksonomy/detail/" in saved.url
    )


def test_pinned_fraud_notice_is_skipped() -> None:
    page = fixture_response(LIST_URL).text
    assert FRAUD_NOTICE_UUID in page and "詐騙" in page  # the notice is really on the page
    assert not any(FRAUD_NOTICE_UUID in request.url for request in _requests(LIST_URL))


def test_pinned_release_is_kept_without_its_marker() -> None:
    pinned = [r for r in _requests(LIST_URL) if PINNED_RELEASE_UUID in r.url]
    assert len(pinned) == 1
    title = pinned[0].cb_kwargs["list_title"]
    assert title.startswith("Executive Yuan Approves NT$182.3 Billion")
    assert "TOP" not in title
    assert pinned[0].cb_kwargs["list_date"] == "2026-08-05"


def test_detail_urls_use_lower_case_language() -> None:
    urls = [r.url for r in _requests(LAST_LIST_URL)]
    assert "l=EN" in fixture_response(LAST_LIST_URL).text
    assert all("l=en" in url and "l=EN" not in url for url in urls if "/detail/" in url)


def test_last_page_and_empty_page_lead_nowhere() -> None:
    callbacks = {request.callback.__name__ for request in _requests(LAST_LIST_URL)}
    assert callbacks == {"parse_detail"}
    # A page past the end still shows a pager; without releases the spider stops there.
    empty = HtmlResponse(
        url=f"{LIST_URL}&pageNum=3&pageSize=10",
        body=(
            b'<div id="templateJ"><div class="news_list marb_30"></div><ul class="pagination">'
            b'<li><a href="?l=en&amp;pageNum=4&amp;pageSize=10">Next</a></li></ul></div>'
        ),
        encoding="utf-8",
    )
    assert list(NstcSpider().parse(empty)) == []


@pytest.mark.parametrize("url", _detail_urls())
def test_no_site_chrome_in_body(url: str) -> None:
    item = _item(url)
    assert item["body"]
    for text in CHROME:
        assert text not in item["body"], text


def test_title_comes_from_the_detail_page() -> None:
    item = _item(DETAIL.format(PINNED_RELEASE_UUID))
    assert item["title"] == (
        "Executive Yuan Approves NT$182.3 Billion Government Science and Technology Budget Proposal"
    )


def test_attachments_have_names_and_absolute_urls() -> None:
    item = _item(DETAIL.format(CZECH_CALL_UUID))
    assert item["attachments"] == [
        {
            "name": "2027-2029 NSTC-CAS Joint Call Guidelines.pdf",
            "url": "https://www.nstc.gov.tw/nstc/attachments/f414305c-5122-48bf-bb54-d2d10f7ae0a7",
        },
        {
            "name": "Application Form for Taiwanese Applicants.odt",
            "url": "https://www.nstc.gov.tw/nstc/attachments/c8738dbe-b87b-4018-a214-b719b9073248",
        },
    ]


def test_photo_is_an_image_not_an_attachment() -> None:
    item = _item(DETAIL.format("d82a8144-43dc-412b-9d71-4aa310c72fd6"))
    assert item["image_url"] == (
        "https://www.nstc.gov.tw/nstc/attachments/fb3d4058-9dda-4d72-8499-e63cd6d1e90e"
    )
    assert item["attachments"] == []


def test_labels_typed_into_the_body_give_the_date() -> None:
    item = _item(DETAIL.format(LABELS_IN_BODY_UUID))
    assert item["published_raw"] == "2022-07-27"
    assert item["body"].endswith("Taiwan Space Agency at the beginning of next year.")


def test_list_date_stands_in_for_a_missing_label() -> None:
    url = DETAIL.format(NO_LABELS_UUID)
    assert _item(url).get("published_raw") is None
    assert _item(url, list_date="2022-08-30")["published_raw"] == "2022-08-30"


def test_an_empty_page_still_yields_one_item() -> None:
    response = HtmlResponse(
        url=DETAIL.format(NO_LABELS_UUID), body=b"<html><body></body></html>", encoding="utf-8"
    )
    items = list(NstcSpider().parse_detail(response))
    assert len(items) == 1
    assert items[0].get("title") is None and items[0].get("published_raw") is None
    assert items[0]["body"] == ""
    assert items[0]["native_id"] == NO_LABELS_UUID


def test_list_uuid_argument_chooses_the_list() -> None:
    uuid = "ba3d22f3-96fd-4adf-a078-91a05b8f0166"
    spider = NstcSpider(list_uuid=uuid)
    assert spider.start_urls == [f"https://www.nstc.gov.tw/folksonomy/list/{uuid}?l=en"]
    assert NstcSpider().start_urls == [LIST_URL]
    with pytest.raises(ValueError):
        NstcSpider(list_uuid="news")


def test_title_wrapped_in_a_child_element_survives() -> None:
    response = HtmlResponse(
        url=LIST_URL,
        body=(
            '<div id="templateJ"><div class="news_list marb_30">'
            '<a href="/folksonomy/detail/be2045b6-4bfd-47be-a773-5f4193a29cca?l=en">'
            '<div class="date">2023-01-03</div><h3><span class="news_top">TOP</span>'
            "<span>Taiwan S&amp;T Hub</span></h3></a>"
            '<a href="/folksonomy/detail/7cb7258a-0d6a-48d3-89c3-d2bc5699a470?l=en">'
            '<div class="date">2024-03-01</div><h3><span class="news_top">TOP</span>'
            "<span>防詐騙公告</span></h3></a>"
            "</div></div>"
        ).encode(),
        encoding="utf-8",
    )
    requests = list(NstcSpider().parse(response))
    assert [r.cb_kwargs["list_title"] for r in requests] == ["Taiwan S&T Hub"]

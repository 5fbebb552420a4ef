from crawler.urls import canonical_url


def test_session_ids_paging_and_empty_params_are_removed() -> None:
    variants = [
        "https://www.msit.go.kr/eng/bbs/view.do;jsessionid=AB12CD?sCode=eng&mId=4&mPid=2"
        "&pageIndex=&bbsSeqNo=42&nttSeqNo=964&searchOpt=ALL&searchTxt=",
        "https://www.msit.go.kr/eng/bbs/view.do?sCode=eng&mId=4&mPid=2&bbsSeqNo=42&nttSeqNo=964",
        "https://www.msit.go.kr/eng/bbs/view.do?nttSeqNo=964&bbsSeqNo=42&pageIndex=3"
        "&sCode=eng&mPid=2&mId=4#top",
    ]
    assert len({canonical_url(url) for url in variants}) == 1


def test_identifying_parameters_are_kept() -> None:
    first = canonical_url("https://www.ida.gov.tw/ctlr?PRO=news.rwdNewsView&lang=1&id=101")
    second = canonical_url("https://www.ida.gov.tw/ctlr?PRO=news.rwdNewsView&lang=1&id=102")
    assert first != second
    assert "id=101" in first and "PRO=news.rwdNewsView" in first

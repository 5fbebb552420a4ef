"""Branch classzh2: Traditional Chinese classes found on the development part.

- A district (區, 區公所) is a local government, as counties, cities and townships are; a
  region, a park or a campus (地區, 園區, 校區) is none.
- A foreign town's delegation received by a town hall of the home side (市政府, 市議會) is town
  diplomacy; one received by a national body stays a visit.
- 雙城 (a twin-city forum or exchange) is a twinning word; a forum's quoted theme
  (「科技改變生活」) names no research body among the parties.
- A tourism MoU is still tourism when cooperation words stand between the cue and the
  agreement noun (觀光交流合作備忘錄, "tourism cooperation agreement").
- A signing ceremony signs something new, even at an anniversary's celebration.
- 訪 before a university's short name (訪嘉大, 訪成大) is a visit.

Each case is a short text in our own words on the shape of the development items (synthetic);
towns, people and dates are not theirs."""

from __future__ import annotations

import pytest

from crawler.classify import classify
from crawler.classify.engine import _cjk_heading, _local_governments, _university_visits
from crawler.classify.lexicon import Term

NEGATIVES = [
    # a district office and a foreign city sign a tourism MoU (區 as a local government)
    (
        "三重區與日本小樽市簽署交流合作備忘錄",
        "三重區公所與小樽市7日簽署交流合作備忘錄，區長與市長約定在節慶、觀光與學生交流上互相往來。"
        "雙方去年起即互派表演團體。",
    ),
    # a national tourism exchange MoU (the topic before 交流合作 and the agreement noun)
    (
        "觀光署與泰國觀光局簽觀光交流合作備忘錄",
        "觀光署與泰國觀光局在曼谷簽觀光交流合作備忘錄，雙方將互相推廣旅遊行程並交換旅客資訊。",
    ),
    # a foreign city's delegation received at the home city hall and council
    (
        "日本佐世保市代表團訪高雄 盼擴大交流",
        "日本佐世保市長率代表團造訪高雄市政府與市議會，副市長接待並陪同參觀港區；代表團也參加了"
        "燈會的開幕活動。兩市在觀光與港口產業上往來已久。",
    ),
    # a twin-city forum whose theme is quoted
    (
        "北市府團隊赴廈門出席雙城論壇 將簽兩份MOU",
        "臺北市政府團隊前往廈門出席雙城論壇，今年主題為「科技讓城市更宜居」，兩市將在論壇期間簽署"
        "垃圾處理與職業訓練兩份備忘錄。",
    ),
]

POSITIVES = [
    # an anniversary celebration with a signing ceremony: the signing is new
    (
        "韓國慶北大學出席創校60週年校慶暨簽約儀式",
        "韓國慶北大學副校長一行於校慶當天出席典禮，下午由校長與慶北大學副校長舉行簽約儀式，"
        "約定交換學生人數與共同指導研究生。",
        ["KR"],
        "agreement",
    ),
    # a foreign university's party visits a university named by its short form
    (
        "澳洲昆士蘭大學師生訪成大 盼推動合作研究",
        "澳洲昆士蘭大學工學院教授率研究生5人來訪成功大學，參觀水利與海洋工程實驗室，並與副校長"
        "討論共同研究與學者互訪。",
        ["AU"],
        "visit-or-delegation",
    ),
    # a foreign prefecture's education chief invited by the ministry: a national host
    (
        "日本岡山縣教育長訪臺 深化臺日教育交流",
        "教育部邀請岡山縣教育委員會教育長訪臺四天，參訪臺中與新竹的學校，並與國際司司長會談。",
        ["JP"],
        "visit-or-delegation",
    ),
    # a city's science-park S&T MoU with a foreign city stays cooperation (a science party)
    (
        "新竹市與日本筑波市簽署科技交流合作備忘錄",
        "新竹市政府與筑波市在筑波研究學園都市簽署科技交流合作備忘錄，雙方的研究機構將合作半導體"
        "與精密機械研究。",
        ["JP"],
        "agreement",
    ),
]


@pytest.mark.parametrize(("title", "body"), NEGATIVES)
def test_town_and_tourism_pacts_are_no_cooperation(title: str, body: str) -> None:
    result = classify(title, body, "TW", "zh-Hant")
    assert not result.is_cooperation, result.evidence


@pytest.mark.parametrize(
    ("text", "visits"),
    [
        ("美國師生訪嘉大 盼強化合作", 1),
        ("校長訪臺大並簽約", 0),  # 大 opens no word end: left alone
        ("代表團訪中興大學", 1),
        ("駐日代表訪大陸台商", 0),  # no character before 大
        ("德國議員訪臺大使館", 0),  # 大 opens another word (大使館)
        ("副校長訪瑞典皇家理工學院", 1),  # a full name ending in 學院
        ("記者專訪成大校長", 0),  # an interview, not a visit
        ("秘書處訪加之行", 1),  # a country's one-character name
        ("學生參訪加強交流", 0),  # 參訪 holds it (below); 訪加強 is no country
    ],
)
def test_visit_before_a_university_short_name(text: str, visits: int) -> None:
    assert len(_university_visits(text, [])) == visits


def test_a_listed_visit_word_keeps_its_visit() -> None:
    """參訪 is listed: the 訪 it holds makes no second visit term."""
    text = "日本教授參訪交大"
    listed = Term(4, 6, "參訪", ("type.visit-or-delegation",))
    assert _university_visits(text, []) and not _university_visits(text, [listed])


def test_tourism_stays_tourism_through_cooperation_words() -> None:
    """The English form of the same construction: the cue qualifies the agreement."""
    result = classify(
        "Okinawa and Taiwan tourism cooperation MOU",
        "Taiwan's tourism bureau and Okinawa signed a tourism cooperation memorandum to promote"
        " travel.",
        "TW",
        "en",
    )
    assert not result.is_cooperation, result.evidence


@pytest.mark.parametrize(
    ("title", "heading"),
    [
        ("我國與中東歐國家關係", True),
        ("臺韓關係概況", True),
        ("日台関係", True),
        ("副總統深化台日關係", False),  # a verb of building: an act, not a page
        ("台日關係研討會 聚焦半導體", False),  # a blank: a headline with an event
    ],
)
def test_a_relations_noun_phrase_heads_a_page(title: str, heading: bool) -> None:
    assert _cjk_heading(title) is heading


def test_a_relations_heading_decides_against() -> None:
    result = classify(
        "我國與北歐國家關係",
        "我國與瑞典、丹麥、芬蘭及挪威在科技、教育與文化方面維持密切往來，近年簽署多項合作備忘錄，"
        "並設有科技合作聯合會議。",
        "TW",
        "zh-Hant",
        model=False,
    )
    assert not result.is_cooperation, result.evidence
    assert "title is a heading (a relations noun phrase)" in result.evidence


BUSINESS = [
    # a companies' delegation signs letters of intent abroad: deals, not S&T cooperation
    (
        "工商協進會率企業團赴越南 簽署五份合作意向書",
        "工商協進會理事長率領八十家企業組成的企業團前往河內，與越南企業簽署五份合作意向書，涵蓋"
        "紡織、物流與再生能源採購。",
        False,
    ),
    # a university travels with it and signs: a research body is a party
    (
        "科技大學隨企業團赴越南 與河內大學簽署合作備忘錄",
        "科技大學校長隨企業團前往河內，與河內大學簽署合作備忘錄，將推動共同研究與交換學生。",
        True,
    ),
]


@pytest.mark.parametrize(("title", "body", "cooperation"), BUSINESS)
def test_a_business_delegations_signings_are_deals(
    title: str, body: str, cooperation: bool
) -> None:
    assert classify(title, body, "TW", "zh-Hant").is_cooperation is cooperation


VISITS_AND_KINDS = [
    # 訪 before an institute's full name: a visit, and a past signing in the lead keeps it one
    (
        "清華大學副校長訪荷蘭台夫特理工大學 願深化合作",
        "清華大學副校長12日在駐荷蘭代表陪同下與台夫特理工大學副校長會面，雙方同意推動研究生交換與"
        "半導體研究合作。台夫特理工大學去年已與成大簽訂雙聯學位協議。",
        ["NL"],
        "visit-or-delegation",
    ),
    # a "2+2" dual degree is part of an agreement, not a funding call
    (
        "長榮大學與日本岡山大學締結姊妹校 推動「2+2」雙聯學位",
        "長榮大學與岡山大學簽署姊妹校合作協議，兩校將推動學生交流、共同研究與「2+2」雙聯學位。",
        ["JP"],
        "agreement",
    ),
]


@pytest.mark.parametrize(("title", "body", "partners", "kind"), VISITS_AND_KINDS)
def test_visit_and_agreement_kinds(title: str, body: str, partners: list[str], kind: str) -> None:
    result = classify(title, body, "TW", "zh-Hant")
    assert result.is_cooperation, result.evidence
    assert sorted(result.partners) == partners
    assert result.coop_type == kind


# Foreign countries' offices in Taiwan are their embassies: their heads' calls are courtesy.
FOREIGN_OFFICES = [
    (
        "德國在台協會處長參訪工研院",
        "德國在台協會處長今日參訪工研院，了解綠能與半導體研發成果，並與院長交換意見。",
    ),
    (
        "荷蘭在台辦事處代表參訪中研院 盼擴大交流",
        "荷蘭在台辦事處代表拜訪中央研究院，參觀基因體研究中心，並與副院長就研究人員交流交換意見。",
    ),
]


@pytest.mark.parametrize(("title", "body"), FOREIGN_OFFICES)
def test_foreign_offices_in_taiwan_are_envoys(title: str, body: str) -> None:
    result = classify(title, body, "TW", "zh-Hant")
    assert not result.is_cooperation, result.evidence


# The other verbs of visiting and the renewed contract: announcements when a partner is named.
MORE_VOCABULARY = [
    (
        "成大副校長走訪德國阿亨工業大學 洽談研究合作",
        "成功大學副校長率團走訪阿亨工業大學，與該校國際副校長討論氫能與材料的共同研究及博士生互訪。",
        ["DE"],
        "visit-or-delegation",
    ),
    (
        "中山大學與法國波爾多大學續約 延長雙聯學位合作",
        "中山大學與波爾多大學完成續約，將延長雙聯學位與海洋科學共同研究五年。",
        ["FR"],
        "agreement",
    ),
    (
        "屏科大與印尼茂物農業大學簽MOA 推動熱帶農業研究",
        "屏東科技大學與茂物農業大學日前簽了MOA，雙方將推動熱帶農業研究與研究生交換。",
        ["ID"],
        "agreement",
    ),
]


@pytest.mark.parametrize(("title", "body", "partners", "kind"), POSITIVES + MORE_VOCABULARY)
def test_signings_and_visits_stay_cooperation(
    title: str, body: str, partners: list[str], kind: str
) -> None:
    result = classify(title, body, "TW", "zh-Hant")
    assert result.is_cooperation, result.evidence
    assert sorted(result.partners) == partners
    assert result.coop_type == kind


def test_a_foreign_visit_received_by_a_town_hall_is_town_diplomacy() -> None:
    result = classify(
        "加拿大亞伯達代表到訪花蓮市 盼開啟合作",
        "加拿大亞伯達省駐台辦事處代表訪問花蓮市公所，市長接待並就觀光與雙語教育交換意見。"
        "市長表示盼未來雙方有更多交流。",
        "TW",
        "zh-Hant",
    )
    assert not result.is_cooperation, result.evidence


@pytest.mark.parametrize(
    ("title", "towns"),
    [
        ("板橋區與日本魚津市簽署備忘錄", ["板橋區", "與日本魚津市"]),
        ("竹科管理局與新竹科學園區廠商座談", []),  # a park is no town
        ("臺灣與東南亞區域合作論壇", []),  # a region is no town
        ("協助企業拓展日本市場", []),  # a market is no town
    ],
)
def test_local_governments_of_a_title(title: str, towns: list[str]) -> None:
    assert [m.group() for m in _local_governments(title)] == towns

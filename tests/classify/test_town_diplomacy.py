"""Branch classzh: who the parties are when they are towns.

A pact or a visit between local governments (sister cities, friendship pacts, a county's
delegation to a prefecture), or by a friendship association, is town diplomacy: REALSET.md
labels it a negative unless a research body or a science mechanism is named (development
items of six publishers: 高雄市與日本京都市簽署…, 魚池鄉與佐賀縣嬉野市締結友好協定, a county's trips
to Mie and to Palau, 徳島県・済州特別自治道, friendship associations of Tainan and Tochigi).

Each case is a short text in our own words, made up on the shape of those items (synthetic);
the towns, people and dates are not theirs."""

from __future__ import annotations

import pytest

from crawler.classify import classify

TOWN_DIPLOMACY = [
    # two towns and a friendship-pact word
    (
        "屏東縣與日本大分縣簽署友好交流協定",
        "屏東縣長10日在大分縣廳與大分縣知事簽署友好交流協定，雙方將在觀光、農業與青少年交流方面"
        "合作。屏東是大分縣在臺灣的第三個友好夥伴。",
        "TW",
        "zh-Hant",
    ),
    # two cities and no friendship word: who signs decides
    (
        "嘉義市與日本松山市簽署交流協定書",
        "嘉義市長與松山市長以視訊方式簽署交流協定書，兩市將在觀光、棒球與文化活動上互相往來。"
        "駐大阪辦事處處長到場見證。",
        "TW",
        "zh-Hant",
    ),
    # the home county's delegation heads the title and calls on a foreign country
    (
        "宜蘭縣府訪問團出訪菲律賓 盼深化雙邊往來",
        "宜蘭縣副縣長率縣府訪問團前往菲律賓，拜會宿霧省省長，介紹宜蘭的溫泉與農特產品，並邀請對方"
        "參加夏季的童玩節。雙方也交換農業行銷的經驗。",
        "TW",
        "zh-Hant",
    ),
    # a friendship association's goodwill visit (a university it calls on is its host)
    (
        "日本靜岡縣日台友好協會會長率團參訪東海 盼加深交流",
        "日本靜岡縣日台友好協會會長一行8人來臺，在東海大學國際長陪同下參觀校園，並表示返日後將"
        "協助促成更多學生互訪。",
        "TW",
        "zh-Hant",
    ),
    # a prefecture and a foreign county sign a friendship pact
    (
        "鳥取県、台湾・嘉義県と友好交流協定を締結",
        "鳥取県は5月20日、嘉義県と友好交流協定を結んだ。知事と県長が県庁で協定書に署名し、観光や"
        "農産物の販路、若者のスポーツ交流を進めることを確認した。",
        "JP",
        "ja",
    ),
    # a friendship headline whose lead names the towns' pact (a call on its anniversary)
    (
        "台日雙城再相會 台中與京都深化友好交流",
        "今年是台中市與京都市締結友好交流協定十年，京都市長以視訊拜會台中市長，雙方期盼擴大"
        "觀光與青年交流。",
        "TW",
        "zh-Hant",
    ),
    # sister cities in English
    (
        "Mayor signs sister city agreement with Japan's Matsue",
        "The mayor and her counterpart from Matsue, Japan, signed a sister city agreement at city"
        " hall on Tuesday, pledging exchanges in culture, tourism and school visits.",
        "US",
        "en",
    ),
    # a German town partnership
    (
        "Städtepartnerschaft mit dem japanischen Kurashiki besiegelt",
        "Der Oberbürgermeister und der Bürgermeister von Kurashiki unterzeichneten im Rathaus die"
        " Urkunde zur Städtepartnerschaft. Geplant sind Austausche von Schülern, Vereinen und"
        " Kulturgruppen.",
        "DE",
        "de",
    ),
]


@pytest.mark.parametrize("model", [False, True])
@pytest.mark.parametrize(("title", "body", "home", "language"), TOWN_DIPLOMACY)
def test_town_diplomacy_is_no_cooperation(
    title: str, body: str, home: str, language: str, model: bool
) -> None:
    result = classify(title, body, home, language, model=model)
    assert not result.is_cooperation
    assert any("town diplomacy" in line for line in result.evidence)


SCIENCE_PARTIES = [
    # a city's S&T exchange memorandum, visiting research institutes
    (
        "新竹市與德國德勒斯登市簽署科技交流備忘錄",
        "新竹市長率團訪問德國，與德勒斯登市長簽署科技交流合作備忘錄，並參訪當地的半導體研究機構，"
        "盼推動雙方研究人員互訪。",
        "TW",
        "zh-Hant",
        "DE",
    ),
    # a foreign prefecture's education chief, hosted by the ministry (the home side is national)
    (
        "日本福井縣教育長訪臺 推動臺日教育交流",
        "教育部邀請日本福井縣教育委員會教育長訪臺四天，安排參訪臺中與新竹多所高中，並討論兩地"
        "學生互訪與教師研習的合作。",
        "TW",
        "zh-Hant",
        "JP",
    ),
    # twinning of universities, not of towns
    (
        "Convention de jumelage entre l'Université d'Oran et l'Université de Sfax",
        "Les deux universités ont signé une convention de jumelage qui prévoit des projets de"
        " recherche communs et la mobilité des doctorants entre l'Algérie et la Tunisie.",
        "DZ",
        "fr",
        "TN",
    ),
]


@pytest.mark.parametrize(("title", "body", "home", "language", "partner"), SCIENCE_PARTIES)
def test_a_research_body_or_science_word_keeps_the_pact(
    title: str, body: str, home: str, language: str, partner: str
) -> None:
    result = classify(title, body, home, language, model=False)
    assert not any("town diplomacy" in line for line in result.evidence)
    assert result.is_cooperation and partner in result.partners


# Industry-academia cooperation joins a university and a company; a headline that names it
# and no foreign side reports a domestic pair (development items of three Taiwanese
# publishers; one had the company's foreign accreditation in its lead).
def test_industry_academia_with_no_foreign_side_is_domestic() -> None:
    # synthetic
    title = "南部科技大學與國內出版公司簽署產學合作協議"
    body = (
        "南部科技大學與一家出版公司簽署產學合作協議，雙方將合辦語言課程與實習。"
        "該公司長年與日本多所大學及英國語言機構合作，也代辦國際交換學生。"
    )
    result = classify(title, body, "TW", "zh-Hant", model=False)
    assert not result.is_cooperation
    assert any("industry-academia" in line for line in result.evidence)


def test_industry_academia_with_a_foreign_side_in_the_title_is_left_to_the_rules() -> None:
    # synthetic: the visitor is the foreign side
    title = "加拿大大學校長率團訪台 將與台灣深化產學合作"
    body = "加拿大一所大學的校長率團訪台，拜會國科會與三所大學，討論半導體與AI的聯合研究計畫。"
    result = classify(title, body, "TW", "zh-Hant", model=False)
    assert not any("industry-academia" in line for line in result.evidence)
    assert result.is_cooperation and "CA" in result.partners


@pytest.mark.parametrize(
    ("title", "body", "home", "language"),
    [
        # an industry delegation travels to open markets (業界代表團, like 企業代表團)
        (
            "局長率創科業界代表團訪問荷蘭",
            "創新科技局局長率業界代表團前往荷蘭，推介本地創科企業，並出席當地的科技展覽。",
            "HK",
            "zh-Hant",
        ),
        # recruiting foreign students is promotion (유학생 유치)
        (
            "한빛대, 베트남 교육기관과 협력 확대…유학생 유치 나서",
            "한빛대는 베트남 하노이의 교육기관 두 곳을 방문해 유학생 유치 설명회를 열고"
            " 협력 방안을 논의했다.",
            "KR",
            "ko",
        ),
    ],
)
def test_promotion_delegations_and_student_recruitment_are_no_cooperation(
    title: str, body: str, home: str, language: str
) -> None:
    result = classify(title, body, home, language, model=False)
    assert not result.is_cooperation
    assert any("promotion" in line for line in result.evidence)


def test_a_consulates_visit_is_an_envoys_call() -> None:
    # synthetic, on the shape of a Quebec university's page (a development item): consuls and
    # consulates are envoys like ambassadors and embassies
    title = "Visite du Consulat général d'Allemagne à l'Université de Sherbrooke"
    body = (
        "Une délégation du Consulat général d'Allemagne a visité l'Université de Sherbrooke pour"
        " explorer des pistes de collaboration en recherche et en mobilité étudiante."
    )
    for model in (False, True):
        result = classify(title, body, "CA", "fr", model=model)
        assert not result.is_cooperation
        assert any("envoy" in line for line in result.evidence)


@pytest.mark.parametrize(
    "title",
    [
        # synthetic: a foreign official's remark on potential cooperation
        "泰國科技部次長:可與台灣擴大半導體與農業科技合作",
        # synthetic: an interview
        "部長接受專訪：台捷在太空與生醫已有具體討論",
    ],
)
def test_a_speakers_remark_with_no_event_or_mechanism_is_no_announcement(title: str) -> None:
    # Development items of three publishers (interviews and remarks that "could deepen
    # cooperation"); 22 such development titles, all negatives.
    body = (
        "一名官員在台北一場論壇場邊受訪時表示，台灣與泰國、捷克在產業與科技等許多領域都有合作潛力，"
        "未來可望深化交流。"
    )
    for model in (False, True):
        result = classify(title, body, "TW", "zh-Hant", model=model)
        assert not result.is_cooperation
        assert any("a remark" in line for line in result.evidence)


def test_a_speakers_headline_that_names_a_mechanism_stays() -> None:
    # synthetic: the quote names the meeting (a kind), so the remark rule does not apply
    title = "國科會主委:第二屆台泰科技合作會議下月在曼谷舉行"
    body = (
        "國科會主委表示，第二屆台泰科技合作會議將於下月在曼谷舉行，"
        "雙方將檢視聯合研究計畫的進度。"
    )
    result = classify(title, body, "TW", "zh-Hant", model=False)
    assert not any("a remark" in line for line in result.evidence)
    assert result.is_cooperation and "TH" in result.partners

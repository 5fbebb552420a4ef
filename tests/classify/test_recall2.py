"""Recall of German, French and Traditional Chinese, and the vocabulary gaps batch z showed
(branch classrecall2, issue 20).

Each test is a made-up text, restated from the mechanism of several development errors, and
fails without the change it covers (docs/classification.md, "Branch classrecall2").
"""

from __future__ import annotations

import pytest

from crawler.classify import classify


@pytest.mark.parametrize(
    ("title", "body", "home", "lang", "partner"),
    [
        # The German participle of receiving ("haben ... empfangen") ties the visitors'
        # country to the visit in the lead.
        (
            "Delegation der Universität Wuhan zu Gast in Kassel",
            "Die Präsidentin hat Vertreter der Universität Wuhan aus China empfangen. "
            "Besprochen wurden gemeinsame Studiengänge und ein Austausch von Lehrenden.",
            "DE",
            "de",
            "CN",
        ),
        # Japanese "came to the school / university" (来校, 来学) and 訪れ ("visited").
        (
            "タイのチェンマイ大学一行が来校",
            "2023年5月8日、タイのチェンマイ大学から副学長ら4名が本校を訪れ、学長らと懇談した。"
            "今後の学生交流について意見を交わした。",
            "JP",
            "ja",
            "TH",
        ),
        (
            "ペルー国立工科大学長が来学",
            "ペルー国立工科大学の学長が本学を訪問し、学術交流について学長と懇談した。",
            "JP",
            "ja",
            "PE",
        ),
    ],
)
def test_a_delegation_received_at_home_is_a_visit(
    title: str, body: str, home: str, lang: str, partner: str
) -> None:
    result = classify(title, body, home, lang)
    assert result.is_cooperation
    assert partner in result.partners
    assert result.coop_type == "visit-or-delegation"


@pytest.mark.parametrize(
    ("title", "body", "home", "lang"),
    [
        (
            "Kenyan High Commissioner visits the University of Dhaka",
            "Kenya's High Commissioner to Bangladesh came to the University of Dhaka on 3 May "
            "and met the Vice-Chancellor to discuss possible academic cooperation.",
            "BD",
            "en",
        ),
        (
            "Visite du Consulat général du Japon à l'Université de Bordeaux",
            "Une délégation du Consulat général du Japon à Lyon a visité l'université pour "
            "renforcer les liens et explorer de nouvelles collaborations.",
            "FR",
            "fr",
        ),
        (
            "Japanischer Generalkonsul an der Hochschule Coburg",
            "Der Generalkonsul kam zu einem Meinungsaustausch mit dem Präsidenten. Besprochen "
            "wurden Hochschulkooperationen zwischen Deutschland und Japan.",
            "DE",
            "de",
        ),
        (
            "일본 총영사, 부산대 방문해 교류 확대 논의",
            "주부산 일본 총영사가 부산대학교를 방문해 총장과 "
            "양국 대학 간 교류 확대 방안을 논의했다.",
            "KR",
            "ko",
        ),
    ],
)
def test_consuls_and_high_commissioners_are_envoys(
    title: str, body: str, home: str, lang: str
) -> None:
    assert not classify(title, body, home, lang).is_cooperation


@pytest.mark.parametrize(
    ("title", "body", "home", "lang", "partners"),
    [
        # An overseas region is the home side: a university of Guadeloupe signs for France.
        (
            "Nouvelle convention avec le Brésil pour l'Université des Antilles en Guadeloupe",
            "Le président de l'Université des Antilles et le recteur de l'Université fédérale "
            "de Bahia au Brésil ont signé le 2 mars une convention-cadre de coopération.",
            "FR",
            "fr",
            {"BR"},
        ),
        # ... and so is a territory of the United States.
        (
            "University of Puerto Rico signs research agreement with Mexico's UNAM",
            "The University of Puerto Rico and UNAM of Mexico signed an agreement on joint "
            "research in marine biology on Tuesday.",
            "US",
            "en",
            {"MX"},
        ),
    ],
)
def test_an_overseas_region_is_the_home_side(
    title: str, body: str, home: str, lang: str, partners: set[str]
) -> None:
    result = classify(title, body, home, lang)
    assert result.is_cooperation
    assert set(result.partners) == partners


def test_a_shared_agency_acronym_on_its_own_site_is_the_home() -> None:
    # South Africa's NRF relaying a call with Japan: the NRF is the home's, not Korea's.
    result = classify(
        "NRF call: joint research with Japan (JSPS) now open",
        "The NRF and JSPS invite joint proposals from researchers in both countries; the "
        "internal deadline is 1 March.",
        "ZA",
        "en",
    )
    assert result.is_cooperation
    assert set(result.partners) == {"JP"}


@pytest.mark.parametrize(
    ("title", "body", "home", "lang", "partner", "kind"),
    [
        # Hong Kong and Macao name the mainland 內地 and its ministries 國家...部; 接受申請
        # ("accepts applications") opens a call as 受理申請 does.
        (
            "研資局與國家科技部聯合科研資助計劃四月起接受申請",
            "研究資助局與國家科技部合辦的聯合科研資助計劃將於四月接受申請，支持香港與內地學者的合作項目。",
            "HK",
            "zh-Hant",
            "CN",
            "joint-call",
        ),
        # French and German exonyms of Nanjing.
        (
            "Lille signe un accord-cadre avec l'Université de Nankin",
            "L'Université de Lille a signé le 4 mai un accord-cadre avec l'Université de Nankin "
            "pour développer les échanges d'étudiants.",
            "FR",
            "fr",
            "CN",
            "agreement",
        ),
    ],
)
def test_mainland_and_exonym_names(
    title: str, body: str, home: str, lang: str, partner: str, kind: str
) -> None:
    result = classify(title, body, home, lang)
    assert result.is_cooperation
    assert partner in result.partners
    assert result.coop_type == kind


def test_a_visit_title_with_its_partner_and_a_lead_that_reports_the_visit() -> None:
    # The lead names only the institutions: the visit stands for the title's partner, as a
    # mechanism does.
    result = classify(
        "L'Université de Nantes accueille une délégation de l'Université coréenne d'Ajou",
        "Du 3 au 5 avril, l'Université de Nantes a reçu une délégation de l'Université d'Ajou "
        "pour préparer les actions du partenariat ; la délégation a visité les laboratoires.",
        "FR",
        "fr",
        model=False,
    )
    assert result.is_cooperation
    assert set(result.partners) == {"KR"}
    assert result.coop_type == "visit-or-delegation"


@pytest.mark.parametrize(
    ("title", "body", "home", "lang", "partner"),
    [
        (
            "Hochschule Kempten vertieft Beziehungen nach Indonesien",
            "Im März reiste eine Delegation der Hochschule Kempten nach Indonesien, um die "
            "Zusammenarbeit mit zwei Partneruniversitäten in Bandung zu vertiefen.",
            "DE",
            "de",
            "ID",
        ),
        (
            "University of Ghana strengthens its relationship with Japan on a visit to Tokyo",
            "A delegation of the University of Ghana travelled to Japan last week and met "
            "partners at two universities to expand student exchanges.",
            "GH",
            "en",
            "JP",
        ),
    ],
)
def test_relations_that_a_verb_builds_are_no_overview(
    title: str, body: str, home: str, lang: str, partner: str
) -> None:
    result = classify(title, body, home, lang)
    assert result.is_cooperation
    assert partner in result.partners


def test_an_overview_of_relations_stays_one() -> None:
    assert not classify(
        "Deutschland und Indonesien: bilaterale Beziehungen",
        "Die Beziehungen zwischen Deutschland und Indonesien sind eng; seit 1990 besteht ein "
        "Abkommen über wissenschaftlich-technologische Zusammenarbeit.",
        "DE",
        "de",
    ).is_cooperation


def test_a_talk_with_an_envoy_is_a_courtesy_call() -> None:
    # 간담회 is a talk, not a forum: with the ambassador it is the call itself.
    assert not classify(
        "한국대, 주한 베트남대사관 방문해 대사와 간담회",
        "한국대학교는 5월 3일 주한 베트남대사의 초청으로 대사관을 찾아 간담회를 했다고 밝혔다. "
        "양측은 유학생 교류 확대 방안을 논의했다.",
        "KR",
        "ko",
    ).is_cooperation


@pytest.mark.parametrize(
    ("title", "body", "partner"),
    [
        (
            "Fraunhofer IWM und KIMM verstärken Kooperation im Leichtbau",
            "Das Fraunhofer IWM und das KIMM haben in Freiburg eine Vereinbarung über "
            "gemeinsame Forschung im Leichtbau unterzeichnet.",
            "KR",
        ),
        (
            "Fraunhofer IKTS und NIMS verstärken Kooperation bei Keramiken",
            "Das Fraunhofer IKTS und das NIMS haben in Dresden eine Vereinbarung über "
            "gemeinsame Forschung an Hochleistungskeramiken unterzeichnet.",
            "JP",
        ),
    ],
)
def test_government_research_institutes_name_their_country(
    title: str, body: str, partner: str
) -> None:
    # Korea's and Japan's public research institutes are named by their acronyms alone.
    result = classify(title, body, "DE", "de", model=False)
    assert result.is_cooperation
    assert set(result.partners) == {partner}


def test_a_japanese_list_after_the_home_body_is_no_pair() -> None:
    # "JAXA、ドイツ・スペイン・イギリス": 、 then ・ continue a list; all three are partners,
    # not just the first one read as a pair with JAXA.
    result = classify(
        "NICT、ドイツ・スペイン・イギリスの研究機関と協力協定を締結",
        "情報通信研究機構(NICT)は、ドイツ、スペイン、イギリスの研究機関とそれぞれ協力協定を結んだ。",
        "JP",
        "ja",
    )
    assert result.is_cooperation
    assert set(result.partners) == {"DE", "ES", "GB"}

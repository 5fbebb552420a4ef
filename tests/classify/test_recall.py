"""Recall: cooperation the rules missed for want of a name or a word (branch classrecall).

Each test is a made-up text for one mechanism found among the development misses of several
publishers; each fails without the change it covers (docs/classification.md, "Branch
classrecall").
"""

from __future__ import annotations

import pytest

from crawler.classify import classify
from crawler.classify.gazetteer import gazetteer
from crawler.classify.text import normalize


def _codes(text: str, home: str) -> set[str]:
    """The codes of the names in ``text`` as ``classify`` reads it (normalised first)."""
    return {m.code for m in gazetteer().find(normalize(text), [], home, "latin")[0]}


@pytest.mark.parametrize(
    ("text", "home", "code"),
    [
        # A bilateral adjective names its foreign side whichever of the two is the home:
        # "Vietnamesisch-Deutschen" on a German site is Vietnam, "franco-tunisienne" on a
        # Tunisian one France.
        ("Campus der Vietnamesisch-Deutschen Universität", "DE", "VN"),
        ("Campus der Vietnamesisch-Deutschen Universität", "VN", "DE"),
        ("la coopération franco-tunisienne", "TN", "FR"),
        ("la coopération franco-tunisienne", "FR", "TN"),
        # "français" after another side's combining form ("algéro-français").
        ("le programme algéro-français de recherche", "FR", "DZ"),
        ("le programme algéro-français de recherche", "DZ", "FR"),
    ],
)
def test_a_bilateral_adjective_names_the_foreign_side(text: str, home: str, code: str) -> None:
    assert code in _codes(text, home)


def test_french_alone_stays_the_language() -> None:
    # "français" is read only inside a compound: alone it is also the language.
    assert _codes("Le site est disponible en français.", "MA") == set()


@pytest.mark.parametrize(
    ("text", "home", "code"),
    [
        ("mit dem palästinensischen Ministerium für Hochschulbildung", "DE", "PS"),
        ("avec le ministère palestinien de l'Enseignement supérieur", "FR", "PS"),
        ("une délégation mauritanienne", "MA", "MR"),
        ("mit der jemenitischen Universität Sanaa", "DE", "YE"),
        ("l'université tchadienne de N'Djamena", "FR", "TD"),
        ("des chercheurs burkinabè", "FR", "BF"),
        ("mit nordkoreanischen Forschern", "DE", "KP"),
    ],
)
def test_french_and_german_adjectives_of_the_remaining_countries(
    text: str, home: str, code: str
) -> None:
    assert code in _codes(text, home)


def test_a_bilateral_university_in_the_title_names_its_partner() -> None:
    found = classify(
        "Grundsteinlegung für den neuen Campus der Indonesisch-Deutschen Hochschule",
        "An der Grundsteinlegung nahmen der Bildungsminister und der Rektor teil.",
        "DE",
        "de",
        model=False,
    )
    assert found.is_cooperation and found.partners == ("ID",)
    assert found.coop_type == "hub-or-center"


@pytest.mark.parametrize(
    ("title", "body", "home", "lang"),
    [
        (
            "臺大與某研究院合設中心正式揭幕",
            "臺灣大學與德國某研究院合作,在臺大校園設立聯合中心,並舉行揭幕典禮。",
            "TW",
            "zh-Hant",
        ),
        (
            "Pose de la première pierre du campus de l'université commune",
            "Le campus de l'université franco-sénégalaise accueillera 2 000 étudiants.",
            "FR",
            "fr",
        ),
    ],
)
def test_an_unveiling_or_a_foundation_stone_opens_a_hub(
    title: str, body: str, home: str, lang: str
) -> None:
    found = classify(title, body, home, lang, model=False)
    assert found.is_cooperation and found.coop_type == "hub-or-center"


@pytest.mark.parametrize(
    ("title", "body", "kind"),
    [
        # 調印 (a signing) and 研究室 set up (設置): a joint laboratory's signing ceremony.
        (
            "某工科大学と国際共同研究室設置の調印式",
            "本学はフランスの某工科大学と学内に国際共同研究室を設置することになり、調印式を行った。",
            "hub-or-center",
        ),
        ("某大学と調印式", "本学はドイツの某大学と学術交流の調印式を行った。", "agreement"),
    ],
)
def test_japanese_signing_and_laboratory_words(title: str, body: str, kind: str) -> None:
    found = classify(title, body, "JP", "ja", model=False)
    assert found.is_cooperation and found.coop_type == kind


@pytest.mark.parametrize(
    ("title", "body", "home", "lang"),
    [
        (
            "マレーシア、インドネシア、タイの4大学と学術交流協定を締結",
            "本学はマレーシア、インドネシア、タイの4大学と学術交流協定を結んだ。",
            "JP",
            "ja",
        ),
        (
            "University signs agreements with partners in Malaysia, Indonesia and Thailand",
            "The university signed exchange agreements with universities in Malaysia,"
            " Indonesia and Thailand.",
            "JP",
            "en",
        ),
    ],
)
def test_a_list_of_partners_is_no_pair_of_foreign_sides(
    title: str, body: str, home: str, lang: str
) -> None:
    # Two names that pair without the home side report other parties' relations ("Accord
    # UE-Japon"); a list of three or more names the partners of the home side.
    trace: dict[str, object] = {}
    found = classify(title, body, home, lang, trace, model=False)
    assert found.is_cooperation and set(found.partners) == {"MY", "ID", "TH"}
    assert not any("pairs two foreign sides" in e for e in found.evidence)


@pytest.mark.parametrize(
    ("date", "kind"),
    [
        # The visit's own date ("am 7. November 2025") is no older agreement: the MoU signed
        # on the visit is the news.
        ("Beim Besuch am 7. November 2025 unterzeichneten", "agreement"),
        # A bare year dates the agreement before the trip: the visit stays the news.
        ("Beide Seiten hatten 2019 in Delhi", "visit-or-delegation"),
    ],
)
def test_a_full_date_is_the_visits_own(date: str, kind: str) -> None:
    found = classify(
        "Delegation der Universität Delhi zu Besuch an der Hochschule Musterstadt",
        f"{date} der Vizekanzler der indischen Universität und die Präsidentin ein Memorandum"
        " of Understanding über eine Hochschulpartnerschaft.",
        "DE",
        "de",
        model=False,
    )
    assert found.is_cooperation and found.coop_type == kind


def test_a_french_visit_on_a_full_date_signs() -> None:
    found = classify(
        "Une délégation de l'Université de Lyon en visite de travail à Dakar",
        "Conduite par son président, une délégation française a été reçue le 26 mars 2019 à"
        " l'Université de Dakar pour signer une convention de partenariat.",
        "SN",
        "fr",
        model=False,
    )
    assert found.is_cooperation and found.coop_type == "agreement"


def test_a_french_mission_abroad_is_a_visit() -> None:
    found = classify(
        "Mission régionale au Japon pour la coopération universitaire",
        "À l'occasion du Sommet franco-japonais de l'innovation à Osaka, la Région a conduit"
        " une mission au Japon avec ses universités.",
        "FR",
        "fr",
        model=False,
    )
    assert found.is_cooperation and found.coop_type == "visit-or-delegation"


def test_quebec_adjectives_name_canada() -> None:
    # On a Quebec site "franco-québécoise" names France; elsewhere "québécois" names Canada.
    assert "FR" in _codes("la coopération universitaire franco-québécoise", "CA")
    assert "CA" in _codes("avec les universités québécoises", "FR")


def test_a_french_higher_joint_committee_is_a_committee() -> None:
    found = classify(
        "La Tunisie et le Sénégal concluent un accord en marge du Comité supérieur mixte",
        "Les ministres tunisien et sénégalais ont signé un accord-cadre lors de la session.",
        "TN",
        "fr",
        model=False,
    )
    assert found.is_cooperation and found.coop_type == "joint-committee"


def test_a_chinese_delegation_visit_headline() -> None:
    # "X學者團訪Y": a delegation (團) visits (訪); no 訪問 or 參訪 spelled out.
    found = classify(
        "越南某科技大學學者團訪本校",
        "越南某科技大學學者團日前到本校參訪,雙方規劃雙聯學位與交換生計畫。",
        "TW",
        "zh-Hant",
        model=False,
    )
    assert found.is_cooperation and found.coop_type == "visit-or-delegation"


def test_a_signed_contract_is_an_agreement() -> None:
    # "簽交換學生合約": 合約 (a contract) signed with a partner university, as 協議 or 備忘錄.
    found = classify(
        "本校再訪某州立大學 簽交換學生合約",
        "本校校長率團再訪美國某州立大學,簽訂校級交換學生合約,並洽談雙聯學位。",
        "TW",
        "zh-Hant",
        model=False,
    )
    assert found.is_cooperation and found.coop_type == "agreement"


@pytest.mark.parametrize(
    ("text", "home", "code"),
    [
        ("une délégation de l'Université de Sherbrooke", "MA", "CA"),
        ("une délégation de l'université s'est rendue à Nouakchott", "MA", "MR"),
        ("avec l'Université Cheikh Anta Diop de Dakar", "FR", "SN"),
        ("die Partneruniversität in Ho-Chi-Minh-Stadt", "DE", "VN"),
        ("l'université de Sfax", "FR", "TN"),
    ],
)
def test_university_cities_of_french_speaking_partners(text: str, home: str, code: str) -> None:
    assert code in _codes(text, home)


@pytest.mark.parametrize(
    ("title", "body", "lang"),
    [
        (
            "L'école d'ingénieurs de retour du Japon",
            "Le directeur a été invité par une université japonaise partenaire d'un double"
            " diplôme.",
            "fr",
        ),
        (
            "Die Hochschulleitung zurück aus Japan",
            "Der Präsident besuchte eine japanische Partneruniversität und sprach über einen"
            " Doppelabschluss.",
            "de",
        ),
    ],
)
def test_back_from_a_trip_is_a_visit(title: str, body: str, lang: str) -> None:
    found = classify(title, body, "FR" if lang == "fr" else "DE", lang, model=False)
    assert found.is_cooperation and found.coop_type == "visit-or-delegation"

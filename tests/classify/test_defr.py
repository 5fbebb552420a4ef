"""German and French recall and kinds by general cues (branch classdefr, issue 20).

Each text is made up, restated from the mechanism of several development errors or from how
the language inflects, and fails on the base commit (docs/classification.md, "Branch
classdefr"), except the guards, which say what must stay out (an envoy's own call, an
anniversary visit, a trip with no cooperation said). The rules are tested alone
(``model=False``): the model's n-grams are fitted on the development part and say nothing of
a new wording.
"""

from __future__ import annotations

import pytest

from crawler.classify import classify
from crawler.classify.engine import _french_kinds, _head_kinds


def test_a_visit_title_is_confirmed_by_the_leads_visit() -> None:
    # A title that reports one visit without naming the partner is confirmed by the lead's
    # sentence that names the visitors' or hosts' country.
    result = classify(
        "Delegation der Universität Bergen zu Besuch in Leipzig",
        "Eine Delegation der norwegischen Universität Bergen besuchte am Montag die Universität"
        " Leipzig und traf die Rektorin. Besprochen wurden ein Austausch von Doktoranden und"
        " gemeinsame Sommerschulen.",
        "DE",
        "de",
        model=False,
    )
    assert result.is_cooperation
    assert result.partners == ("NO",)
    assert result.coop_type == "visit-or-delegation"


def test_an_anniversary_visit_title_is_no_visit_title() -> None:
    trace: dict[str, object] = {}
    result = classify(
        "Delegation der Universität Bergen zum 40-jährigen Jubiläum in Leipzig",
        "Eine Delegation der norwegischen Universität Bergen besuchte am Montag die Universität"
        " Leipzig und traf die Rektorin.",
        "DE",
        "de",
        trace,
        model=False,
    )
    assert not result.is_cooperation


@pytest.mark.parametrize(
    ("title", "body", "home", "lang"),
    [
        (
            "Delegationsreisen des Wissenschaftsministeriums",
            "Eine Delegation des Ministeriums besuchte Hochschulen in Vietnam. Weitere Reisen"
            " führten nach Chile und Kanada.",
            "DE",
            "de",
        ),
        (
            "Missions et délégations en Asie",
            "Une délégation de l'université a visité des partenaires au Japon. D'autres missions"
            " ont conduit l'équipe en Corée du Sud et au Vietnam.",
            "FR",
            "fr",
        ),
    ],
)
def test_plural_visit_nouns_head_a_listing(title: str, body: str, home: str, lang: str) -> None:
    trace: dict[str, object] = {}
    result = classify(title, body, home, lang, trace, model=False)
    assert not result.is_cooperation
    assert float(trace["score"]) < 2.0  # type: ignore[arg-type]


def test_german_compound_heads_of_calls_forums_and_centres() -> None:
    # Words the lexicon lists (Förderaufruf, Forschungszentrum) keep its reading.
    found = {t.text: t.categories for t in _head_kinds(
        "die sonderausschreibung, der förderaufruf, die forschungsbekanntmachung, eine"
        " fachkonferenz, ein expertenworkshop, die jahrestagung, ein innovationszentrum,"
        " das partnerlabor, die hochschulrektorenkonferenz, die stellenausschreibung, ein"
        " spendenaufruf, die programmausschreibungen, das forschungszentrum"
    )}  # fmt: skip
    assert found == {
        "sonderausschreibung": ("type.joint-call",),
        "forschungsbekanntmachung": ("type.joint-call",),
        "fachkonferenz": ("type.forum-or-workshop",),
        "expertenworkshop": ("type.forum-or-workshop",),
        "jahrestagung": ("type.forum-or-workshop",),
        "innovationszentrum": ("hub_noun",),
        "partnerlabor": ("hub_noun",),
    }


def test_french_kind_phrases_in_every_gender_and_number() -> None:
    found = {t.text: t.categories for t in _french_kinds(
        "deux laboratoires communs, une unité mixte, les commissions bilatérales, le comité"
        " conjoint, des appels à propositions conjoints, deux lettres d'intention, un protocole"
        " d'accord, un centre culturel"
    )}  # fmt: skip
    assert found == {
        "laboratoires communs": ("type.hub-or-center",),
        "unité mixte": ("type.hub-or-center",),
        "commissions bilatérales": ("type.joint-committee",),
        "comité conjoint": ("type.joint-committee",),
        "appels à propositions conjoints": ("type.joint-call",),
        "lettres d'intention": ("type.agreement",),
        "protocole d'accord": ("type.agreement",),
    }


@pytest.mark.parametrize(
    ("title", "body", "home", "lang", "partner", "kind"),
    [
        (
            "Deutsch-japanische Fachkonferenz zur Wasserstoffforschung in Kobe",
            "Forschende aus Deutschland und Japan trafen sich vom 3. bis 5. Mai in Kobe zu einer"
            " Fachkonferenz über die Speicherung von Wasserstoff.",
            "DE",
            "de",
            "JP",
            "forum-or-workshop",
        ),
        (
            "Inauguration de deux laboratoires communs franco-vietnamiens",
            "Le CNRS et l'Académie des sciences et technologies du Vietnam ont inauguré deux"
            " laboratoires communs à Hanoï, en chimie et en physique des matériaux.",
            "FR",
            "fr",
            "VN",
            "hub-or-center",
        ),
        (
            "Réunion du comité bilatéral franco-marocain de la recherche",
            "Le comité bilatéral franco-marocain s'est réuni à Rabat pour arrêter les priorités"
            " de la coopération scientifique des deux prochaines années.",
            "FR",
            "fr",
            "MA",
            "joint-committee",
        ),
    ],
)
def test_inflected_and_compound_kinds(
    title: str, body: str, home: str, lang: str, partner: str, kind: str
) -> None:
    result = classify(title, body, home, lang, model=False)
    assert result.is_cooperation
    assert partner in result.partners
    assert result.coop_type == kind


def test_an_envoy_escorting_a_minister_is_no_envoys_call() -> None:
    result = classify(
        "Côte d'Ivoire–Belgique : vers un partenariat renforcé pour la recherche",
        "Le ministre ivoirien de l'Enseignement supérieur a reçu le 4 avril la ministre belge"
        " de la Coopération, accompagnée de l'ambassadeur de Belgique et d'une délégation. Les"
        " deux ministres ont parlé de bourses et de projets de recherche communs.",
        "CI",
        "fr",
        model=False,
    )
    assert result.is_cooperation
    assert result.partners == ("BE",)


def test_an_envoys_own_call_still_is_one() -> None:
    result = classify(
        "Côte d'Ivoire–Belgique : vers un partenariat renforcé pour la recherche",
        "L'ambassadeur de Belgique a rendu visite le 4 avril au ministre ivoirien de"
        " l'Enseignement supérieur. Les deux hommes ont parlé de bourses et de projets communs.",
        "CI",
        "fr",
        model=False,
    )
    assert not result.is_cooperation


def test_an_indian_state_names_india() -> None:
    result = classify(
        "Kerala Startup Mission unterzeichnet Kooperationsvereinbarung mit Fraunhofer IPK",
        "Vertreter der Kerala Startup Mission besuchten am 12. März das Fraunhofer IPK in"
        " Berlin und unterzeichneten eine Kooperationsvereinbarung über Produktionstechnik.",
        "DE",
        "de",
        model=False,
    )
    assert result.is_cooperation
    assert result.partners == ("IN",)


@pytest.mark.parametrize(
    "title",
    [
        "L'Université de Lille se met aux couleurs du Japon",
        "Un tour d'horizon de la recherche au Japon",
    ],
)
def test_english_visit_words_that_are_french_words(title: str) -> None:
    # "se met" (puts), "un tour" (a turn) are no "met" nor "tour" in French text.
    trace: dict[str, object] = {}
    result = classify(
        title,
        "Pendant une semaine, la bibliothèque expose des estampes prêtées par un collectionneur.",
        "FR",
        "fr",
        trace,
        model=False,
    )
    assert not result.is_cooperation
    assert "visit-or-delegation" not in str(result.evidence)


LEAD_TRIP = (
    "Eine Informationsreise führte im März zwölf Hochschulleitungen nach Vietnam, {aim}. Auf dem"
    " Programm standen Hanoi und Da Nang."
)


def test_a_country_title_over_a_lead_trip_to_cooperate_there() -> None:
    result = classify(
        "Neue Wege nach Vietnam",
        LEAD_TRIP.format(aim="um dort Partner für gemeinsame Studiengänge zu finden"),
        "DE",
        "de",
        model=False,
    )
    assert result.is_cooperation
    assert result.partners == ("VN",)
    assert result.coop_type == "visit-or-delegation"


def test_a_country_title_over_a_lead_trip_alone_is_anybodys_trip() -> None:
    result = classify(
        "Neue Wege nach Vietnam",
        LEAD_TRIP.format(aim="die das Land zum ersten Mal sahen"),
        "DE",
        "de",
        model=False,
    )
    assert not result.is_cooperation

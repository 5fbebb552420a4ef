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

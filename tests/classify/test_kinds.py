"""The kind of cooperation a release reports: general rules, each on a short made-up text."""

from __future__ import annotations

import pytest

from crawler.classify import classify


def test_a_signed_statement_is_an_agreement_even_at_a_committee() -> None:
    # A joint statement issued at a committee meeting reports the meeting; one the ministers
    # sign is the agreement itself, though the lead names the meeting it was signed at.
    body = (
        "The Japanese and German ministers held the fifth joint committee meeting in Tokyo and"
        " {} a joint statement."
    )
    title = "Japan and Germany: joint statement on quantum research"
    trace: dict[str, object] = {}
    signed = classify(title, body.format("signed"), "JP", "en", trace, model=False)
    assert signed.is_cooperation and signed.coop_type == "agreement"
    assert "'signed'" in str(trace["kind_reason"])
    issued = classify(title, body.format("issued"), "JP", "en", model=False)
    assert issued.is_cooperation and issued.coop_type == "joint-committee"



def test_a_comma_ends_the_split_verb() -> None:
    # "schreibt ..., ... aus" is the verb "schreiben" (writes) and another verb's particle.
    result = classify(
        "Deutschland und Israel vertiefen die Zusammenarbeit in der Wassertechnologie",
        "Das BMBF schreibt in seiner Mitteilung, die Partner bauten die deutsch-israelische"
        " Zusammenarbeit aus.",
        "DE", "de", model=False,
    )  # fmt: skip
    assert result.coop_type != "joint-call"






def test_an_anniversary_of_an_agreement_reports_the_event() -> None:
    # The agreement the lead names is the one celebrated; the release reports the event held
    # for it, unless the lead signs a new one.
    title = "New Zealand and Japan celebrate 30 years of science cooperation"
    lead = (
        "The minister hosted an event in Wellington marking 30 years of science cooperation"
        " between New Zealand and Japan under their science and technology agreement."
        " New Zealand and Japanese researchers presented their joint projects."
    )
    trace: dict[str, object] = {}
    event = classify(title, lead, "NZ", "en", trace, model=False)
    assert event.is_cooperation and event.coop_type == "forum-or-workshop"
    assert "anniversary" in str(trace["kind_reason"])
    signed = classify(
        title, lead + " The two ministers signed a new memorandum on quantum research.",
        "NZ", "en", model=False,
    )  # fmt: skip
    assert signed.is_cooperation and signed.coop_type == "agreement"


# (title, body, home, language, kind, words the kind's reason quotes or None), one general rule
# each, on a short made-up text.
KINDS = {
    # The partner's sentence names no mechanism, the next one does: the release reports the
    # memorandum, not "other-cooperation" (the label of 5 of 723 real cooperation items).
    "lead-sentence-without-the-partner": (
        "University of Leeds deepens cooperation with Japan",
        "The University of Leeds will cooperate more closely with Kyoto University in Japan. "
        "The two universities signed a memorandum of understanding on student exchange.",
        "GB", "en", "agreement", "the lead names 'signed'",
    ),
    # A title opening with a reception word (면담) reports a visit only when it names no
    # mechanism: here the ministers agree to set up a joint committee.
    "reception-that-sets-up-a-committee": (
        "과기정통부 장관, 덴마크 장관 면담…과학기술 공동위원회 설립 합의",
        "과학기술정보통신부 장관은 덴마크 고등교육과학부 장관과 면담하고 양국 과학기술"
        " 공동위원회를 설립하기로 합의했다.",
        "KR", "ko", "joint-committee", None,
    ),
    # "schreiben ... aus" is the verb of a call; the particle closes the clause.
    "german-split-verb-call": (
        "Deutschland und Israel: neue Projekte zur Wassertechnologie",
        "Das BMBF und das israelische Wissenschaftsministerium schreiben gemeinsame"
        " deutsch-israelische Projekte zur Wassertechnologie aus. Anträge sind bis Mai"
        " einzureichen.",
        "DE", "de", "joint-call", "'schreiben … aus'",
    ),
    # A recurring call is numbered, as a recurring committee meeting is.
    "numbered-call": (
        "4e appel Wallonie-Bruxelles – Québec",
        "La Fédération Wallonie-Bruxelles et le Québec lancent le quatrième appel de leur"
        " programme bilatéral de recherche. Les équipes peuvent obtenir 200 000 euros.",
        "BE", "fr", "joint-call", "'4e appel'",
    ),
    # German compounds name the office abroad ("Auslandsbüro"); it opens like a centre.
    "office-abroad-hub": (
        "Forschungsgemeinschaft eröffnet Auslandsbüro in Japan",
        "Die Forschungsgemeinschaft hat in Tokio ein Auslandsbüro eröffnet, das gemeinsame"
        " deutsch-japanische Projekte anbahnen soll.",
        "DE", "de", "hub-or-center", "auslandsbüro",
    ),
    "round-table-forum": (
        "Table ronde franco-japonaise sur l'hydrogène",
        "Des chercheurs français et japonais se sont réunis à Tokyo lors d'une table ronde"
        " consacrée à la coopération sur l'hydrogène.",
        "FR", "fr", "forum-or-workshop", None,
    ),
    # 第N回 numbers a recurring meeting as 第N屆 and 제N차 do; it is the point of the trip.
    "japanese-numbered-committee": (
        "経済産業大臣がドイツを訪問 第3回日独経済閣僚対話を開催",
        "経済産業大臣は第3回日独経済閣僚対話に出席するためドイツを訪問しました。"
        "両国は水素分野の協力を確認しました。",
        "JP", "ja", "joint-committee", "numbers a recurring meeting",
    ),
    # "2차 회의" numbers a recurring meeting as "제2차" does; the MOUs are signed at it.
    "korean-ordinal-without-je": (
        "한-덴마크 녹색성장동맹 2차 회의…과학기술 등 10건 MOU",
        "지식경제부는 서울에서 한-덴마크 녹색성장동맹 제2차 회의를 열고"
        " 과학기술 협력서 10건을 체결했다.",
        "KR", "ko", "joint-committee", None,
    ),
    # "2차전지" is a secondary battery, not a second meeting.
    "secondary-battery-no-ordinal": (
        "한-독 2차전지 협력 MOU 체결…공동 연구 추진",
        "과학기술정보통신부는 독일 연방교육연구부와 2차전지 공동연구 양해각서를 체결했다.",
        "KR", "ko", "agreement", None,
    ),
    # German closes compounds on the head noun: "Informationsreise" is a trip,
    # "Partnerschaftsvereinbarung" an agreement, though the lexicon lists neither word.
    "german-compound-trip": (
        "Hochschule Coburg auf Informationsreise in Vietnam",
        "Mit einer Informationsreise nach Vietnam suchte die Hochschulleitung der Hochschule"
        " Coburg neue Partner für die Zusammenarbeit an vietnamesischen Universitäten.",
        "DE", "de", "visit-or-delegation", "informationsreise",
    ),
    "german-compound-agreement": (
        "Universität Passau gewinnt eine Partnerhochschule in Indien",
        "Die Universität Passau hat mit dem Indian Institute of Science in Bangalore eine"
        " Partnerschaftsvereinbarung für die Zusammenarbeit in der Forschung geschlossen.",
        "DE", "de", "agreement", "partnerschaftsvereinbarung",
    ),
    # "Vertrag" and "unterschreiben" are the everyday German words for a treaty and signing.
    "german-vertrag": (
        "TU Dresden baut die Zusammenarbeit mit Japan aus",
        "Die TU Dresden und die Universität Tokio haben einen Vertrag über gemeinsame"
        " Forschung und den Austausch von Promovierenden unterschrieben.",
        "DE", "de", "agreement", None,
    ),
    # Plural and feminine forms of the agreement nouns and participles.
    "french-plural-agreements": (
        "Universités algériennes et tunisiennes : douze conventions-cadres",
        "Douze conventions-cadres ont été signées à Sfax entre des universités algériennes et"
        " tunisiennes, après un colloque sur la recherche en énergie solaire.",
        "DZ", "fr", "agreement", None,
    ),
    # オフィス is an office as 事務所 is; opened abroad, it is a hub.
    "japanese-office-hub": (
        "大学がハノイにオフィスを開設",
        "本学はベトナムの大学との共同研究を進めるため、ハノイにオフィスを開設しました。",
        "JP", "ja", "hub-or-center", None,
    ),
    # 交流会 is an exchange meeting, a forum, as 交流會 and 교류회 are.
    "japanese-exchange-meeting-forum": (
        "日独の若手研究者が研究交流会",
        "本機構はドイツ研究振興協会と、日独の若手研究者による研究交流会を東京で開催しました。",
        "JP", "ja", "forum-or-workshop", "交流会",
    ),
    # An "Association" in a body's name signs nothing: the delegation's trip is the news.
    "association-in-a-name-is-no-agreement": (
        "Delegation of the Japan Association of National Universities visits Indonesia",
        "A delegation of the Japan Association of National Universities met the rectors of"
        " three Indonesian universities to expand academic cooperation with Indonesia.",
        "JP", "en", "visit-or-delegation", None,
    ),
    # No kind named: money for the partners' projects, or applications asked for, is a
    # funding programme, a joint call (not "other-cooperation", the label of 5 in 1,078).
    "money-for-projects-is-a-call": (
        "A$12m for research projects with Vietnam",
        "The science minister announced 12 million dollars for research projects that"
        " Australian and Vietnamese scientists carry out together on water security.",
        "AU", "en", "joint-call", "'$'",
    ),
    "applications-asked-for-are-a-call": (
        "Programme franco-marocain Toubkal 2025",
        "Le programme franco-marocain Toubkal soutient la coopération scientifique entre"
        " laboratoires français et marocains. Les dossiers doivent être déposés avant le"
        " 30 avril 2025.",
        "FR", "fr", "joint-call", "'déposés'",
    ),
    # ... and an event held together is a forum.
    "an-event-is-a-forum": (
        "日仏宇宙協力の特別イベントを東京で",
        "フランス国立宇宙研究センターと本機構は、日仏の宇宙協力を紹介する特別イベントを東京で"
        "開きました。",
        "JP", "ja", "forum-or-workshop", "'イベント'",
    ),
    # A summit of leaders is the occasion of what it agrees; a summit of a field is a forum.
    "leaders-summit-reports-its-agreement": (
        "Sommet franco-vietnamien : la recherche au programme",
        "Au sommet franco-vietnamien de Hanoï, les deux ministres de la recherche ont signé un"
        " accord de coopération scientifique entre la France et le Vietnam.",
        "FR", "fr", "agreement", None,
    ),
    "university-summit-is-a-forum": (
        "Sommet universitaire franco-marocain à Rabat",
        "Le sommet universitaire franco-marocain a réuni à Rabat des présidents d'universités"
        " françaises et marocaines autour de la coopération en recherche.",
        "FR", "fr", "forum-or-workshop", "sommet universitaire",
    ),
    # A trip whose lead announces a signing still to come, or names an agreement that already
    # governs the cooperation, reports the trip.
    "trip-with-a-signing-to-come": (
        "Le ministre en visite officielle au Sénégal",
        "Le ministre de l'Enseignement supérieur effectue une visite officielle au Sénégal à"
        " l'invitation de son homologue, et signera une convention de coopération"
        " scientifique avec le Sénégal.",
        "CI", "fr", "visit-or-delegation", None,
    ),
    "trip-under-an-older-agreement": (
        "Une délégation de l'université de Dakar en visite à Abidjan",
        "Une délégation de l'université de Dakar s'est rendue à Abidjan pour renforcer le"
        " partenariat avec la Côte d'Ivoire, déjà régi par un accord-cadre.",
        "SN", "fr", "visit-or-delegation", None,
    ),
    # A campus two universities run together is their joint centre, though it is signed.
    "joint-campus-signed-is-a-hub": (
        "Signing ceremony for the Kyoto University-Chulalongkorn University Joint Campus",
        "Kyoto University and Chulalongkorn University in Thailand signed the agreement that"
        " opens their joint campus in Bangkok.",
        "JP", "en", "hub-or-center", "joint campus",
    ),
    # Quebec French names an agreement an "entente".
    "quebec-entente": (
        "Montréal et Lyon : une entente de partenariat en recherche",
        "Une entente de partenariat en recherche et en mobilité étudiante unit désormais"
        " l'Université de Montréal et l'Université de Lyon, en France.",
        "CA", "fr", "agreement", None,
    ),
    # 使節団 is a delegation, as 사절단 and 代表団 are; Japanese 協議 is talks, not the
    # Chinese 協議 (an agreement).
    "japanese-mission-is-a-visit": (
        "大学使節団がインドネシアの大学と協力を協議",
        "本学の使節団がインドネシアを訪れ、バンドン工科大学と研究協力について協議しました。",
        "JP", "ja", "visit-or-delegation", None,
    ),
    # German names a call with the English loanword; with no other kind named, it is the call.
    "german-call-loanword": (
        "Deutschland und Finnland fördern Batterieforschung",
        "Der neue Call der deutsch-finnischen Batteriekooperation richtet sich an Teams aus"
        " beiden Ländern, die gemeinsam an Speichern forschen.",
        "DE", "de", "joint-call", "'Call'",
    ),
    # French launches a centre ("lance", "lancement") as it opens one.
    "french-launch-of-a-centre": (
        "Sénégal : lancement du centre franco-sénégalais de recherche sur le climat",
        "La ministre a procédé au lancement du centre franco-sénégalais de recherche sur le"
        " climat, porté par l'IRD et l'université de Dakar.",
        "FR", "fr", "hub-or-center", None,
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(KINDS))
def test_kind(case: str) -> None:
    title, body, home, language, kind, quoted = KINDS[case]
    trace: dict[str, object] = {}
    result = classify(title, body, home, language, trace, model=False)
    assert result.is_cooperation and result.coop_type == kind
    if quoted is not None:
        assert quoted in str(trace["kind_reason"])


def test_german_compound_heads_read_only_trips_and_agreements() -> None:
    from crawler.classify.engine import _compound_kinds

    found = {t.text: t.categories for t in _compound_kinds(
        "die antrittsbesuche, eine chinareise, die hochschuldelegation, ein bildungsabkommen,"
        " die dissertationspreise, die landkreise, das freihandelsabkommen, ein kulturzentrum"
    )}  # fmt: skip
    assert found == {
        "antrittsbesuche": ("type.visit-or-delegation",),
        "chinareise": ("type.visit-or-delegation",),
        "hochschuldelegation": ("type.visit-or-delegation",),
        "bildungsabkommen": ("type.agreement",),
    }

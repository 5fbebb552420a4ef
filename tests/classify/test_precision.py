"""Branch classprec4: the rules' one signing vocabulary, and who signs a headline's agreement;
branch classparty: who is a party of a mechanism sentence.

Each case is a short text: restated from a development release of the real set (its id
named; the wording is ours) or made up (marked synthetic) for the shape a rule must leave
alone."""

from __future__ import annotations

import pytest

from crawler.classify import classify

# One signing vocabulary ([signing] in lexicon.toml) for the three rules that ask whether
# something was signed. Each word below was missing from one of the three former lists
# (_SIGNED, _SIGNING, _SIGNING_TERMS), so each case failed with the list it lacked.


@pytest.mark.parametrize("verb", ["signed", "inked", "unterzeichnet"])
def test_a_statement_signed_in_any_signing_word_is_an_agreement(verb: str) -> None:
    # synthetic: the statement rule's list lacked "inked" (the envoy rule's had it)
    body = (
        "The Japanese and German ministers held the fifth joint committee meeting in Tokyo and"
        f" {verb} a joint statement."
    )
    trace: dict[str, object] = {}
    result = classify(
        "Japan and Germany: joint statement on quantum research", body, "JP", "en", trace,
        model=False,
    )  # fmt: skip
    assert result.is_cooperation and result.coop_type == "agreement"
    assert f"'{verb}'" in str(trace["kind_reason"])


@pytest.mark.parametrize(
    ("sentence", "kind"),
    [
        ("The two ministers signed a new memorandum on quantum research.", "agreement"),
        # the anniversary rule's list lacked "inked"
        ("The two ministers inked a new memorandum on quantum research.", "agreement"),
        # no signing act: the agreement named is the one celebrated
        ("The two ministers praised the memorandum on quantum research.", "forum-or-workshop"),
    ],
)
def test_an_anniversary_that_signs_something_new_reports_the_agreement(
    sentence: str, kind: str
) -> None:
    # synthetic, on the shape of test_kinds' anniversary case
    title = "New Zealand and Japan celebrate 30 years of science cooperation"
    lead = (
        "The minister hosted an event in Wellington marking 30 years of science cooperation"
        " between New Zealand and Japan under their science and technology agreement. "
    )
    result = classify(title, lead + sentence, "NZ", "en", model=False)
    assert result.is_cooperation and result.coop_type == kind


@pytest.mark.parametrize(
    ("body", "signs"),
    [
        # the envoy rule's list lacked 簽定 (a variant of 簽訂)
        ("智利駐台大使3日訪問中興大學,雙方並於會中簽定學術合作備忘錄。", True),
        ("智利駐台大使3日訪問中興大學,雙方就學生交流交換意見。", False),
    ],
)
def test_an_envoys_visit_that_signs_in_any_signing_word(body: str, signs: bool) -> None:
    # synthetic, on the shape of test_classify's envoy cases
    result = classify("智利大使訪問中興大學", body, "TW", "zh-Hant", model=False)
    assert result.is_cooperation is signs
    assert any("reports a signing" in e for e in result.evidence) is signs


# Who signs: a headline whose agreement stands in a clause that names no foreign side (the
# foreign side is the aim of another clause), over a lead whose signing sentence names none
# either, reports domestic parties signing.
DOMESTIC_SIGNINGS = {
    # zh-Hant-u-ettoday-003 (batch u), restated: an economic association and a university,
    # both Taiwanese, sign a letter of intent to promote Taiwan-Japan chip cooperation.
    "association and university": (
        "東亞經濟協會與陽明交大簽署意願書 共推台日半導體產學合作",
        "中華民國東亞經濟協會理事長黃教漳4日晚間在台北與陽明交通大學校長林奇宏簽署合作意願書,"
        "為協會首度與大學締約。協會前身為1972年起與日本經團連輪流舉辦的東亞經濟會議。",
    ),
    # zh-q-moea-01 (batch q), restated: a ministry's programme results, and MOUs it plans
    # with countries it does not name.
    "ministry's plan": (
        "台歐研發合作創造產值逾42億 經濟部今年擬再與2國簽MOU",
        "經濟部產業技術司7日指出,A+國際創新研發補助已與14國開放徵案、與5國簽訂官方MOU,"
        "今年預計再與兩個國家在AI與雷射領域簽署MOU。",
    ),
}


@pytest.mark.parametrize("case", DOMESTIC_SIGNINGS)
def test_a_headline_signing_apart_from_the_foreign_side_is_domestic(case: str) -> None:
    title, body = DOMESTIC_SIGNINGS[case]
    result = classify(title, body, "TW", "zh-Hant", model=False)
    assert not result.is_cooperation
    assert any("domestic parties" in e for e in result.evidence)
    assert not classify(title, body, "TW", "zh-Hant").is_cooperation  # with the model too


FOREIGN_SIGNINGS = {
    # zh-Hant-w-yahoo-002 (batch w), restated: the signing clause names no country, the
    # lead's signing sentence names the Korean hospital.
    "lead names the partner": (
        ("長庚與土城醫院攜手韓國漢陽大學醫院 簽署神經科學研究合作備忘錄",
         "長庚醫院與土城醫院昨日與韓國漢陽大學醫院簽署神經科學研究合作備忘錄,"
         "三院將共同培育人才。"),
        ("KR",),
    ),
    # synthetic: the lead's signing sentence says "both sides" (雙方), the title's pair.
    "both sides": (
        ("台日科技合作再進一步 雙方簽署量子研究備忘錄",
         "雙方今日在台北簽署量子研究合作備忘錄,將共同徵求研究計畫。"),
        ("JP",),
    ),
    # synthetic: Korean spaces its words; a blank is no clause break there.
    "Korean words": (
        ("한미 양자 과학기술 협력 공동성명 서명", "양국은 공동성명에 서명했다."),
        ("US",),
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", FOREIGN_SIGNINGS)
def test_a_signing_with_the_foreign_side_stays_cooperation(case: str) -> None:
    (title, body), partners = FOREIGN_SIGNINGS[case]
    home, language = ("KR", "ko") if case == "Korean words" else ("TW", "zh-Hant")
    result = classify(title, body, home, language, model=False)
    assert result.is_cooperation and result.partners == partners
    assert not any("domestic parties" in e for e in result.evidence)


# Branch classparty: who is a party. A foreign name in a headline or a mechanism sentence is
# no party when it stands as a domestic body's seat abroad, an envoy's posting, the occasion,
# the aim of the clause or the venue of a ministers' conference (``party_role``).
NO_FOREIGN_PARTY = {
    # de-w-ltslohmann-001 (batch w), restated: a German company and a German university's
    # campus in Busan sign; the Korean president's state visit is only the occasion.
    "campus abroad": (
        ("LTS und FAU Busan Campus unterzeichnen Memorandum of Understanding",
         "Beim Besuch der koreanischen Präsidentin in Berlin haben LTS und die Universität"
         " Erlangen-Nürnberg für ihren Campus Busan ein Memorandum of Understanding über"
         " Forschungskooperation unterzeichnet."),
        ("DE", "de"),
    ),
    # ko-haninpost-001 (base), restated: two Korean institutes agree to share one's office in
    # Indonesia.
    "office abroad": (
        ("생기원·KISTI, 인도네시아 사무소 함께 쓴다",
         "한국생산기술연구원과 KISTI는 13일 '생기원 인도네시아 사무소 공동 활용 MOU'를 맺었다."
         " 두 기관은 자카르타 사무소를 함께 쓰며 국내 기업의 현지 진출을 돕는다."),
        ("KR", "ko"),
    ),
    # fr-r-tunisie-01 (batch r), restated: a minister chairs a ministers' conference of a
    # grouping; Cameroon is where it meets, France the next chair.
    "a ministerial's venue": (
        ("44e Conférence ministérielle de la Francophonie à Yaoundé",
         "Le ministre tunisien des Affaires étrangères préside à Yaoundé, les 4 et 5 novembre, la"
         " 44e Conférence ministérielle de la Francophonie, avant d'en passer la présidence à la"
         " France."),
        ("TN", "fr"),
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", NO_FOREIGN_PARTY)
def test_a_headline_whose_foreign_names_are_no_party_is_domestic(case: str) -> None:
    (title, body), (home, language) = NO_FOREIGN_PARTY[case]
    result = classify(title, body, home, language, model=False)
    assert not result.is_cooperation
    assert any("no foreign party" in e for e in result.evidence)
    assert not classify(title, body, home, language).is_cooperation  # with the model too


def test_a_lead_name_that_is_no_party_makes_no_partner() -> None:
    # en-v-infobrics-001 (batch v), restated: India signs a grouping's memorandum in Brasilia,
    # on the sidelines of the grouping's ministerial: Brazil is the venue, not a partner.
    title = "India signed BRICS MoU on cooperation in science, technology and innovation"
    body = (
        "India signed the BRICS memorandum on science, technology and innovation cooperation in"
        " Brasilia in March 2015, on the sidelines of the third BRICS science ministerial."
        " It sets a framework for cooperation among the member countries."
    )
    result = classify(title, body, "IN", "en", model=False)
    assert not result.is_cooperation and result.partners == ()


def test_the_host_of_a_ministers_meeting_is_no_partner() -> None:
    # ja-cao-006 (base), restated: a Japanese minister travels to Korea for an OECD
    # ministerial held in Daejeon; Korea is where it meets (a trip's destination, 大田市で).
    title = "島尻大臣、OECD科学技術政策委員会閣僚級会合に出席"
    body = (
        "島尻大臣は10月20日から22日まで韓国を訪れ、大田市で開かれたOECD科学技術政策委員会"
        "閣僚級会合でセッションの議長を務めました。"
    )
    result = classify(title, body, "JP", "ja", model=False)
    assert not result.is_cooperation and result.partners == ()


PARTIES_STAY = {
    # synthetic, on the shape of fr-ambafr-002: the place of a signing is the partner's
    # country (a place alone is no evidence against).
    "signed in the partner's capital": (
        ("Signature de l'accord-cadre CNES-Roscosmos à Moscou",
         "L'ambassadeur de France a organisé à Moscou la signature de l'accord-cadre entre le"
         " président du CNES et le directeur général de Roscosmos."),
        ("FR", "fr"), ("RU",),
    ),
    # synthetic, on the shape of de-s-mainz-01: the visitors of the occasion are the ones who
    # sign ("beider Universitäten").
    "the occasion's visitors sign": (
        ("Universität Mainz erneuert Partnerschaft mit Universität in Japan",
         "Beim Besuch einer japanischen Delegation in Mainz unterzeichneten die Präsidenten"
         " beider Universitäten ein neues Memorandum über die Zusammenarbeit."),
        ("DE", "de"), ("JP",),
    ),
    # synthetic: a trip's destination that is no ministers' meeting is the partner.
    "a trip to the partner": (
        ("文部科学大臣、韓国科学技術情報通信部長官と会談",
         "大臣は10月20日に韓国を訪れ、ソウルで科学技術協力について会談しました。"),
        ("JP", "ja"), ("KR",),
    ),
    # synthetic: the aim names the pair, the lead's signing sentence names the partner.
    "aim in the headline, partner in the lead": (
        ("Universities ink MOU to boost links to Japan",
         "Five Taiwanese universities signed a memorandum with Kyushu University in Fukuoka"
         " on joint research and student exchange."),
        ("TW", "en"), ("JP",),
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", PARTIES_STAY)
def test_a_foreign_party_in_the_mechanism_sentence_stays_cooperation(case: str) -> None:
    (title, body), (home, language), partners = PARTIES_STAY[case]
    result = classify(title, body, home, language, model=False)
    assert result.is_cooperation and result.partners == partners
    assert not any("no foreign party" in e for e in result.evidence)

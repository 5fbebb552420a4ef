"""The kind of cooperation a release reports: general rules, each on a short made-up text."""

from __future__ import annotations

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

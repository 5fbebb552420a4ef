"""``stnews classify --explain``: why one release is (or is not) in the cooperation feed."""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from .engine import classify


def explain(title: str, body: str, agency_country: str, language: str) -> dict[str, object]:
    """The verdict on one release together with the signals that produced it."""
    trace: dict[str, object] = {}
    result = classify(title, body, agency_country, language, trace=trace)
    return {"input": {"title": title, "agency_country": agency_country, "language": language},
            **result.to_dict(), "trace": trace}  # fmt: skip


def render(report: dict[str, object]) -> str:
    """Human-readable explanation."""
    trace = report["trace"]
    assert isinstance(trace, dict)
    title = report["input"]["title"] or "(no title)"  # type: ignore[index]
    verdict = "COOPERATION" if report["is_cooperation"] else "not cooperation"
    lines = [
        f"Release: {title}",
        f"Verdict: {verdict} (confidence {report['confidence']})",
        f"Score:   {trace['score']} against a threshold of {trace['threshold']}"
        f" (script read as {trace['script']})",
    ]
    if "model_p" in trace:
        lines.append(
            f"Model:   p={trace['model_p']} (the rules' yes stands from {trace['veto']},"
            f" the model alone says yes from {trace['rescue']})"
        )
    if report["is_cooperation"]:
        lines.append("Partners: " + (", ".join(report["partners"]) or "(a region, no code)"))  # type: ignore[arg-type]
        lines.append(f"Kind:    {report['coop_type']}: {trace['kind_reason']}")
    else:
        reasons = []
        features = trace.get("features") or {}
        if features.get("t_hardveto"):  # type: ignore[union-attr]
            # A hope, an envoy's call, an overview or a trade treaty decides, whatever the model.
            reasons.append("a cue that decides against fired (see the signals)")
        if float(trace["score"]) < float(trace["threshold"]):
            reasons.append("the evidence does not reach the threshold")
        elif "model_p" in trace and float(trace["model_p"]) < float(trace["veto"]):
            reasons.append("the model finds an announcement unlikely for this wording")
        if not trace["title_signal"]:
            reasons.append("the title carries no cooperation signal")
        if not trace["partners_found"]:
            reasons.append("no foreign partner is tied to cooperation")
        lines.append("Why not: " + ("; ".join(reasons) or "see the signals"))
    topics = report["topics"]
    if topics:
        lines.append("Topics:  " + ", ".join(topics))  # type: ignore[arg-type]
    evidence = report["evidence"]
    lines.append("Signals that fired:")
    lines.extend(f"  - {e}" for e in evidence) if evidence else lines.append("  (none)")  # type: ignore[union-attr]
    return "\n".join(lines)


def explain_command(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    if args.title is not None or args.body:
        obj: dict = {"title": args.title or "", "body": args.body, "agency_country": args.country,
                     "language": args.language}  # fmt: skip
    else:
        line = next((x for x in stdin if x.strip()), "")
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            stdout.write(f"error: expected one JSON object on stdin ({exc.msg})\n")
            return 2
        if not isinstance(obj, dict):
            stdout.write("error: expected one JSON object on stdin\n")
            return 2
    report = explain(
        str(obj.get("title") or ""),
        str(obj.get("body") or ""),
        str(obj.get("home") or obj.get("agency_country") or args.country or ""),
        str(obj.get("language") or args.language or ""),
    )
    stdout.write((json.dumps(report, ensure_ascii=False) if args.json else render(report)) + "\n")
    return 0

"""Rule-blind model inputs of a fresh batch: the rules of the commit it was measured with.

    python crawler/classify/blindrows.py --code /work/wt/blind-421fe28 --batch v >> rows.jsonl

Each fresh batch of the real set (ids ``*-v-*``, ``*-w-*``) was measured once with main's
code of its day, before any rule was written on it (docs/classification.md). The rules
written since have read its development items' errors, so today's features of those items
are fitted; the features as that commit's rules computed them are not. This script runs the
classifier of an old checkout (``--code``, a ``git worktree add --detach`` of the measuring
commit) on the batch's DEVELOPMENT items of today's real set (held-out items are skipped
by the same hash rule, never read) and prints, one JSON line each, what
``training.dataset.item_row`` derives from the rules: the features, whether partners were
found and the rules' verdict. ``training.dataset.blind_rows`` adds the n-grams
(``model.inputs``, text only) when it reads them.

Run it as a file (not ``-m``): it imports the package from ``--code``, never this tree.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path


def batch_of(item_id: str) -> str | None:
    """The batch letter of an id ("en-v-bmbf-001" -> "v", "zh-Hant-w-x-001" -> "w"). Not
    ``training.dataset.batch_of``: this file imports the package of the old commit, whose
    ``BATCHES`` does not yet name the batch it is asked for."""
    parts = item_id.split("-")
    if parts[1:2] == ["Hant"]:
        parts = parts[1:]
    return parts[1] if len(parts) > 2 and len(parts[1]) == 1 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, required=True, help="checkout of the old commit")
    parser.add_argument("--batch", required=True, help="batch letter, e.g. v")
    parser.add_argument(
        "--realset",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "tests" / "classify" / "realset.jsonl",
    )
    args = parser.parse_args()
    code = args.code.resolve()
    sys.path.insert(0, str(code))
    from crawler.classify import engine, scoring  # the old commit's

    if not Path(engine.__file__).resolve().is_relative_to(code):
        raise SystemExit(f"imported {engine.__file__}, not the code under {code}")
    commit = subprocess.run(
        ["git", "-C", str(code), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    with args.realset.open(encoding="utf-8") as fh:
        items = [json.loads(line) for line in fh if line.strip()]
    for item in items:
        if batch_of(item["id"]) != args.batch or scoring.held_out(item["id"]):
            continue
        trace: dict[str, object] = {}
        result = engine.classify(
            item["title"], item["body"], item["agency_country"], item["language"], trace,
            model=False,
        )  # fmt: skip
        features = trace["features"]
        assert isinstance(features, dict)
        # As training.dataset.item_row (the same at both measuring commits and today).
        veto = bool(features["t_hardveto"])
        found = (bool(trace["partners_found"]) or result.is_cooperation) and not veto
        rules = bool(features["score_hi"]) and bool(features["titled"]) and not veto
        record = {
            "id": item["id"],
            "batch": args.batch,
            "commit": commit,
            "is_cooperation": bool(item["is_cooperation"]),
            "language": item["language"],
            "publisher": item.get("publisher"),
            "found": found,
            "rules": rules,
            "features": {k: features[k] for k in sorted(features)},
        }
        print(json.dumps(record, ensure_ascii=False))


if __name__ == "__main__":
    main()

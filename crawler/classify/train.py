"""Train the classifier's logistic model (``data/model.json``) on development data only.

    python -m crawler.classify.train [--check]
    python -m crawler.classify.train --cv [--choice smooth | --rules-only] [--list]

Training data: the development part of ``tests/classify/realset.jsonl`` (the items whose id
does not hash into the held-out quarter, the rule of ``tests/classify/test_realset.py``) and
``tests/classify/devset.jsonl``. The held-out quarter is never read. By default the model is
fitted with a fixed regularisation and thresholds (``FIXED`` in ``training/options.py``: they
did best by ``--cv``, branch classmodel3); ``--choice smooth`` and the others choose them by
five-fold cross-validation on the same development data, for precision first (F0.5, averaged
over the languages so that each counts alike), since a false announcement costs a reader more
than a missed one. ``--check`` only prints the cross-validated figures of a choice. Training
needs scikit-learn (``pip install -e '.[train]'``);
classifying does not: the model is read from JSON and scored in plain Python (``model.py``).

This module is the command; the trainer is ``crawler/classify/training/`` (its ``__init__``
lists the modules), and the settings the options change are ``training/options.py``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .training.choice import choose
from .training.crossval import whole_cv
from .training.dataset import blind_rows, development_batches, examples, news_rows
from .training.fitting import L2_GRID, news_probabilities, payload
from .training.options import BOUND, CHOICES, Options

OUT = Path(__file__).with_name("data") / "model.json"


def options_of(args: argparse.Namespace) -> Options:
    """The settings the command line asks for; the defaults of ``Options`` otherwise."""
    default = Options()
    return Options(
        choice=args.choice or default.choice,
        objective=args.objective or default.objective,
        precision_target=args.target or default.precision_target,
        news_bound=BOUND if args.news_bound else None,
        blind_weight=default.blind_weight if args.blind_weight is None else args.blind_weight,
        min_ngram_items=10**9 if args.no_ngrams else default.min_ngram_items,
        fixed=default.fixed if args.fixed is None else tuple(args.fixed),
    )


def arguments() -> argparse.ArgumentParser:
    """The command line's options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only print cross-validated figures")
    parser.add_argument(
        "--cv", action="store_true", help="cross-validate the whole decision by batch"
    )
    parser.add_argument("--list", action="store_true", help="with --cv: list the errors")
    parser.add_argument("--objective", choices=("f05", "precision"), default=None)
    parser.add_argument("--target", type=float, default=None)
    parser.add_argument("--no-ngrams", action="store_true", help="the rules' features only")
    parser.add_argument(
        "--choice", choices=CHOICES, default=None, help="see CHOICE in training/options.py"
    )
    parser.add_argument(
        "--blind-weight",
        type=float,
        default=None,
        help="see BLIND_WEIGHT in training/options.py (--choice blind)",
    )
    parser.add_argument(
        "--news-bound", action="store_true", help="never choose over the long-news bound"
    )
    parser.add_argument(
        "--fixed",
        type=float,
        nargs=3,
        metavar=("L2", "VETO", "RESCUE"),
        default=None,
        help="the setting of --choice fixed (see FIXED in training/options.py)",
    )
    parser.add_argument(
        "--rules-only", action="store_true", help="with --cv: the rules alone, no model"
    )
    return parser


def main() -> None:
    args = arguments().parse_args()
    options = options_of(args)
    if args.fixed is not None and options.choice != "fixed":
        raise SystemExit("--fixed is the setting of --choice fixed")
    if args.rules_only and not args.cv:
        raise SystemExit("--rules-only is only for --cv (the rules need no training)")
    if args.cv:
        whole_cv(args.list, options, with_model=not args.rules_only)
        return
    rows, langs, groups = examples(options.min_ngram_items)
    print(flush=True)
    print(f"{len(rows)} development examples ({sum(r[1] for r in rows)} cooperation)")
    print(f"n-grams for: {', '.join(sorted(langs))}")
    news = None
    if options.news_bound is not None:
        long_news = news_rows(langs)
        news = {l2: (long_news, news_probabilities(rows, l2, long_news)) for l2 in L2_GRID}
    batches = blind = None
    if options.choice == "blind":
        batches, blind = development_batches(), blind_rows(langs)
    l2, veto, rescue = choose(
        rows, groups, news=news, batches=batches, blind=blind, options=options
    )
    if args.check:
        return
    model = payload(rows, langs, l2, veto, rescue)
    OUT.write_text(json.dumps(model, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(model['weights'])} weights)")


if __name__ == "__main__":
    main()

"""The trainer of the classifier's logistic model, one concern a module; the command is
``python -m crawler.classify.train`` (``train.py``).

- ``options``: the settings the command line can change (``Options``), with their measurements;
- ``dataset``: the development items, the long-news rows and the rule-blind rows as model rows;
- ``fitting``: pruning, scaling, fitting and the grouped cross-validation's probabilities;
- ``grid``: verdicts, figures and the objective of every threshold setting at once;
- ``choice``: the five ways of choosing l2, veto and rescue (smooth, blind, plateau, median,
  jackknife);
- ``crossval``: ``--cv``, the whole decision cross-validated by batch.

Each imports only those above it in this list.
"""

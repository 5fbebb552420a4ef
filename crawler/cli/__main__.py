"""`python -m crawler.cli`: the same as the `stnews` console script."""

from crawler.cli import run

run()

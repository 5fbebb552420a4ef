# Two entry points for a fresh machine: `make run` (main job) and `make test` (the suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS := .[dev,postgres,distributed]
## Test workers: one more than the CPUs this process may use. Tests spend part of their time
## waiting on child processes, local servers and timers; on 2 cores, 3 workers ran the SQLite
## leg in 220 s against 261-315 s with 2.
WORKERS ?= $(shell $(PYTHON) -c 'import os; print(len(os.sched_getaffinity(0)) + 1)')

.PHONY: install browser run test lint bench clean constraints

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	# The tested versions (constraints.txt); `make constraints` records new ones. uv installs
	# them (the same versions pip would: it reads the same constraints) in about a sixth of
	# pip's time on a clean machine: 25 s against 145 s measured, most of CI's set-up. uv
	# reads no pip.conf (a local mirror, find-links): where it cannot install, pip does.
	{ $(BIN)/pip install --quiet -c constraints.txt uv \
	  && $(BIN)/uv pip install --quiet --python $(BIN)/python -c constraints.txt -e '$(EXTRAS)'; } \
	  || $(BIN)/pip install --quiet -c constraints.txt -e '$(EXTRAS)'
	# Feed clients for tests/feeds/test_data_out.py (Debian packages).
	command -v newsboat >/dev/null && command -v xmllint >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq newsboat libxml2-utils >/dev/null; }
	touch $(STAMP)

install: $(STAMP) browser

## Headless Chromium and CJK fonts for the page tests (tests/server/test_browser.py), from
## Debian's packages; needs root (CI runs as root). Skipped when Chromium is already there.
browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk; }

## Crawl every source from the bundled fixtures into SQLite (var/stnews.db), summarize,
## then write the feeds (var/feeds/) and print their paths.
run: $(STAMP)
	$(BIN)/stnews crawl --replay fixtures
	$(BIN)/stnews feed

## Lint, then the whole test suite (offline) on SQLite, then again on PostgreSQL
## (127.0.0.1:5432, database `test`; STNEWS_TEST_POSTGRES_URL to point elsewhere).
## The `slow` and `soak` tests (whole crawls, kills and restarts, the install from a wheel,
## the SQLite locking soak) test the crawler, not the database: they run in the SQLite leg
## only; of the rest, the PostgreSQL leg takes the tests that open a test database (the
## others never read STNEWS_TEST_DB: tests/conftest.py deselects them there). Workers take
## whole modules (--dist loadfile), the longest first (tests/conftest.py LONGEST_FIRST).
test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/pytest -q -n $(WORKERS) --dist loadfile
	STNEWS_TEST_DB=postgresql $(BIN)/pytest -q -n $(WORKERS) --dist loadfile -m "not slow and not soak"

## Record the versions in .venv as the tested ones, after an upgrade has passed `make test`.
constraints: $(STAMP)
	{ sed -n '/^#/p' constraints.txt; $(BIN)/pip freeze --all --exclude-editable | grep -v '^pip=='; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf var .pytest_cache .ruff_cache

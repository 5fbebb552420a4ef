"""Validate written feeds with the W3C feed validator's code (run by hand, not in CI).

The validator (https://github.com/w3c/feedvalidator) has no PyPI or Debian package, so CI
cannot install it. With a checkout of it and its requirements (lxml, html5lib, rdflib):

    python tests/manual/w3c_validate.py /path/to/feedvalidator var/feeds

Prints every error and warning per file; exits 1 if any file has an error.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path


def main(validator_checkout: str, folder: str) -> int:
    sys.path.insert(0, str(Path(validator_checkout) / "src"))
    import feedvalidator  # type: ignore[import-not-found]
    from feedvalidator import logging as events_module  # type: ignore[import-not-found]

    files = sorted(
        path for path in Path(folder).iterdir() if path.suffix in {".atom", ".rss", ".opml"}
    )
    errors, warnings = 0, Counter[str]()
    for path in files:
        with path.open("rb") as stream:
            try:
                result = feedvalidator.validateStream(
                    stream, firstOccurrenceOnly=1, base=f"http://127.0.0.1:8080/feeds/{path.name}"
                )
                logged = result["loggedEvents"]
            except feedvalidator.logging.ValidationFailure as failure:
                logged = [failure.event]
        for event in logged:
            name = type(event).__name__
            if isinstance(event, events_module.Error):
                errors += 1
                print(f"ERROR   {path.name}: {name} {event.params}")
            elif isinstance(event, events_module.Warning):
                warnings[name] += 1
                print(f"warning {path.name}: {name} line {event.params.get('line')}")
    print(f"{len(files)} files: {errors} errors; warnings: {dict(warnings) or 'none'}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))

"""The ``stnews`` console script: ``stnews classify`` starts without the heavy imports."""

from __future__ import annotations

import sys


def main() -> int:
    argv = sys.argv[1:]
    if argv[:1] == ["classify"]:
        from crawler.classify.cli import main as classify_main

        return classify_main(argv[1:])
    from crawler.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())

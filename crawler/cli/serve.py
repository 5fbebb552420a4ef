"""`stnews serve`: run the feed server until interrupted."""

from __future__ import annotations

import argparse
import sys

from crawler.cli.common import open_database

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def register(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser("serve", help="serve the feeds and a status page over HTTP")
    serve.add_argument("--host", default=DEFAULT_HOST, help="default: %(default)s")
    serve.add_argument("--port", type=_port, default=DEFAULT_PORT, help="default: %(default)s")
    serve.add_argument(
        "--base-url",
        metavar="URL",
        help="public address of the site root, used in feed and OPML links "
        "(default: the address each request was sent to)",
    )
    serve.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    # Imported here so that building the parser stays cheap for the other commands.
    from crawler.cli.common import project_settings
    from crawler.server.run import ServerHandle, run_server

    url = open_database(args).url  # checked (and migrated) before the server starts

    def started(url: str) -> None:
        sys.stdout.write(f"Serving stnews on {url} (Ctrl+C to stop)\n")
        sys.stdout.flush()

    try:
        run_server(
            url,
            args.host,
            args.port,
            base_url=args.base_url,
            handle=ServerHandle(on_started=started),
            hub_url=project_settings().get("STNEWS_WEBSUB_HUB") or None,
        )
    except KeyboardInterrupt:
        # uvicorn has already shut down cleanly; it re-raises Ctrl+C for the caller to see.
        sys.stdout.write("Stopped.\n")
    return 0


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be from 0 to 65535, got {value}")
    return value

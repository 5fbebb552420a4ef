"""A local SMTP server (aiosmtpd) and a local webhook receiver, both on 127.0.0.1, recording
what arrives; Apprise URLs pointing at them."""

from __future__ import annotations

import email
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Mailbox:
    url: str
    messages: list[Message] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's handler hook
        self.messages.append(email.message_from_bytes(envelope.original_content))
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    port = _free_port()
    box = Mailbox(f"mailto://127.0.0.1:{port}?from=stnews@example.org&to=reader@example.org")
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box
    controller.stop()


@dataclass
class Webhook:
    url: str
    posts: list[dict] = field(default_factory=list)
    fail: bool = False  # answer 500 instead of taking the post
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(hook.delay)
            if hook.fail:
                self.send_response(500)
                self.end_headers()
                return
            with hook.lock:
                hook.posts.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"json://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield hook
    server.shutdown()
    server.server_close()


def parts(message: Message) -> dict[str, str]:
    """content type -> decoded text of each part of a (multipart) e-mail."""
    found = {}
    for part in message.walk():
        if not part.is_multipart():
            found[part.get_content_type()] = part.get_payload(decode=True).decode("utf-8")
    return found

"""Sending through Apprise: one URL, one message, in the format that service renders best.
No sender of our own: Apprise knows e-mail, Slack, Teams, Discord, Telegram, Matrix,
webhooks and many more."""

from __future__ import annotations

import logging
from typing import Protocol

import apprise

from crawler.notify.compose import Message


class SendError(RuntimeError):
    """The service did not take the message; the text says why, as far as Apprise knows."""


class Sender(Protocol):
    def __call__(self, url: str, message: Message) -> None: ...


def check_url(url: str) -> str | None:
    """Why ``url`` is no Apprise URL Apprise can use, or None when it is one."""
    if apprise.Apprise.instantiate(url) is None:
        return "not an Apprise URL this version supports (see the Apprise wiki for its forms)"
    return None


def redacted(url: str) -> str:
    """The URL with its password or token hidden, to show and log."""
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        return "(invalid URL)"
    return plugin.url(privacy=True).split("?", 1)[0]  # the options are noise here


def send(url: str, message: Message) -> None:
    """Deliver ``message`` to ``url``; raises SendError when it was not delivered."""
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        raise SendError("not a usable Apprise URL")
    formats = plugin.notify_format
    preferred = formats[0] if isinstance(formats, list | tuple) else formats
    body = {
        apprise.NotifyFormat.HTML: message.html,
        apprise.NotifyFormat.MARKDOWN: message.markdown,
    }.get(preferred, message.text)
    with apprise.LogCapture(level=logging.WARNING) as captured:
        ok = plugin.notify(body=body, title=message.title, body_format=preferred)
    if not ok:
        lines = [line.strip() for line in captured.getvalue().splitlines() if line.strip()]
        raise SendError("; ".join(lines[-3:]) or "the service refused the message")

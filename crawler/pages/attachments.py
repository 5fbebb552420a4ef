"""The one attachment reader: files a release page offers for download.

Sites offer files three ways, and all three are read here:

- links, ``<a href="/files/report.pdf">Report</a>``;
- forms, ``<form action="/nstc/attachments/<uuid>"><button title="name.pdf">`` (NSTC);
- script calls, ``<a onclick="fn_download('123','1','pdf')">`` (MSIT): only the site knows
  where those download from, so a page object passes a ``resolve`` function for them.

Without a selector, the page's content region is searched for links and forms that look like
files (a document extension, or an ``attachments``/``download`` path). Images shown in the text
are not attachments.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from urllib.parse import unquote, urlsplit

from parsel import Selector
from scrapy.http import TextResponse

from crawler.extract import text_of
from crawler.pages.fields import Attachment
from crawler.pages.selectors import absolute_link, link_attribute, usable_link

#: A site's rule for elements whose download is a script call: the URL, or None.
Resolver = Callable[[Selector, TextResponse], str | None]

_DOCUMENT = re.compile(
    r"\.(pdf|docx?|odt|ods|odp|hwpx?|xlsx?|pptx?|zip|txt|csv|rtf)(?:$|[?#])", re.IGNORECASE
)
_DOWNLOAD_PATH = re.compile(r"/(attachments?|download|filedown|file_download)\b", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def _name(element: Selector) -> str:
    """A file's name as the page shows it: the link text, else its title or ARIA label."""
    attrib = element.attrib
    return (
        text_of(element).strip("\u3000 ")
        or _SPACES.sub(" ", attrib.get("title", "")).strip()
        or _SPACES.sub(" ", attrib.get("aria-label", "")).strip()
    )


def _form_target(element: Selector) -> tuple[str | None, str]:
    """(action, name) of a download form, or of the button inside one."""
    tag = element.root.tag if isinstance(element.root.tag, str) else ""
    form = element if tag == "form" else None
    if form is None:
        found = element.xpath("ancestor::form[1]")
        form = found[0] if found else None
    if form is None:
        return None, ""
    buttons = form.css("button, input[type=submit]") if tag == "form" else [element]
    name = next((n for n in map(_name, buttons) if n), "") or _name(form)
    return usable_link(form.attrib.get("action")), name


def _from_elements(
    elements: Iterable[Selector], response: TextResponse, resolve: Resolver | None
) -> list[Attachment]:
    found: dict[str, str] = {}
    for element in elements:
        if isinstance(element.root, str):  # an ::attr(href) selection
            href, name = usable_link(element.get()), ""
        else:
            tag = element.root.tag if isinstance(element.root.tag, str) else ""
            href, name = None, ""
            if resolve is not None and element.attrib.get("onclick"):
                href, name = resolve(element, response), _name(element)
            if href is None and tag in ("form", "button", "input"):
                href, name = _form_target(element)
            if href is None and tag not in ("form", "button", "input"):
                if element.css("img") and not _name(element):
                    continue  # a photo linking to its full size
                href, name = usable_link(link_attribute(element)), _name(element)
        if not href:
            continue
        url = absolute_link(response, href)
        if url is None:  # a mail or script link, or malformed: not a file
            continue
        if url not in found or (not found[url] and name):
            found[url] = name
    return [Attachment(name or _file_name(url), url) for url, name in found.items()]


def _file_name(url: str) -> str:
    return unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]) or url


def _download_form(form: Selector) -> bool:
    """A form that is itself a file's download button (NSTC), not a script's hidden form
    (MSIT's POST ``fileForm``, submitted by ``fn_download``): a GET with a named button."""
    if (form.attrib.get("method") or "get").lower() != "get":
        return False
    return any(_name(button) for button in form.css("button, input[type=submit]"))


def read_attachments(
    scope: Selector | TextResponse,
    response: TextResponse,
    css: str | None = None,
    resolve: Resolver | None = None,
) -> list[Attachment]:
    """Files offered in ``scope``: what ``css`` selects, or, without it, every link or form
    there that looks like a file."""
    if css:
        return _from_elements(scope.css(css), response, resolve)
    candidates = []
    for element in scope.css("a[href], a[onclick], form[action]"):
        tag = element.root.tag
        if tag == "form" and not _download_form(element):
            continue
        target = element.attrib.get("action" if tag == "form" else "href", "")
        scripted = tag == "a" and resolve is not None and bool(element.attrib.get("onclick"))
        if scripted or _DOCUMENT.search(target) or _DOWNLOAD_PATH.search(target):
            candidates.append(element)
    return _from_elements(candidates, response, resolve)

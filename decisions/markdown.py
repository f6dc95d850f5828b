"""ADR text is Markdown written by people (or imported from other repositories): render it
with markdown-it-py, then sanitise the HTML with nh3, so nothing it says can run or fetch.

Allowed: ordinary text markup, lists, tables, code, quotes, headings. Removed: scripts,
styles, event handlers, htmx attributes (``hx-*``) and every attribute not listed here.
Links keep only http, https, mailto and relative targets (``//host`` is not relative);
images keep only ``data:`` URIs of raster types, so neither the browser nor the PDF
renderer ever fetches an image from anywhere, except the files stored with the record
being shown: the caller passes those as ``images`` (the src as written -> the URL that
serves the stored file), and any other src is still dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt",
    "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark",
    "ol", "p", "pre", "s", "samp", "small", "span", "strong", "sub", "summary", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "ol": {"start"},
    "abbr": {"title"},
}
LINK_SCHEMES = {"http", "https", "mailto"}
IMAGE_DATA = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+$", re.I)

_md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if IMAGE_DATA.match(value.strip()) else None
    if tag == "a" and attribute == "href":
        return value if _safe_link(value) else None
    return value


def _safe_link(value: str) -> bool:
    target = value.strip()
    if target.startswith("//") or target.startswith("\\"):
        return False
    scheme = urlsplit(target).scheme.lower()
    return scheme in LINK_SCHEMES if scheme else True


def sanitise(html: str, *, images: Mapping[str, str] | None = None) -> str:
    """Clean HTML from any source down to the allowed tags, attributes and URLs."""

    def attribute_filter(tag: str, attribute: str, value: str) -> str | None:
        if images and tag == "img" and attribute == "src" and value.strip() in images:
            return images[value.strip()]
        return _attribute_filter(tag, attribute, value)

    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        clean_content_tags={"script", "style", "template", "iframe", "object", "svg", "math"},
        url_schemes=LINK_SCHEMES | {"data"},
        attribute_filter=attribute_filter,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def render_markdown(text: str, *, images: Mapping[str, str] | None = None) -> SafeString:
    """Markdown to safe HTML, ready for a template or the PDF (``images``: see the doc)."""
    if not text:
        return mark_safe("")
    return mark_safe(sanitise(_md.render(text), images=images))  # noqa: S308 - sanitised just above

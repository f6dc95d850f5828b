"""ADR text is Markdown written by people (or imported from other repositories): render it
with markdown-it-py, then sanitise the HTML with nh3, so nothing it says can run or fetch.

Allowed: ordinary text markup, lists, tables, code, quotes, headings. Removed: scripts,
styles, event handlers, htmx attributes (``hx-*``) and every attribute not listed here.
Links keep only http, https, mailto and relative targets (``//host`` is not relative);
images keep only ``data:`` URIs of raster types, so neither the browser nor the PDF
renderer ever fetches an image from anywhere, except the files stored with the record
being shown: the caller passes those as ``images`` (the src as written -> the URL that
serves the stored file), and any other src is still dropped.

Nesting is bounded (``MAX_DEPTH`` elements deep) before and after sanitising: the HTML
parser behind nh3 slows down sharply with depth (a few hundred KB of nested ``<div>``
took minutes) and WeasyPrint recurses once per level (a thousand characters of it ended
the PDF in a RecursionError). Tags past the limit are dropped, their text is kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import escape
from html.parser import HTMLParser
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
# Elements that never hold content, so they never deepen the tree.
VOID_TAGS = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr",
}  # fmt: skip
# Deep enough for any real document (lists in quotes in tables), far below the depth at
# which WeasyPrint runs out of stack inside the print templates.
MAX_DEPTH = 32
# Longest Markdown rendered at all; the forms refuse longer text with this limit named.
MAX_MARKDOWN_CHARS = 100_000
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


class _DepthCap(HTMLParser):
    """Re-emits HTML with elements past ``max_depth`` dropped (their text is kept).

    Every piece of text and every attribute value is escaped again on the way out, so
    dropping a tag can never join the text around it into a new tag. Unclosed elements
    count as open until an ancestor closes: an upper bound on the depth a browser builds.
    """

    def __init__(self, max_depth: int) -> None:
        super().__init__(convert_charrefs=True)
        self.max_depth = max_depth
        self.out: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, emitted)
        self.open_count: dict[str, int] = {}
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID_TAGS:
            self.out.append(self._start(tag, attrs))
            return
        emitted = self.depth < self.max_depth
        if emitted:
            self.out.append(self._start(tag, attrs))
            self.depth += 1
        self.stack.append((tag, emitted))
        self.open_count[tag] = self.open_count.get(tag, 0) + 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID_TAGS or self.depth < self.max_depth:
            self.out.append(self._start(tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        if not self.open_count.get(tag):
            return  # closes nothing that is open: the parser downstream ignores it too
        while True:  # each element is pushed once and popped once: linear overall
            open_tag, emitted = self.stack.pop()
            self.open_count[open_tag] -= 1
            self.depth -= emitted
            if open_tag == tag:
                if emitted:
                    self.out.append(f"</{tag}>")
                return

    def handle_data(self, data: str) -> None:
        self.out.append(escape(data, quote=False))

    @staticmethod
    def _start(tag: str, attrs: list[tuple[str, str | None]]) -> str:
        rendered = "".join(
            f" {name}" if value is None else f' {name}="{escape(value)}"' for name, value in attrs
        )
        return f"<{tag}{rendered}>"


def cap_depth(html: str, max_depth: int = MAX_DEPTH) -> str:
    """The HTML with no element more than ``max_depth`` deep; comments are left out."""
    parser = _DepthCap(max_depth)
    parser.feed(html)
    parser.close()
    return "".join(parser.out)


def sanitise(html: str, *, images: Mapping[str, str] | None = None) -> str:
    """Clean HTML from any source down to the allowed tags, attributes and URLs, and to
    ``MAX_DEPTH`` levels of nesting."""
    # Capped before nh3 (whose parser is what slows down with depth) and again after,
    # on nh3's well-formed output, where the count is exact.
    return cap_depth(_clean(cap_depth(html), images=images))


def _clean(html: str, *, images: Mapping[str, str] | None) -> str:
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
    """Markdown to safe HTML, ready for a template or the PDF (``images``: see the doc).

    Text longer than ``MAX_MARKDOWN_CHARS`` (only possible from before the forms refused
    it) is cut there, so no stored text can make a page or PDF take unbounded time."""
    if not text:
        return mark_safe("")
    return mark_safe(sanitise(_md.render(text[:MAX_MARKDOWN_CHARS]), images=images))  # noqa: S308 - sanitised just above

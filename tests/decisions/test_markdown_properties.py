"""Comment Markdown on any text: it renders, no deeper than the limit, with nothing that
runs, and a comment posted with it leaves the session page working."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decisions.markdown import MAX_DEPTH, render_markdown
from tests.decisions.test_markdown_depth import deepest

TAGS = [
    "div", "p", "b", "i", "a href='javascript:x'", "table", "tr", "td", "ul", "li",
    "blockquote", "script", "img src=x onerror=y", "svg", "pre", "code", "h1", "span",
]  # fmt: skip
pieces = st.one_of(
    st.text(max_size=20),
    st.sampled_from(TAGS).map(lambda t: f"<{t}>"),
    st.sampled_from(TAGS).map(lambda t: f"</{t.split()[0]}>"),
    st.sampled_from(
        [
            "> ",
            "* ",
            "1. ",
            "# ",
            "```",
            "**",
            "_",
            "[x](",
            ")",
            "\n",
            "\n\n",
            "    ",
            "|a|b|\n|-|-|\n",
            "&#0;",
            "&lt;",
            "<!--",
            "-->",
            "\x00",
        ]
    ),  # fmt: skip
)
markdown = st.one_of(
    st.text(max_size=500),
    st.lists(pieces, max_size=120).map("".join),
    st.builds(
        lambda tag, n, mid: f"<{tag}>" * n + mid,
        st.sampled_from(TAGS),
        st.integers(0, 3000),
        st.text(max_size=10),
    ),  # fmt: skip
)


class Elements(HTMLParser):
    """Every element and attribute the rendered HTML really holds (not its text)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))


def elements(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = Elements()
    parser.feed(html)
    parser.close()
    return parser.found


@settings(max_examples=300, deadline=None, database=None)
@given(text=markdown)
def test_any_text_renders_bounded_and_inert(text):
    html = render_markdown(text)
    depth, _tags = deepest(html)
    assert depth <= MAX_DEPTH
    for tag, attrs in elements(html):
        assert tag not in {"script", "svg", "iframe", "style", "object", "math"}
        for name, value in attrs:
            assert not name.startswith(("on", "hx-")), (tag, name)
            if name in {"href", "src"}:
                assert not re.match(r"\s*(javascript|vbscript):", value or "", re.I)


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=markdown)
def test_any_comment_leaves_the_session_page_working(live_session, member, body):
    client = Client()
    client.force_login(member)
    path = reverse("review-comment", args=["acme", live_session.pk])
    response = client.post(path, {"body": body}, HTTP_HX_REQUEST="true")
    assert response.status_code in (204, 400, 409)
    page = client.get(reverse("review-detail", args=["acme", live_session.pk]))
    assert page.status_code == 200

"""What every response tells the browser: CSP on HTML, nosniff, Referrer-Policy, HSTS over
TLS, cookie flags; htmx held to this site and switched off inside what people wrote."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from decisions.reviews.services import comment_add
from tests.conftest import PASSWORD
from tests.decisions.adr_support import drafted
from tests.decisions.review_support import make_session

pytestmark = pytest.mark.django_db

POLICY_PARTS = [
    "default-src 'self'",
    "script-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
]


def _directives(header: str) -> dict[str, str]:
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


def test_html_pages_carry_the_content_security_policy(member_client):
    response = member_client.get(reverse("usecase-list", args=["acme"]))
    policy = response["Content-Security-Policy"]
    for part in POLICY_PARTS:
        assert part in policy
    directives = _directives(policy)
    # No inline script, no eval, anywhere.
    assert directives["script-src"] == "script-src 'self'"
    assert "unsafe" not in policy


def test_a_diagram_opened_on_its_own_carries_it_and_json_does_not(owner, owner_client, acme):
    decision = drafted(acme, owner)
    svg = owner_client.get(reverse("adr-diagram", args=["acme", decision.number]))
    assert svg["Content-Type"].startswith("image/svg+xml")
    # The diagram view's own, stricter policy is kept.
    assert svg["Content-Security-Policy"].startswith("default-src 'none'")
    health = Client().get("/healthz")
    assert health["Content-Type"] == "application/json"
    assert "Content-Security-Policy" not in health


def test_the_login_page_carries_it_too():
    response = Client().get("/accounts/login/")
    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_every_response_says_nosniff_and_a_referrer_policy(member_client):
    for url in (reverse("usecase-list", args=["acme"]), "/accounts/login/"):
        response = member_client.get(url)
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Frame-Options"] == "DENY"


def test_hsts_is_sent_over_tls_only(settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    plain = Client().get("/accounts/login/")
    assert "Strict-Transport-Security" not in plain
    over_tls = Client().get("/accounts/login/", secure=True)
    assert over_tls["Strict-Transport-Security"].startswith("max-age=31536000")


def test_cookies_are_http_only_same_site_lax_and_secure_in_production(member, settings):
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    client = Client()
    client.get("/accounts/login/", secure=True)
    csrf = client.cookies["csrftoken"]
    assert csrf["samesite"] == "Lax"
    assert csrf["secure"]
    client.post(
        "/accounts/login/",
        {"username": "max", "password": PASSWORD, "csrfmiddlewaretoken": csrf.value},
        secure=True,
    )
    session = client.cookies["sessionid"]
    assert session["httponly"]
    assert session["samesite"] == "Lax"
    assert session["secure"]


def test_htmx_talks_only_to_this_site_and_injects_no_styles(member_client):
    body = member_client.get(reverse("usecase-list", args=["acme"])).content.decode()
    meta = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", body)
    assert meta is not None
    assert '"selfRequestsOnly": true' in meta.group(1)
    assert '"includeIndicatorStyles": false' in meta.group(1)


def test_templates_hold_no_inline_script_or_handlers():
    from tests.conftest import REPO

    inline = re.compile(r"\son[a-z]+=|\shx-on|<script(?![^>]*\bsrc=)|javascript:", re.I)
    offenders = [
        f"{path.relative_to(REPO)}: {match.group(0).strip()}"
        for path in (REPO / "templates").rglob("*.html")
        for match in inline.finditer(path.read_text())
    ]
    assert offenders == []


def test_what_people_wrote_is_shown_inside_hx_disable(owner, owner_client, member, acme):
    decision = drafted(acme, owner, context="Orders **must** not be lost.")
    page = owner_client.get(reverse("adr-detail", args=["acme", decision.number]))
    body = page.content.decode()
    start = body.index('<article class="card adr-body" hx-disable>')
    assert start < body.index("<strong>must</strong>") < body.index("</article>", start)

    session = make_session(acme, owner, [decision])
    comment_add(item=session.current_item, by=member, body="Looks _right_.")
    review = owner_client.get(reverse("review-detail", args=["acme", session.pk])).content.decode()
    assert '<div class="markdown" hx-disable><p>Looks <em>right</em>.</p>' in review
    assert '<div class="markdown" id="item-summary" hx-disable><p>Orders' in review

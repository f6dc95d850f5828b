"""The Content-Security-Policy in Chromium: the main pages work under it without a violation.

A page that still needed an inline handler, an inline <style> (htmx's indicator styles)
or an eval'd trigger filter would log "Refused to ..." in the console; that fails here.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from decisions.reviews.services import comment_add
from tests.decisions.adr_support import drafted
from tests.decisions.review_support import make_session
from tests.probes.outcomes import measured_outcome
from tests.probes.probe_factories import finished_run, make_endpoint

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _watch_for_violations(page) -> list[str]:
    """Every CSP complaint the page makes: console messages and securitypolicyviolation events."""
    found: list[str] = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    page.on("pageerror", lambda error: found.append(f"page error: {error}"))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', (e) => "
        "console.error(`Content Security Policy violation: ${e.violatedDirective} "
        "${e.blockedURI}`))"
    )
    return found


def test_the_main_pages_run_under_the_policy_without_a_violation(page_for, owner, member, acme):
    decision = drafted(acme, owner, context="Orders **must** not be lost.")
    session = make_session(acme, owner, [decision])
    comment_add(item=session.current_item, by=member, body="Looks right; _ship it_.")
    endpoint = make_endpoint(acme, "http://127.0.0.1:9/")
    # The probe engine runs its own event loop: not in the thread Playwright's loop holds.
    with ThreadPoolExecutor(1) as thread:
        run = finished_run(endpoint, thread.submit(measured_outcome).result())
    page = page_for(owner)
    violations = _watch_for_violations(page)

    for url in (
        reverse("home"),
        reverse("usecase-list", args=["acme"]),
        reverse("usecase-detail", args=["acme", decision.use_case_id]),
        reverse("adr-list", args=["acme"]),
        reverse("adr-detail", args=["acme", decision.number]),
        reverse("review-list", args=["acme"]),
        reverse("review-detail", args=["acme", session.pk]),
        reverse("probes:endpoint-list", args=["acme"]),
        reverse("probes:run-detail", args=["acme", run.pk]),
        reverse("patterns:catalog"),
    ):
        response = page.goto(url)
        assert response.status == 200, url
        assert "default-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
    assert violations == []


def test_the_questionnaire_works_under_the_policy(page_for, member, acme):
    page = page_for(member)
    violations = _watch_for_violations(page)
    page.goto(reverse("usecase-create", args=["acme"]))
    # Typing (the keyup trigger, now a script-dispatched event) refreshes the preview.
    with page.expect_response(lambda r: r.url.endswith("/preview/")):
        page.locator("#id_name").press_sequentially("Place an order")
    page.check("input[name=caller][value=browser]")
    expect(page.locator("#recommendation-body")).to_have_attribute("data-top", "rest")
    assert violations == []


def test_the_team_switcher_and_comment_form_work_from_static_script(
    page_for, owner, member, acme, globex
):
    from decisions.models import Role
    from tests.factories import add_member

    add_member(globex, owner, Role.MEMBER)
    session = make_session(acme, owner, [drafted(acme, owner)])
    page = page_for(owner)
    violations = _watch_for_violations(page)

    page.goto(reverse("review-detail", args=["acme", session.pk]))
    page.fill("#comment-body", "A first comment")
    page.click("#comment-submit")
    expect(page.locator("#comment-list")).to_contain_text("A first comment")
    expect(page.locator("#comment-body")).to_have_value("")  # reset once sent

    page.select_option("#team-switch", label="Globex · member")
    page.wait_for_url("**/t/globex/usecases/")
    assert violations == []

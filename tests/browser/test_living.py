"""Decision health in Chromium: the health page filters through htmx, and both it and an
at-risk ADR run under the Content-Security-Policy without a violation."""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from decisions import evidence
from decisions.models import Decision
from tests.browser.test_csp import _watch_for_violations
from tests.decisions.living_support import accepted_checkout
from tests.decisions.test_living_checks import NIGHT, Scripted, done, run_round

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


@pytest.fixture
def living(acme, owner):
    previous = evidence.remeasurer()
    stand_in = Scripted({"payments"})
    evidence.register_remeasurer(stand_in)
    holding = accepted_checkout(acme, owner)
    at_risk = accepted_checkout(acme, owner)
    # Only the rounds asked for below run (no record falls due on its own in between).
    Decision.objects.filter(team=acme).update(check_schedule="never")
    for day, (ok, risky) in enumerate([(118, 121), (122, 125), (119, 910)]):
        stand_in.script = [done(100, ok), done(100 if risky < 500 else 600, risky)]
        now = NIGHT + datetime.timedelta(days=day)
        run_round(holding, now)
        run_round(at_risk, now)
    yield holding, at_risk
    evidence.register_remeasurer(previous)


def test_the_health_page_filters_and_the_adr_page_plots_under_the_policy(page_for, owner, living):
    holding, at_risk = living
    page = page_for(owner)
    violations = _watch_for_violations(page)
    page.goto(reverse("living-health", args=["acme"]))
    expect(page.locator(f"#health-{at_risk.number} .tag.health")).to_have_text("At risk")
    expect(page.locator(f"#health-{holding.number} .tag.health")).to_have_text("Holding")
    with page.expect_response(lambda r: "health=at_risk" in r.url):
        page.select_option("#health-filter", "at_risk")
    expect(page.locator(f"#health-{holding.number}")).to_have_count(0)
    expect(page.locator(f"#health-{at_risk.number}")).to_be_visible()
    if os.environ.get("ARCHWAY_SCREENSHOTS") == "1":
        page.select_option("#health-filter", "")
        expect(page.locator(f"#health-{holding.number}")).to_be_visible()
        page.screenshot(path=str(DOCS_IMG / "decision-health.png"), full_page=True)

    page.goto(reverse("adr-detail", args=["acme", at_risk.number]))
    expect(page.locator("#at-risk-reason")).to_contain_text("payments p99 is 910 ms")
    expect(page.locator("svg.assumption-plot").first).to_be_visible()
    if os.environ.get("ARCHWAY_SCREENSHOTS") == "1":
        page.locator("#living").screenshot(path=str(DOCS_IMG / "adr-at-risk.png"))
    for url in (reverse("living-settings", args=["acme"]), reverse("inbox")):
        assert page.goto(url).status == 200, url
    expect(page.locator("#inbox-link .count")).to_be_visible()
    assert violations == []

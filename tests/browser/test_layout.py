"""Every main page at phone width (390x844) and desktop width (1440x900), in Chromium.

A page fails on horizontal overflow (the document wider than the window), on a visible
control out of reach (its box beyond the window's left or right edge, unless it sits in
a box that scrolls sideways itself), or on a console error. Screenshots of every page go
to the test's tmp dir, for a person to look at.
"""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import expect

from decisions.models import Decision
from decisions.records.services import decision_create
from patterns.engine import Hop
from probes.models import Endpoint
from tests.decisions.adr_support import order_use_case
from tests.decisions.review_support import make_proposals, make_session
from tests.factories import make_use_case
from tests.probes.outcomes import delivery_outcome, measured_outcome
from tests.probes.probe_factories import finished_run, make_endpoint

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"phone": (390, 844), "desktop": (1440, 900)}

# What the page's own script reports: overflow, and controls no one can reach.
MEASURE = """() => {
  const width = window.innerWidth;
  const scrollsSideways = (el) => {
    for (let box = el.parentElement; box; box = box.parentElement) {
      const style = getComputedStyle(box);
      const scrolls = ["auto", "scroll"].includes(style.overflowX);
      if (scrolls && box.scrollWidth > box.clientWidth) return true;
    }
    return false;
  };
  const unreachable = [];
  const controls = "a[href], button, input:not([type=hidden]), select, textarea, summary";
  for (const el of document.querySelectorAll(controls)) {
    if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if (el.closest(".visually-hidden")) continue;
    if ((box.right > width + 1 || box.left < -1) && !scrollsSideways(el)) {
      const text = (el.textContent || el.name || "").trim().slice(0, 30);
      const where = `${Math.round(box.left)}..${Math.round(box.right)}`;
      unreachable.push(`${el.tagName.toLowerCase()}#${el.id || ""} "${text}" at ${where}`);
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, width, unreachable};
}"""


@pytest.fixture(scope="module")
def outcome():
    """A real probe outcome, measured before Chromium starts: both run an event loop."""
    return measured_outcome()


@pytest.fixture
def pages(acme, owner, outcome):
    """The team's rows behind every main page, and the page addresses."""
    use_case = order_use_case(acme, owner)
    endpoint = make_endpoint(
        acme, "http://127.0.0.1:8001/inventory/reserve-a-rather-long-path", name="Reserve stock"
    )
    Endpoint.objects.filter(pk=endpoint.pk).update(service="inventory")
    run = finished_run(endpoint, outcome)
    stream = make_endpoint(acme, "redis://127.0.0.1:6379/7", name="Order events (a long name)")
    Endpoint.objects.filter(pk=stream.pk).update(service="order-events")
    finished_run(stream, delivery_outcome(lost=2, duplicates=1))
    order_feed = make_use_case(
        acme,
        name="Order feed",
        consistency="eventual",
        caller_waits=False,
        consumers=3,
        broker_service="order-events",
        hops=[Hop("mailer", 40.0, 200.0, role="side-effect")],
        by=owner,
    )
    proposals = make_proposals(acme, owner)
    session = make_session(acme, owner, proposals)
    adr = decision_create(
        team=acme, data={"title": "Cache the product catalogue at the edge"}, by=owner
    )
    assert Decision.objects.filter(team=acme).count() == 3
    return {
        "usecase-list": "/t/acme/usecases/",
        "questionnaire-new": "/t/acme/usecases/new/",
        "questionnaire-edit": f"/t/acme/usecases/{use_case.pk}/edit/",
        "usecase-detail": f"/t/acme/usecases/{use_case.pk}/",
        "usecase-broker": f"/t/acme/usecases/{order_feed.pk}/",
        "decision-log": "/t/acme/decisions/",
        "adr-detail": f"/t/acme/decisions/{proposals[0].number}/",
        "adr-form": f"/t/acme/decisions/{adr.number}/edit/",
        "review-list": "/t/acme/reviews/",
        "review-detail": f"/t/acme/reviews/{session.pk}/",
        "endpoint-list": "/t/acme/probes/",
        "endpoint-detail": f"/t/acme/probes/endpoints/{endpoint.pk}/",
        "run-detail": f"/t/acme/probes/runs/{run.pk}/",
        "pattern-catalog": "/patterns/",
        "adr-draft-preview": f"/t/acme/usecases/{use_case.pk}/draft-adr/",
        "usecase-delete-confirm": f"/t/acme/usecases/{use_case.pk}/delete/",
        "team-activity": "/t/acme/activity/",
    }


def _open(browser, live_server, viewport, user=None):
    width, height = VIEWPORTS[viewport]
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": height}
    )
    if user is not None:
        client = Client()
        client.force_login(user)
        context.add_cookies(
            [{"name": "sessionid", "value": client.cookies["sessionid"].value,
              "url": live_server.url}]
        )  # fmt: skip
    context.set_default_timeout(10_000)
    return context


def _check(page, name: str, path: str, shots, viewport: str) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    response = page.goto(path)
    assert response is not None and response.ok, f"{name}: {path} answered {response.status}"
    page.wait_for_load_state("networkidle")
    found = page.evaluate(MEASURE)
    page.screenshot(path=shots / f"{name}-{viewport}.png", full_page=True)
    problems = []
    if found["scrollWidth"] > found["width"]:
        problems.append(
            f"{name} ({viewport}): scrolls sideways, {found['scrollWidth']} > {found['width']} px"
        )
    problems += [f"{name} ({viewport}): out of reach: {c}" for c in found["unreachable"]]
    problems += [f"{name} ({viewport}): console error: {e}" for e in errors]
    return problems


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_every_main_page_fits_the_window(
    outcome, browser, live_server, owner, pages, viewport, tmp_path
):
    problems: list[str] = []
    context = _open(browser, live_server, viewport, owner)
    try:
        for name, path in pages.items():
            problems += _check(context.new_page(), name, path, tmp_path, viewport)
    finally:
        context.close()
    anonymous = _open(browser, live_server, viewport)
    try:
        problems += _check(anonymous.new_page(), "login", "/accounts/login/", tmp_path, viewport)
    finally:
        anonymous.close()
    print(f"screenshots in {tmp_path}")
    assert not problems, "\n".join(problems)


def test_on_a_phone_the_recommendation_is_one_tap_away(outcome, browser, live_server, member):
    context = _open(browser, live_server, "phone", member)
    try:
        page = context.new_page()
        page.goto("/t/acme/usecases/new/")
        bar = page.locator("#summary-bar")
        expect(bar).to_be_in_viewport()
        expect(page.locator("#recommendation-body")).not_to_be_in_viewport()
        top = page.locator("#top-pattern").text_content()
        expect(page.locator("#summary-top")).to_have_text(top)
        bar.click()
        expect(page.locator("#top-pattern")).to_be_in_viewport()
    finally:
        context.close()


def test_on_a_phone_the_vote_buttons_sit_by_the_item(outcome, browser, live_server, pages, member):
    context = _open(browser, live_server, "phone", member)
    try:
        page = context.new_page()
        page.goto(pages["review-detail"])
        expect(page.locator("#current-title")).to_be_in_viewport()
        expect(page.locator("#vote-form")).to_be_in_viewport()
    finally:
        context.close()


def test_on_a_phone_the_menu_opens_and_closes(outcome, browser, live_server, member, acme):
    context = _open(browser, live_server, "phone", member)
    try:
        page = context.new_page()
        page.goto("/t/acme/usecases/")
        decisions = page.get_by_role("link", name="Decisions")
        expect(decisions).to_be_hidden()
        page.click("#main-menu > summary")
        expect(decisions).to_be_in_viewport()
        decisions.click()
        expect(page.locator("h1")).to_contain_text("Decision log")
    finally:
        context.close()


def test_small_inputs_look_alike(outcome, browser, live_server, member, acme):
    """The login's password, the questionnaire's fields and the hop fields share one style."""
    style = "(el) => { const s = getComputedStyle(el); return [s.borderRadius, s.borderTopColor, s.paddingLeft, s.fontSize]; }"  # noqa: E501
    anonymous = _open(browser, live_server, "desktop")
    try:
        page = anonymous.new_page()
        page.goto("/accounts/login/")
        password = page.locator("#id_password").evaluate(style)
        username = page.locator("#id_username").evaluate(style)
    finally:
        anonymous.close()
    context = _open(browser, live_server, "desktop", member)
    try:
        page = context.new_page()
        page.goto("/t/acme/usecases/new/")
        name = page.locator("#id_name").evaluate(style)
        page.click("#add-hop")
        hop = page.locator("li.hop input[name$=service]").evaluate(style)
        p50 = page.locator("li.hop input[name$=p50_ms]").evaluate(style)
    finally:
        context.close()
    assert password == username == name == hop == p50

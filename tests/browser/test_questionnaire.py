"""The questionnaire in Chromium: answers change the recommendation without a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from decisions.models import UseCase

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _previews(response, needle: str) -> bool:
    return response.url.endswith("/preview/") and needle in (response.request.post_data or "")


def top_pattern(page) -> str:
    return page.locator("#recommendation-body").get_attribute("data-top")


def test_answers_change_the_recommendation_without_a_reload(page_for, member, acme):
    page = page_for(member)
    page.goto("/t/acme/usecases/new/")
    page.evaluate("window.__sameDocument = true")

    page.fill("#id_name", "Place an order")
    page.check("input[name=consistency][value=strong]")
    page.check("input[name=caller][value=browser]")
    expect(page.locator("#recommendation-body")).to_have_attribute("data-top", "rest")
    first = top_pattern(page)

    # The same operation, but nobody waits and many services care about it.
    page.uncheck("#id_caller_waits")
    page.check("input[name=consistency][value=eventual]")
    page.check("input[name=caller][value=internal]")
    page.check("input[name=when_dependency_down][value=accept-and-defer]")
    page.fill("#id_consumers", "6")
    page.locator("#id_consumers").blur()
    expect(page.locator("#recommendation-body")).not_to_have_attribute("data-top", first)
    assert page.evaluate("window.__sameDocument") is True


def test_a_field_error_appears_when_leaving_the_field(page_for, member, acme):
    page = page_for(member)
    page.goto("/t/acme/usecases/new/")
    page.fill("#id_latency_p99_ms", "50")
    page.locator("#id_latency_p99_ms").blur()
    expect(page.locator("#errors-latency_p99_ms")).to_contain_text("at least the p95 budget")
    page.fill("#id_latency_p99_ms", "900")
    page.locator("#id_latency_p99_ms").blur()
    expect(page.locator("#errors-latency_p99_ms")).to_have_count(0)


def test_the_chain_editor_works_in_place_and_feeds_the_estimate(page_for, member, acme):
    page = page_for(member)
    page.goto("/t/acme/usecases/new/")
    page.evaluate("window.__sameDocument = true")
    page.fill("#id_name", "Checkout")
    page.fill("#id_latency_p95_ms", "100")
    page.fill("#id_latency_p99_ms", "200")
    for count, (name, p50, p99) in enumerate(
        [("inventory", "10", "40"), ("payments", "60", "500")]
    ):
        page.click("#add-hop")
        expect(page.locator("li.hop")).to_have_count(count + 1)
        row = page.locator("li.hop").last
        row.locator("input[name$=service]").fill(name)
        row.locator("input[name$=p50_ms]").fill(p50)
        # The panel asks for a new recommendation once the hop is complete.
        with page.expect_response(lambda r, p99=p99: _previews(r, f"p99_ms={p99}")):
            row.locator("input[name$=p99_ms]").fill(p99)
            row.locator("input[name$=p99_ms]").blur()
    expect(page.locator("#chain-estimate")).to_contain_text("over budget")

    page.get_by_role("button", name="Move hop 2 up").click()
    expect(page.locator("li.hop").first.locator("input[name$=service]")).to_have_value("payments")
    page.get_by_role("button", name="Remove hop 1").click()
    expect(page.locator("li.hop")).to_have_count(1)
    expect(page.locator("#chain-estimate")).to_contain_text("within budget")
    assert page.evaluate("window.__sameDocument") is True

    page.get_by_role("button", name="Save use case").click()
    expect(page.locator("h1")).to_have_text("Checkout")
    use_case = UseCase.objects.get(name="Checkout")
    assert [hop.service for hop in use_case.hops.all()] == ["inventory"]
    assert use_case.latest_snapshot is not None


def test_enter_in_a_text_field_does_not_save_the_use_case(page_for, member, acme):
    page = page_for(member)
    page.goto("/t/acme/usecases/new/")
    page.evaluate("window.__sameDocument = true")
    page.fill("#id_name", "Halffilled")
    # The keyup still refreshes the preview; a submit would have left the page instead.
    with page.expect_response(lambda r: _previews(r, "name=Halffilled")):
        page.press("#id_name", "Enter")
    assert page.evaluate("window.__sameDocument") is True
    assert page.url.endswith("/usecases/new/")
    assert not UseCase.objects.exists()


def test_an_empty_required_field_shows_its_error_when_left(page_for, member, acme):
    page = page_for(member)
    page.goto("/t/acme/usecases/new/")
    page.focus("#id_name")
    page.keyboard.press("Tab")
    expect(page.locator("#errors-name")).to_contain_text("required")
    page.fill("#id_name", "Now named")
    page.locator("#id_name").blur()
    expect(page.locator("#errors-name")).to_have_count(0)


def test_adding_a_hop_focuses_it_and_keeps_the_recommendation(page_for, member, acme):
    page = page_for(member)
    page.goto("/t/acme/usecases/new/")
    expect(page.locator("#recommendation-body")).to_be_visible()
    with page.expect_response(lambda r: _previews(r, "hops-TOTAL_FORMS=1")):
        page.click("#add-hop")
    row = page.locator("li.hop").last
    expect(row.locator("input[name$=service]")).to_be_focused()
    expect(page.locator("#recommendation-body")).to_be_visible()
    expect(page.locator("#recommendation-problems")).to_have_count(0)

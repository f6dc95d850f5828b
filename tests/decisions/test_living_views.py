"""The pages of living decisions: health, the ADR's assumptions, team settings, the inbox."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from decisions.living.webhooks import WebhookRefused, webhook_add
from decisions.models import Assumption, DecisionChange, Notice, Webhook
from decisions.records.services import decision_create_from_use_case
from decisions.reviews.services import session_create, session_start
from tests.decisions.living_support import accepted_checkout, checkout_use_case
from tests.decisions.test_living_checks import NIGHT, done, run_round, scripted  # noqa: F401
from tests.probes.outcomes import measured_outcome
from tests.probes.probe_factories import allow_loopback, finished_run, make_endpoint


@pytest.fixture
def at_risk(acme, owner, scripted):  # noqa: F811
    decision = accepted_checkout(acme, owner)
    scripted.script = [done(100, 120)]
    run_round(decision, NIGHT)
    scripted.script = [done(600, 910)]
    return run_round(decision, NIGHT.replace(day=3))


def test_the_health_page_lists_every_accepted_adr_with_its_badge_and_sparklines(
    acme, owner, viewer_client, at_risk
):
    holding = accepted_checkout(acme, owner)
    page = viewer_client.get(reverse("living-health", args=["acme"])).content.decode()
    assert f'id="health-{at_risk.number}"' in page and f'id="health-{holding.number}"' in page
    assert "health health-at_risk" in page and "health health-holding" in page
    assert "payments p99 is 910 ms" in page
    assert page.count('class="sparkline"') == 2 * at_risk.assumptions.count()

    only = viewer_client.get(reverse("living-health", args=["acme"]), {"health": "at_risk"})
    assert f'id="health-{holding.number}"' not in only.content.decode()
    log = viewer_client.get(reverse("adr-list", args=["acme"])).content.decode()
    assert "health health-at_risk" in log and "health health-holding" in log


def test_the_adr_page_plots_each_assumption_with_its_threshold(viewer_client, at_risk):
    page = viewer_client.get(at_risk.get_absolute_url()).content.decode()
    assert 'id="at-risk-reason"' in page
    # A plot per measured assumption; stated ones (no endpoint) have nothing to plot.
    measured = at_risk.assumptions.exclude(status="stated").count()
    assert 0 < measured < at_risk.assumptions.count()
    assert page.count('class="plot assumption-plot"') == measured
    assert "threshold 150 ms" in page
    assert "The recommendation would now be Event-driven publish/subscribe." in page
    # Viewers see no edit forms.
    assert reverse("assumption-add", args=["acme", at_risk.number]) not in page


def test_outsiders_get_404_and_members_cannot_edit_assumptions(
    outsider_client, member_client, at_risk
):
    assert outsider_client.get(reverse("living-health", args=["acme"])).status_code == 404
    assumption = at_risk.assumptions.first()
    url = reverse("assumption-edit", args=["acme", assumption.pk])
    assert outsider_client.post(url, {"threshold": 1}).status_code == 404
    assert member_client.post(url, {"threshold": 1}).status_code == 403


def test_a_facilitator_edits_an_assumption_and_the_history_keeps_it(owner_client, at_risk):
    assumption = at_risk.assumptions.get(target="payments", metric="hop_p99_ms")
    url = reverse("assumption-edit", args=["acme", assumption.pk])
    data = {
        "metric": "hop_p99_ms", "target": "payments", "comparator": "<=", "threshold": "950",
        "rate": "20", "duration_s": "5", "tolerance_pct": "15",
    }  # fmt: skip
    assert owner_client.post(url, data).status_code == 302
    assumption.refresh_from_db()
    assert (assumption.threshold, assumption.tolerance_pct) == (950, 15)
    change = DecisionChange.objects.filter(decision=at_risk, action="assumption edited").get()
    assert change.diff["threshold"] == [150.0, 950.0]

    bad = owner_client.post(url, {**data, "tolerance_pct": "-4"}, follow=True)
    assert "Between 0 and 500 %" in bad.content.decode()
    assumption.refresh_from_db()
    assert assumption.tolerance_pct == 15


def test_posts_need_the_csrf_token(owner, at_risk):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assumption = at_risk.assumptions.first()
    url = reverse("assumption-delete", args=["acme", assumption.pk])
    assert client.post(url).status_code == 403
    assert Assumption.objects.filter(pk=assumption.pk).exists()


def test_the_inbox_shows_the_unread_count_in_the_header(owner, owner_client, at_risk):
    page = owner_client.get(reverse("inbox")).content.decode()
    unread = Notice.objects.filter(user=owner, read_at__isnull=True).count()
    assert unread >= 1
    assert f'<span class="count">{unread}</span>' in page
    assert "is at risk: payments p50 is 600 ms, assumed ≤ 100 ms; payments p99 is 910 ms" in page
    owner_client.post(reverse("inbox-read"))
    assert 'class="count"' not in owner_client.get(reverse("inbox")).content.decode()


def test_a_webhook_url_passes_the_egress_guard(acme, owner_client, settings):
    settings.PROBE_ALLOW = None
    with pytest.raises(WebhookRefused) as refused:
        webhook_add(team=acme, url="http://169.254.169.254/latest/")
    assert refused.value.reason
    url = reverse("living-settings", args=["acme"])
    response = owner_client.post(url, {"form": "webhook", "url": "http://127.0.0.1:9/hook"})
    assert response.status_code == 400 and "Refused:" in response.content.decode()
    assert not Webhook.objects.exists()

    allow_loopback(settings)
    response = owner_client.post(url, {"form": "webhook", "url": "http://127.0.0.1:9/hook"})
    assert response.status_code == 302
    assert Webhook.objects.get().url == "http://127.0.0.1:9/hook"


def test_team_settings_need_a_facilitator_and_a_real_time_zone(acme, owner_client, member_client):
    url = reverse("living-settings", args=["acme"])
    assert member_client.get(url).status_code == 403
    response = owner_client.post(url, {"check_schedule": "weekly", "time_zone": "Mars/Olympus"})
    assert response.status_code == 400 and "is not a time zone name" in response.content.decode()
    owner_client.post(url, {"check_schedule": "weekly", "time_zone": "Europe/Berlin"})
    acme.refresh_from_db()
    assert (acme.check_schedule, acme.time_zone) == ("weekly", "Europe/Berlin")


def test_a_review_shows_the_latest_valid_probe_with_its_time(acme, owner, owner_client):
    decision = decision_create_from_use_case(use_case=checkout_use_case(acme, owner), by=owner)
    # Measured after the draft: the snapshot has no evidence, the review page shows it anyway.
    endpoint = make_endpoint(acme, "http://127.0.0.1:9/pay", name="Payments", service="payments")
    run = finished_run(endpoint, measured_outcome())
    session = session_create(
        team=acme, title="Weekly", scheduled_for=timezone.now(), decisions=[decision], by=owner
    )
    session_start(session=session, by=owner)
    page = owner_client.get(session.get_absolute_url()).content.decode()
    assert "No probe measurements yet" not in page
    assert f"probe #{run.pk} of Payments, {run.finished_at:%Y-%m-%d %H:%M} UTC" in page


def test_a_facilitator_sets_the_review_date_and_the_records_schedule(owner_client, at_risk):
    url = reverse("living-review-settings", args=["acme", at_risk.number])
    response = owner_client.post(url, {"review_by": "2026-06-30", "check_schedule": "never"})
    assert response.status_code == 302
    at_risk.refresh_from_db()
    assert str(at_risk.review_by) == "2026-06-30" and at_risk.next_check_at is None
    change = at_risk.changes.get(action="review settings")
    assert change.diff["check_schedule"] == ["", "never"]
    bad = owner_client.post(url, {"review_by": "someday", "check_schedule": ""}, follow=True)
    assert "Review settings not saved" in bad.content.decode()

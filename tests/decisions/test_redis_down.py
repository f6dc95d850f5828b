"""Redis stopped while people work: questionnaires, ADRs and reviews go on; what needs the
queue says so; nothing typed is lost.

REDIS_URL and the Celery broker point at a closed port on 127.0.0.1 for these tests only;
the shared Redis keeps running for everyone else.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from decisions.jobs import JobStatus
from decisions.models import Comment, Decision, ExportJob, UseCase, Vote
from tests.decisions.adr_support import drafted, order_use_case
from tests.decisions.review_support import make_session
from tests.probes.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_down(monkeypatch):
    from config.celery import app

    dead = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setenv("REDIS_URL", dead)
    monkeypatch.setattr(app.conf, "broker_url", dead)
    # Pooled connections were opened for the live Redis: none may be reused.
    monkeypatch.setattr(app, "_pool", None)
    monkeypatch.setattr(app.amqp, "_producer_pool", None)
    return dead


class _FormValues(HTMLParser):
    """The values a browser would submit from one form of a page, as it stands."""

    def __init__(self, form_id: str | None) -> None:
        super().__init__()
        self.form_id, self.inside, self.values = form_id, False, []
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and (self.form_id is None or a.get("id") == self.form_id):
            self.inside = True
        if not self.inside or "name" not in a and tag != "option":
            return
        if tag == "input" and a.get("type") not in {"submit", "button", "file"}:
            if a.get("type") in {"checkbox", "radio"} and "checked" not in a:
                return
            self.values.append((a["name"], a.get("value", "on" if "checked" in a else "")))
        elif tag == "textarea":
            self._textarea = a["name"]
            self.values.append((a["name"], ""))
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self.values.append((self._select, a.get("value", "")))

    def handle_data(self, data: str) -> None:
        if self._textarea:
            name, text = self.values[-1]
            self.values[-1] = (name, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
            if self.values and self.values[-1][1].startswith("\n"):
                name, text = self.values[-1]
                self.values[-1] = (name, text[1:])  # HTML drops one leading newline
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self.inside = False


def form_values(client: Client, url: str, form_id: str | None = None) -> dict[str, list[str]]:
    page = client.get(url)
    assert page.status_code == 200, url
    parser = _FormValues(form_id)
    parser.feed(page.content.decode())
    values: dict[str, list[str]] = {}
    for name, value in parser.values:
        values.setdefault(name, []).append(value)
    values.pop("csrfmiddlewaretoken", None)
    return values


def test_the_main_pages_load_with_redis_down(owner_client, owner, acme, redis_down):
    decision = drafted(acme, owner)
    session = make_session(acme, owner, [decision])
    assert owner_client.get(reverse("home"), follow=True).status_code == 200
    for url in (
        reverse("usecase-list", args=["acme"]),
        reverse("usecase-create", args=["acme"]),
        reverse("usecase-detail", args=["acme", decision.use_case_id]),
        reverse("usecase-edit", args=["acme", decision.use_case_id]),
        reverse("adr-list", args=["acme"]),
        reverse("adr-detail", args=["acme", decision.number]),
        reverse("adr-edit", args=["acme", decision.number]),
        reverse("adr-history", args=["acme", decision.number]),
        reverse("review-list", args=["acme"]),
        reverse("review-detail", args=["acme", session.pk]),
        reverse("probes:endpoint-list", args=["acme"]),
        reverse("patterns:catalog"),
    ):
        assert owner_client.get(url).status_code == 200, url
    # The one-record PDF is rendered in the request, not queued.
    pdf = owner_client.get(reverse("adr-export-pdf", args=["acme", decision.number]))
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")


def test_the_questionnaire_is_saved_with_redis_down(member_client, acme, redis_down):
    url = reverse("usecase-create", args=["acme"])
    answers = form_values(member_client, url, "usecase-form")
    answers["name"] = ["Reserve stock"]
    answers["description"] = ["Typed while Redis was down."]
    # The live preview and field check answer too.
    preview = member_client.post(reverse("usecase-preview", args=["acme"]), answers)
    assert preview.status_code == 200
    field = member_client.post(
        reverse("usecase-validate", args=["acme"]), {**answers, "_field": "name"}
    )
    assert field.status_code == 200

    response = member_client.post(url, answers)
    assert response.status_code == 302, response.content.decode()[:2000]
    use_case = UseCase.objects.get(team=acme, name="Reserve stock")
    assert use_case.description == "Typed while Redis was down."
    assert member_client.get(response.url).status_code == 200


def test_adrs_are_drafted_and_edited_with_redis_down(owner_client, owner, acme, redis_down):
    use_case = order_use_case(acme, owner)
    draft = reverse("adr-draft", args=["acme", use_case.pk])
    drafted_response = owner_client.post(draft, form_values(owner_client, draft))
    assert drafted_response.status_code == 302
    decision = Decision.objects.get(team=acme, use_case=use_case)

    edit = reverse("adr-edit", args=["acme", decision.number])
    values = form_values(owner_client, edit)
    values["context"] = ["Written while the queue was down; it must survive."]
    saved = owner_client.post(edit, values)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    decision.refresh_from_db()
    assert decision.context == "Written while the queue was down; it must survive."


def test_reviews_take_votes_and_comments_with_redis_down(
    owner, member_client, acme, member, redis_down
):
    session = make_session(acme, owner, [drafted(acme, owner)])
    item = session.current_item
    vote = member_client.post(
        reverse("review-vote", args=["acme", session.pk]), {"item": item.pk, "choice": "approve"}
    )
    comment = member_client.post(
        reverse("review-comment", args=["acme", session.pk]),
        {"item": item.pk, "body": "Typed during the outage."},
    )
    assert vote.status_code in {200, 204, 302}
    assert comment.status_code in {200, 204, 302}
    assert Vote.objects.filter(item=item, user=member).count() == 1
    assert Comment.objects.get(item=item).body == "Typed during the outage."


def test_the_log_export_says_the_queue_is_unavailable(viewer_client, acme, redis_down):
    response = viewer_client.post(reverse("adr-log-pdf", args=["acme"]), follow=True)
    assert response.status_code == 200
    assert "The job queue is unavailable" in response.content.decode()
    assert ExportJob.objects.get(team=acme).status == JobStatus.FAILED


def test_health_says_redis_is_down(redis_down):
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["redis"]

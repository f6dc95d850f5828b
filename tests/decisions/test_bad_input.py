"""Bad input at the forms and search boxes: a field error or a clean answer naming the
limit, never a 500, and nothing stored."""

from __future__ import annotations

import pytest
from django.urls import reverse

from decisions.models import Comment, Decision, UseCase
from decisions.records.services import decision_create
from decisions.usecases.forms import DESCRIPTION_MAX_CHARS, number_range_text
from tests.decisions.adr_support import drafted
from tests.decisions.test_usecase_views import answers

pytestmark = pytest.mark.django_db

HUGE_INTEGER = "1" + "0" * 400
HTMX = {"HTTP_HX_REQUEST": "true"}


def limit_text(field: str) -> str:
    return number_range_text(field.rsplit("-", 1)[-1])


NUMBER_FIELDS = [
    "latency_p95_ms",
    "latency_p99_ms",
    "staleness_s",
    "peak_rps",
    "avg_rps",
    "consumers",
    "hops-0-p50_ms",
    "hops-1-p99_ms",
]


@pytest.mark.parametrize("value", ["1e308", HUGE_INTEGER, "-1e308", "1e-400"])
@pytest.mark.parametrize("field", NUMBER_FIELDS)
def test_huge_numbers_in_the_questionnaire_get_a_field_error_naming_the_range(
    member_client, field, value
):
    data = answers(**{field: value})
    response = member_client.post(reverse("usecase-create", args=["acme"]), data)
    if value == "1e-400":  # rounds to zero: a valid answer for fields that allow zero
        assert response.status_code in (302, 400)
        return
    assert response.status_code == 400
    assert limit_text(field) in response.content.decode()
    assert not UseCase.objects.exists()
    preview = member_client.post(reverse("usecase-preview", args=["acme"]), data, **HTMX)
    assert preview.status_code == 200
    assert limit_text(field) in preview.content.decode()


@pytest.mark.parametrize("field", ["latency_p95_ms", "consumers"])
def test_the_field_check_names_the_range_too(member_client, field):
    data = answers(**{field: HUGE_INTEGER, "_field": field})
    response = member_client.post(reverse("usecase-validate", args=["acme"]), data, **HTMX)
    assert response.status_code == 200
    assert limit_text(field) in response.content.decode()


def test_a_too_long_description_is_refused_with_the_limit(member_client):
    data = answers(description="x" * (DESCRIPTION_MAX_CHARS + 1))
    response = member_client.post(reverse("usecase-create", args=["acme"]), data)
    assert response.status_code == 400
    assert "10,000 characters" in response.content.decode()
    assert not UseCase.objects.exists()


def test_a_too_long_adr_section_is_refused_with_the_limit(member_client, acme, member):
    adr = drafted(acme, member)
    path = reverse("adr-edit", args=["acme", adr.number])
    form = member_client.get(path).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data["context"] = "y" * 20_001
    response = member_client.post(path, data)
    assert response.status_code == 400
    assert "at most 20000 characters" in response.content.decode()
    assert Decision.objects.get(pk=adr.pk).context != data["context"]


def test_a_too_long_comment_is_refused_with_the_limit(member_client, live_session):
    response = member_client.post(
        reverse("review-comment", args=["acme", live_session.pk]), {"body": "z" * 5001}, **HTMX
    )
    assert response.status_code == 400
    assert "at most 5000 characters" in response.content.decode()
    assert not Comment.objects.exists()


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("usecase-list", {"q": "check\x00out"}),
        ("adr-list", {"q": "sa\x00ga"}),
        ("adr-list", {"status": "proposed\x00", "pattern": "saga\x00"}),
    ],
)
def test_a_nul_byte_in_a_search_gives_a_clean_result(viewer_client, acme, member, name, params):
    decision_create(team=acme, data={"title": "Saga for orders"}, by=member)
    response = viewer_client.get(reverse(name, args=["acme"]), params)
    assert response.status_code == 200
    response = viewer_client.get(reverse(name, args=["acme"]), params, **HTMX)
    assert response.status_code == 200

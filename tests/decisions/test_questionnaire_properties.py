"""The questionnaire on any POST data: a page with field errors (400) or a saved use case
(302), never a 5xx, and whatever is saved is within the stated limits."""

from __future__ import annotations

import math

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decisions.models import UseCase
from decisions.usecases.forms import DESCRIPTION_MAX_CHARS, NUMBER_LIMITS
from patterns.engine import CHOICES
from tests.decisions.test_usecase_views import answers

pytestmark = pytest.mark.django_db

PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**400), max_value=10**400).map(str),
    st.sampled_from(["1e308", "-0", "1e-400", "0x10", "1_000", " 5 ", "٣", "NaN", "Infinity"]),
    st.text(max_size=12),
)
values = st.one_of(numbers, st.text(max_size=60), st.sampled_from(sum(CHOICES.values(), ())))
fields = st.sampled_from(
    [*answers(), "hops-TOTAL_FORMS", "hops-INITIAL_FORMS", "hops-2-service", "edit_base", "x"]
)
posts = st.dictionaries(fields, values, max_size=12)


def assert_within_limits(use_case: UseCase) -> None:
    use_case.full_clean()
    assert len(use_case.description) <= DESCRIPTION_MAX_CHARS
    for name, (low, high, _unit) in NUMBER_LIMITS.items():
        if hasattr(use_case, name):
            value = getattr(use_case, name)
            assert math.isfinite(value) and low <= value <= high, (name, value)
    for hop in use_case.hops.all():
        assert 0.001 <= hop.p50_ms <= hop.p99_ms <= 3_600_000


@PROPERTY_SETTINGS
@given(changes=posts)
def test_any_questionnaire_post_gives_errors_or_a_sound_use_case(member, changes):
    client = Client()
    client.force_login(member)
    before = set(UseCase.objects.values_list("pk", flat=True))
    data = answers(**changes)
    response = client.post(reverse("usecase-create", args=["acme"]), data)
    assert response.status_code in (302, 400)
    created = UseCase.objects.exclude(pk__in=before)
    assert created.count() == (1 if response.status_code == 302 else 0)
    for use_case in created:
        assert_within_limits(use_case)
    preview = client.post(reverse("usecase-preview", args=["acme"]), data)
    assert preview.status_code == 200
    for name in changes:
        check = client.post(reverse("usecase-validate", args=["acme"]), {**data, "_field": name})
        assert check.status_code in (200, 400)

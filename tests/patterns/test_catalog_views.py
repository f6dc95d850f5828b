"""The public catalog pages."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from patterns.catalog import PATTERNS, pattern_list
from patterns.engine import PATTERN_ORDER

pytestmark = pytest.mark.django_db


def test_the_catalog_lists_every_pattern_without_login(client: Client) -> None:
    response = client.get(reverse("patterns:catalog"))
    assert response.status_code == 200
    body = response.content.decode()
    for pattern in pattern_list():
        assert escape(pattern.name) in body
        assert reverse("patterns:detail", args=[pattern.id]) in body


@pytest.mark.parametrize("pattern_id", PATTERN_ORDER)
def test_each_pattern_has_a_detail_page(client: Client, pattern_id: str) -> None:
    response = client.get(reverse("patterns:detail", args=[pattern_id]))
    assert response.status_code == 200
    body = response.content.decode()
    pattern = PATTERNS[pattern_id]
    assert escape(pattern.summary) in body
    assert "Typical settings" in body
    assert escape(pattern.settings[0].name) in body
    assert "<table" in body and "<dl>" in body


def test_an_unknown_pattern_is_404(client: Client) -> None:
    assert client.get("/patterns/carrier-pigeon/").status_code == 404


def test_the_pages_refuse_post(client: Client) -> None:
    assert client.post(reverse("patterns:catalog")).status_code == 405
    assert client.post(reverse("patterns:detail", args=["rest"])).status_code == 405


def test_catalog_entries_are_complete() -> None:
    for pattern in pattern_list():
        assert pattern.strengths and pattern.weaknesses
        assert pattern.use_when and pattern.avoid_when and pattern.settings

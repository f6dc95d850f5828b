"""Logging in through Django's form, with Archway's authentication backend."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def test_logging_in_with_the_form_opens_the_team_pages(member):
    client = Client()
    response = client.post(LOGIN, {"username": "max", "password": PASSWORD})
    assert response.status_code == 302
    page = client.get(reverse("usecase-create", args=["acme"]))
    assert page.status_code == 200
    assert '<span class="muted">max</span>' in page.content.decode()


def test_a_wrong_password_is_refused_with_a_message(member):
    response = Client().post(LOGIN, {"username": "max", "password": "not-it"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_a_deactivated_user_cannot_log_in(member):
    get_user_model().objects.filter(pk=member.pk).update(is_active=False)
    client = Client()
    response = client.post(LOGIN, {"username": "max", "password": PASSWORD})
    assert response.status_code == 200
    assert client.get(reverse("usecase-create", args=["acme"])).status_code == 302

"""Logging in through Django's form and backend, and the sessions that keep people
logged in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

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


def test_a_deactivated_user_is_logged_out_on_the_next_request(member_client, member):
    page = reverse("usecase-create", args=["acme"])
    assert member_client.get(page).status_code == 200
    get_user_model().objects.filter(pk=member.pk).update(is_active=False)
    response = member_client.get(page)
    assert response.status_code == 302
    assert response.url.startswith(LOGIN)


def test_a_session_ended_on_another_worker_is_refused_at_once(member):
    client = Client()
    client.post(LOGIN, {"username": "max", "password": PASSWORD})
    page = reverse("usecase-create", args=["acme"])
    assert client.get(page).status_code == 200
    # A logout served by another web worker deletes the row and nothing in this process;
    # this worker must not go on trusting what it read a moment ago.
    Session.objects.all().delete()
    response = client.get(page)
    assert response.status_code == 302
    assert response.url.startswith(LOGIN)


def test_an_expired_session_is_refused(member):
    client = Client()
    client.post(LOGIN, {"username": "max", "password": PASSWORD})
    page = reverse("usecase-create", args=["acme"])
    assert client.get(page).status_code == 200
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    assert client.get(page).status_code == 302


def test_celery_beat_clears_expired_sessions_every_hour(member):
    from config.celery import app
    from decisions import tasks

    staying, expired = Client(), Client()
    staying.force_login(member)
    expired.force_login(member)
    Session.objects.filter(session_key=expired.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    tasks.clear_expired_sessions()
    assert list(Session.objects.values_list("session_key", flat=True)) == [
        staying.session.session_key
    ]
    entry = app.conf.beat_schedule["decisions-clear-expired-sessions"]
    assert entry == {"task": tasks.clear_expired_sessions.name, "schedule": 3600.0}

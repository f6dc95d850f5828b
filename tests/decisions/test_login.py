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


# --- Throttling, password rules, session id --------------------------------


def _attempt(client: Client, username: str, password: str, address: str):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_wrong_passwords_lock_that_user_from_that_address_and_the_page_says_so(member, settings):
    settings.AXES_FAILURE_LIMIT = 3
    attacker = Client()
    for _ in range(3):
        _attempt(attacker, "max", "guess", "203.0.113.9")
    # Locked: even the right password is refused, with a page that says why and for how long.
    refused = _attempt(attacker, "max", PASSWORD, "203.0.113.9")
    assert refused.status_code == 429
    body = refused.content.decode()
    assert 'id="locked-out"' in body
    assert "Too many failed logins" in body
    assert f"paused for {round(settings.AXES_COOLOFF_TIME.total_seconds() / 60)} minutes" in body
    assert '<input type="password" name="password"' in body  # still the login page
    assert attacker.get(reverse("usecase-create", args=["acme"])).status_code == 302


def test_a_stranger_cannot_lock_someone_out_from_another_address(member, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(5):
        _attempt(Client(), "max", "guess", "203.0.113.9")
    owner_of_the_account = Client()
    response = _attempt(owner_of_the_account, "max", PASSWORD, "198.51.100.7")
    assert response.status_code == 302
    assert owner_of_the_account.get(reverse("usecase-create", args=["acme"])).status_code == 200


def test_a_locked_address_can_still_log_in_as_another_user(member, owner, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        _attempt(Client(), "max", "guess", "203.0.113.9")
    assert _attempt(Client(), owner.username, PASSWORD, "203.0.113.9").status_code == 302


def test_logging_in_works_again_after_the_cool_off(member, settings):
    from axes.models import AccessAttempt

    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        _attempt(Client(), "max", "guess", "203.0.113.9")
    assert _attempt(Client(), "max", PASSWORD, "203.0.113.9").status_code == 429
    # The cool-off is over once the last failure is older than it.
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    assert _attempt(Client(), "max", PASSWORD, "203.0.113.9").status_code == 302


def test_the_cool_off_and_limit_come_from_the_environment(tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.AXES_COOLOFF_TIME.total_seconds(), settings.AXES_FAILURE_LIMIT, "
        "settings.AXES_LOCKOUT_PARAMETERS)"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ARCHWAY_LOGIN_COOLOFF_MINUTES": "2.5",
        "ARCHWAY_LOGIN_FAILURE_LIMIT": "7",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split(maxsplit=2) == ["150.0", "7", "[['username', 'ip_address']]\n"]


def test_behind_a_proxy_the_address_is_the_one_the_proxy_saw(settings):
    from django.test import RequestFactory

    from config.security import client_ip

    settings.ARCHWAY_TRUSTED_PROXIES = 1
    # The client may write anything on the left; only the proxy's own entry counts.
    request = RequestFactory().post(
        LOGIN, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9"
    )
    assert client_ip(request) == "203.0.113.9"
    settings.ARCHWAY_TRUSTED_PROXIES = 0
    assert client_ip(request) == "10.0.0.2"


def test_a_weak_password_is_refused_by_the_validators(member):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    for weak in ("max", "password", "short1"):
        with pytest.raises(ValidationError):
            validate_password(weak, user=member)
    validate_password("a-long-unusual-passphrase-7", user=member)


def test_logging_in_gives_a_new_session_id(member):
    client = Client()
    anonymous = client.session
    anonymous["seen-login-page"] = True
    anonymous.save()
    before = anonymous.session_key
    assert Session.objects.filter(session_key=before).exists()
    client.post(LOGIN, {"username": "max", "password": PASSWORD})
    after = client.session.session_key
    assert after and after != before
    assert not Session.objects.filter(session_key=before).exists()

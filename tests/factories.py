"""Rows for tests, made with the same services the app uses."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

from django.contrib.auth import get_user_model

from decisions.models import Membership, Role, Team, UseCase
from decisions.usecases.services import use_case_save
from patterns.engine import Hop

_seq = itertools.count(1)


def make_user(username: str | None = None, password: str = "pw-for-tests-1"):
    username = username or f"user{next(_seq)}"
    return get_user_model().objects.create_user(username=username, password=password)


def make_team(slug: str | None = None, name: str | None = None) -> Team:
    slug = slug or f"team{next(_seq)}"
    return Team.objects.create(slug=slug, name=name or slug.title())


def add_member(team: Team, user, role: str = Role.MEMBER) -> Membership:
    return Membership.objects.create(team=team, user=user, role=role)


def make_use_case(
    team: Team, *, hops: list[Hop] | None = None, by=None, **answers: object
) -> UseCase:
    answers.setdefault("name", f"Use case {next(_seq)}")
    use_case = UseCase(team=team, **answers)
    use_case_save(use_case=use_case, hops=hops or [], by=by)
    return use_case


def wait_for(condition: Callable[[], object], *, timeout: float = 30.0, what: str = "") -> object:
    """Poll until ``condition()`` is truthy; fail the test with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.05)

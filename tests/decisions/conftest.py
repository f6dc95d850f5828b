"""Review-session rows shared by the service and view tests."""

from __future__ import annotations

import pytest

from tests.decisions.review_support import make_proposals, make_session


@pytest.fixture
def proposals(acme, owner):
    return make_proposals(acme, owner)


@pytest.fixture
def live_session(acme, owner, proposals):
    return make_session(acme, owner, proposals)


@pytest.fixture
def first_item(live_session):
    return live_session.items.order_by("position").first()

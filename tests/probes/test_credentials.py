"""Broker logins sealed at rest with a key derived from the settings."""

from __future__ import annotations

import pytest

from probes.credentials import SealBroken, seal, unseal
from probes.egress import Credentials


def test_a_login_round_trips_and_the_token_hides_it() -> None:
    login = Credentials("orders-app", "s3cret:pä/ss")
    token = seal(login, "key material one")
    assert "s3cret" not in token and "orders-app" not in token
    assert unseal(token, "key material one") == login
    assert seal(login, "key material one") != token  # a fresh IV every time


def test_another_key_cannot_open_it() -> None:
    token = seal(Credentials("u", "p"), "key material one")
    with pytest.raises(SealBroken, match="current key"):
        unseal(token, "key material two")
    with pytest.raises(SealBroken):
        unseal("not a token", "key material one")


def test_no_key_material_is_refused() -> None:
    with pytest.raises(ValueError, match="no key material"):
        seal(Credentials("u", "p"), "")

"""Broker logins at rest: sealed with Fernet under a key derived from the settings.

Pure (no Django): the caller passes the key material, ``ARCHWAY_CREDENTIALS_KEY``
when set, else ``SECRET_KEY``. The Fernet key is derived from it with
HKDF-SHA256, so the secret key itself is never used as an encryption key
and rotating ``SECRET_KEY`` without setting ``ARCHWAY_CREDENTIALS_KEY``
makes stored logins unreadable (they must then be entered again), which
:func:`unseal` reports as :class:`SealBroken`.
"""

from __future__ import annotations

import base64
import json

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from probes.egress import Credentials

_INFO = b"archway broker credentials v1"


class SealBroken(Exception):  # noqa: N818 - reads as what happened
    """A stored login cannot be opened with the current key."""


def fernet_for(key_material: str) -> Fernet:
    if not key_material:
        raise ValueError("no key material for broker credentials")
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        key_material.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(credentials: Credentials, key_material: str) -> str:
    """The login as an opaque token to store apart from the URL."""
    payload = json.dumps({"u": credentials.username, "p": credentials.password}).encode()
    return fernet_for(key_material).encrypt(payload).decode("ascii")


def unseal(token: str, key_material: str) -> Credentials:
    try:
        payload = fernet_for(key_material).decrypt(token.encode("ascii"))
    except (InvalidToken, ValueError) as exc:
        raise SealBroken("the stored login cannot be read with the current key") from exc
    data = json.loads(payload)
    return Credentials(str(data["u"]), str(data["p"]))

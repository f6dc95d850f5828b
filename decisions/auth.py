"""Django's model backend, with the per-request user lookup on a prepared query."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser

from decisions.prepared import PreparedSelect

_user_by_pk = PreparedSelect(get_user_model(), where=get_user_model()._meta.pk.name)


class ArchwayBackend(ModelBackend):
    """Logs in and checks permissions exactly as ``ModelBackend`` does.

    Only ``get_user``, which runs on every request with a session, skips the ORM's query
    compiler (see ``decisions.prepared``); an inactive user still gets no user back."""

    def get_user(self, user_id: object) -> AbstractBaseUser | None:
        found = _user_by_pk(user_id)
        user = found[0] if found else None
        return user if user is not None and self.user_can_authenticate(user) else None

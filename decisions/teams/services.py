"""Team-level writes that outlive their subject: the activity log of deletes and archives."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from decisions.models import Team, TeamActivity


def activity_record(
    *, team: Team, by: AbstractBaseUser | None, action: str, subject: str, note: str = ""
) -> TeamActivity:
    """One line in the team's activity: who deleted, archived or restored what."""
    user = by if by is not None and getattr(by, "is_authenticated", False) else None
    return TeamActivity.objects.create(
        team=team, by=user, action=action, subject=subject[:300], note=note
    )

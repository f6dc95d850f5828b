"""Shared by the ADR commands: find the team and the record, or stop with exit status 2."""

from __future__ import annotations

from django.core.management.base import CommandError

from decisions.models import Decision, Team


def team_or_fail(slug: str) -> Team:
    try:
        return Team.objects.get(slug=slug)
    except Team.DoesNotExist:
        raise CommandError(f"No team with the slug {slug!r}.", returncode=2) from None


def decision_or_fail(team: Team, number: int) -> Decision:
    try:
        return (
            Decision.objects.select_related("team", "superseded_by", "use_case", "snapshot")
            .prefetch_related("supersedes")
            .get(team=team, number=number)
        )
    except Decision.DoesNotExist:
        raise CommandError(f"Team {team.slug} has no ADR-{number:04d}.", returncode=2) from None


def write_or_fail(path: str, data: bytes) -> None:
    try:
        with open(path, "wb") as handle:
            handle.write(data)
    except OSError as exc:
        raise CommandError(f"Cannot write {path}: {exc.strerror}.", returncode=2) from None

from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["CheckSchedule", "Membership", "Role", "Team", "TeamActivity"]


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    MEMBER = "member", "Member"
    FACILITATOR = "facilitator", "Facilitator"


# Each role can do everything the roles before it can.
ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.FACILITATOR: 2}


class CheckSchedule(models.TextChoices):
    """How often an accepted ADR's assumptions are measured again."""

    NIGHTLY = "nightly", "Nightly"
    WEEKLY = "weekly", "Weekly (Sunday night)"
    NEVER = "never", "Never"


class Team(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    probe_token = models.CharField(
        max_length=64,
        blank=True,
        help_text="Served at /.well-known/archway-probe.txt to prove a public host is ours.",
    )
    check_schedule = models.CharField(
        max_length=10,
        choices=CheckSchedule.choices,
        default=CheckSchedule.NIGHTLY,
        help_text="When accepted ADRs re-check their assumptions (an ADR may override it).",
    )
    time_zone = models.CharField(
        max_length=60, default="UTC", help_text="The night checks run in, e.g. Europe/Berlin."
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team")
        ]
        ordering = ["team__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    def can(self, role: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(role)]

    @property
    def can_write(self) -> bool:
        return self.can(Role.MEMBER)

    @property
    def is_facilitator(self) -> bool:
        return self.can(Role.FACILITATOR)


class TeamActivity(models.Model):
    """What happened to a team's objects that no longer have a history of their own:
    deleted, archived and restored use cases, endpoints, ADR drafts and review sessions."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="activity")
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=20)  # deleted, archived, restored
    subject = models.CharField(max_length=300, help_text="What it happened to, as it was named.")
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = "team activity"

    def __str__(self) -> str:
        return f"{self.subject} {self.action} at {self.at:%Y-%m-%d %H:%M}"

"""Review sessions: a team walks through proposed ADRs together, votes and decides.

`ReviewSession.version` goes up by one on every change to the session, its agenda, votes
or comments. The live page's poll compares it (with a digest of who is present) to the
version the browser already shows, so "nothing changed" costs two indexed reads.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

__all__ = [
    "AgendaItem",
    "Comment",
    "Outcome",
    "Presence",
    "ReviewSession",
    "ReviewStatus",
    "Vote",
    "VoteChoice",
]


class ReviewStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    LIVE = "live", "Live"
    CLOSED = "closed", "Closed"


class Outcome(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    DEFERRED = "deferred", "Deferred"


class VoteChoice(models.TextChoices):
    APPROVE = "approve", "Approve"
    CONCERNS = "concerns", "Concerns"
    BLOCK = "block", "Block"


class ReviewSession(models.Model):
    team = models.ForeignKey(
        "decisions.Team", on_delete=models.CASCADE, related_name="review_sessions"
    )
    title = models.CharField(max_length=200)
    scheduled_for = models.DateTimeField()
    status = models.CharField(
        max_length=20, choices=ReviewStatus.choices, default=ReviewStatus.SCHEDULED
    )
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    current_item = models.ForeignKey(
        "decisions.AgendaItem",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    version = models.PositiveIntegerField(
        default=1, help_text="Goes up on every change; the live page polls it."
    )
    minutes = models.TextField(blank=True, help_text="Markdown minutes, written when closed.")
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    closed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-scheduled_for", "-pk"]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_status_display().lower()})"

    def get_absolute_url(self) -> str:
        return reverse("review-detail", args=[self.team.slug, self.pk])

    @property
    def is_live(self) -> bool:
        return self.status == ReviewStatus.LIVE

    @property
    def is_closed(self) -> bool:
        return self.status == ReviewStatus.CLOSED


class AgendaItem(models.Model):
    session = models.ForeignKey(ReviewSession, on_delete=models.CASCADE, related_name="items")
    # RESTRICT: an ADR on an agenda is not deleted on its own (the session refers to it),
    # but deleting the whole team, sessions included, still works.
    decision = models.ForeignKey(
        "decisions.Decision", on_delete=models.RESTRICT, related_name="agenda_items"
    )
    position = models.PositiveIntegerField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.PENDING)
    rationale = models.TextField(blank=True)
    override_reason = models.TextField(
        blank=True, help_text="Why the item was accepted although someone voted block."
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "position"], name="one_agenda_item_per_position"
            ),
            models.UniqueConstraint(
                fields=["session", "decision"], name="adr_once_per_review_session"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.decision_id} ({self.outcome})"

    @property
    def is_pending(self) -> bool:
        return self.outcome == Outcome.PENDING


class Vote(models.Model):
    item = models.ForeignKey(AgendaItem, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    choice = models.CharField(max_length=20, choices=VoteChoice.choices)
    cast_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["item", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["item", "user"], name="one_vote_per_member_per_item")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.choice} on item {self.item_id}"


class Comment(models.Model):
    item = models.ForeignKey(AgendaItem, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(help_text="Markdown; sanitised when shown.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "pk"]

    def __str__(self) -> str:
        return f"Comment {self.pk} on item {self.item_id}"


class Presence(models.Model):
    """When a person's live page last polled; present means seen in the last few seconds."""

    session = models.ForeignKey(ReviewSession, on_delete=models.CASCADE, related_name="presences")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField()

    class Meta:
        ordering = ["session", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["session", "user"], name="one_presence_per_session")
        ]
        # The poll asks "who was seen since T?" for one session on every request.
        indexes = [models.Index(fields=["session", "last_seen"], name="presence_recent")]

    def __str__(self) -> str:
        return f"{self.user_id} in session {self.session_id} at {self.last_seen:%H:%M:%S}"

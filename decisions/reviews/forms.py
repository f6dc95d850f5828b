"""Forms for review sessions: the agenda, votes, comments and outcomes."""

from __future__ import annotations

import datetime

from django import forms
from django.utils import timezone

from decisions.models import Decision, Outcome, VoteChoice
from decisions.reviews.services import COMMENT_MAX_CHARS

AGENDA_PREFIX = "agenda_"


class SessionForm(forms.Form):
    """Title, time, and a position for each proposed ADR that goes on the agenda."""

    title = forms.CharField(max_length=200)
    scheduled_for = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Server time (UTC).",
    )

    def __init__(self, *args: object, candidates: list[Decision], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.candidates = candidates
        if not self.is_bound:
            soon = timezone.localtime() + datetime.timedelta(hours=1)
            self.initial.setdefault("scheduled_for", soon.replace(minute=0, second=0))
        for decision in candidates:
            self.fields[f"{AGENDA_PREFIX}{decision.pk}"] = forms.IntegerField(
                required=False,
                min_value=1,
                max_value=len(candidates),
                label=f"{decision.label}: {decision.title}",
                widget=forms.NumberInput(attrs={"class": "position", "placeholder": "—"}),
            )

    def agenda_fields(self) -> list[forms.BoundField]:
        return [self[f"{AGENDA_PREFIX}{d.pk}"] for d in self.candidates]

    def clean(self) -> dict[str, object]:
        data = super().clean()
        chosen = [
            (data[f"{AGENDA_PREFIX}{d.pk}"], d.number, d)
            for d in self.candidates
            if data.get(f"{AGENDA_PREFIX}{d.pk}")
        ]
        if not chosen:
            raise forms.ValidationError("Give at least one ADR a position to put it on the agenda.")
        # Equal positions keep the ADRs' own order, so "1, 1, 2" is not an error.
        data["decisions"] = [d for _, _, d in sorted(chosen, key=lambda row: row[:2])]
        return data


class ItemForm(forms.Form):
    """Names the agenda item a person saw, so a late click never lands on the next one.

    Blank means the session's current item (a form posted without JavaScript).
    """

    item = forms.IntegerField(min_value=1, required=False)


class VoteForm(ItemForm):
    choice = forms.ChoiceField(choices=VoteChoice.choices)


class CommentForm(ItemForm):
    body = forms.CharField(
        max_length=COMMENT_MAX_CHARS,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Markdown welcome"}),
    )


class DecideForm(ItemForm):
    outcome = forms.ChoiceField(
        choices=[(c.value, c.label) for c in Outcome if c != Outcome.PENDING],
        widget=forms.RadioSelect,
    )
    rationale = forms.CharField(
        max_length=COMMENT_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 2})
    )
    override = forms.BooleanField(
        required=False, label="Override the block vote (needed to accept a blocked item)"
    )
    override_reason = forms.CharField(
        required=False,
        max_length=COMMENT_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Why override",
    )


class AdvanceForm(forms.Form):
    direction = forms.ChoiceField(choices=[("next", "Next"), ("previous", "Previous")])

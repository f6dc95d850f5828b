"""Forms for living decisions: shape only; services own the rules."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms

from decisions.living.services import ASSUMPTION_FIELDS
from decisions.models import Assumption, CheckSchedule, Decision, Team

MAX_TOLERANCE_PCT = 500


class AssumptionForm(forms.ModelForm):
    class Meta:
        model = Assumption
        fields = ASSUMPTION_FIELDS
        labels = {
            "duration_s": "Duration (s)",
            "tolerance_pct": "Tolerance (%)",
            "rate": "Rate (/s)",
        }

    def clean_threshold(self) -> float:
        value = self.cleaned_data["threshold"]
        if value < 0:
            raise forms.ValidationError("A threshold cannot be negative.")
        return value

    def clean_rate(self) -> float:
        value = self.cleaned_data["rate"]
        if value <= 0:
            raise forms.ValidationError("The check needs a rate above 0 requests per second.")
        return value

    def clean_duration_s(self) -> float:
        value = self.cleaned_data["duration_s"]
        if value <= 0:
            raise forms.ValidationError("The check needs a duration above 0 seconds.")
        return value

    def clean_tolerance_pct(self) -> float:
        value = self.cleaned_data["tolerance_pct"]
        if not 0 <= value <= MAX_TOLERANCE_PCT:
            raise forms.ValidationError(f"Between 0 and {MAX_TOLERANCE_PCT} %.")
        return value


class ReviewSettingsForm(forms.ModelForm):
    class Meta:
        model = Decision
        fields = ("review_by", "check_schedule")
        widgets = {"review_by": forms.DateInput(attrs={"type": "date"})}
        labels = {"check_schedule": "Checks"}


def _valid_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise forms.ValidationError(
            f"“{name}” is not a time zone name (for example UTC or Europe/Berlin)."
        ) from None
    return name


class TeamChecksForm(forms.ModelForm):
    check_schedule = forms.ChoiceField(choices=CheckSchedule.choices)

    class Meta:
        model = Team
        fields = ("check_schedule", "time_zone")

    def clean_time_zone(self) -> str:
        return _valid_zone(self.cleaned_data["time_zone"].strip())


class WebhookForm(forms.Form):
    url = forms.CharField(label="Webhook URL", max_length=2000)

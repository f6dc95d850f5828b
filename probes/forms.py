"""Forms for endpoints and probe runs: shape only.

The egress guard, the ownership proof and the caps are the services' to check
(``probes.services.preconditions``); the views show their refusals as form errors.
Nothing here reaches the network.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from decisions.models import Team, UseCase
from probes.models import Endpoint, LoadModel
from probes.services.runs import RunRequest

# The engine writes these itself; accepting them would only mislead.
RESERVED_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}


class EndpointForm(forms.ModelForm):
    headers_text = forms.CharField(
        label="Headers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Authorization: Bearer …"}),
        help_text="One “Name: value” per line.",
    )

    class Meta:
        model = Endpoint
        fields = ["name", "service", "url", "method", "body", "expected_status", "timeout_s"]
        widgets = {
            "url": forms.TextInput(attrs={"placeholder": "https://api.example.com/orders"}),
            "body": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.team = team
        if self.instance.pk and not self.is_bound:
            self.initial["headers_text"] = "\n".join(
                f"{k}: {v}" for k, v in (self.instance.headers or {}).items()
            )
        order = ["name", "service", "url", "method", "headers_text", "body"]
        self.order_fields([*order, "expected_status", "timeout_s"])

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        clash = Endpoint.objects.filter(team=self.team, name__iexact=name)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("The team already has an endpoint with this name.")
        return name

    def clean_url(self) -> str:
        return self.cleaned_data["url"].strip()

    def clean_headers_text(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for number, line in enumerate(self.cleaned_data["headers_text"].splitlines(), start=1):
            if not line.strip():
                continue
            name, sep, value = line.partition(":")
            name, value = name.strip(), value.strip()
            if not sep or not name or any(c in name for c in " \t\x00"):
                raise forms.ValidationError(f"Line {number} is not “Name: value”.")
            if name.lower() in RESERVED_HEADERS:
                raise forms.ValidationError(
                    f"Line {number}: the probe sets {name} itself; remove it."
                )
            if any(c in value for c in "\r\n\x00"):
                raise forms.ValidationError(f"Line {number}: the value has control characters.")
            headers[name] = value
        return headers

    def clean_timeout_s(self) -> float:
        timeout = self.cleaned_data["timeout_s"]
        if not 0 < timeout <= 60:
            raise forms.ValidationError("Between 0 and 60 seconds.")
        return timeout

    def save(self, commit: bool = True) -> Endpoint:
        endpoint = super().save(commit=False)
        endpoint.headers = self.cleaned_data["headers_text"]
        endpoint.team = self.team
        if commit:
            endpoint.save()
        return endpoint


class RunForm(forms.Form):
    """How hard and how long to probe; the caps are checked when the probe starts."""

    model = forms.ChoiceField(
        choices=LoadModel.choices, initial=LoadModel.OPEN, widget=forms.RadioSelect
    )
    rate = forms.FloatField(
        label="Rate (requests/s)",
        required=False,
        min_value=0.1,
        initial=20,
        help_text="Open model: requests are sent on this schedule whatever the answers do.",
    )
    concurrency = forms.IntegerField(
        label="Connections",
        min_value=1,
        initial=8,
        help_text="Open model: the connection pool. Closed model: how many loops run at once.",
    )
    duration_s = forms.FloatField(label="Duration (s)", min_value=0.5, initial=10)
    warmup_s = forms.FloatField(
        label="Warm-up (s)",
        min_value=0,
        max_value=30,
        initial=1,
        help_text="Sent but not measured: connections and caches settle first.",
    )
    shards = forms.IntegerField(
        min_value=1,
        initial=1,
        help_text="Split the load across this many workers (the rate is divided between them).",
    )
    use_case = forms.ModelChoiceField(
        queryset=UseCase.objects.none(),
        required=False,
        empty_label="(none)",
        help_text="Optional: the results page gives a verdict against its latency budget.",
    )

    def __init__(self, *args: Any, endpoint: Endpoint, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.endpoint = endpoint
        self.fields["use_case"].queryset = UseCase.objects.filter(
            team_id=endpoint.team_id, archived_at__isnull=True
        )
        self.fields["rate"].help_text += f" At most {settings.PROBE_MAX_RATE:g}/s."
        self.fields["concurrency"].help_text += f" At most {settings.PROBE_MAX_CONCURRENCY}."
        self.fields["duration_s"].help_text = f"At most {settings.PROBE_MAX_DURATION_S:g} s."
        self.fields["shards"].help_text += f" At most {settings.PROBE_MAX_SHARDS}."

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        if data["model"] == LoadModel.OPEN and not data.get("rate"):
            self.add_error("rate", "The open model needs a rate.")
        elif data["shards"] > data["concurrency"]:
            self.add_error("shards", "Each shard needs a connection: use at most one per shard.")
        return data

    def run_request(self) -> RunRequest:
        data = self.cleaned_data
        return RunRequest(
            model=data["model"],
            rate=data.get("rate"),
            concurrency=data["concurrency"],
            duration_s=data["duration_s"],
            warmup_s=data["warmup_s"],
            shards=data["shards"],
            use_case=data.get("use_case"),
        )

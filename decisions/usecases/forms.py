from __future__ import annotations

from django import forms

from decisions.models import UseCase

SECTIONS = (
    ("About", ("name", "description")),
    ("Latency", ("caller_waits", "latency_p95_ms", "latency_p99_ms")),
    ("Consistency", ("consistency", "staleness_s")),
    ("Failure tolerance", ("availability", "when_dependency_down", "message_loss_ok")),
    (
        "Shape",
        (
            "caller",
            "peak_rps",
            "avg_rps",
            "consumers",
            "distributed_transaction",
            "ordering",
            "delivery",
            "streaming",
        ),
    ),
)


class UseCaseForm(forms.ModelForm):
    class Meta:
        model = UseCase
        fields = ("name", "description", *UseCase.REQUIREMENT_FIELDS)
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "caller": forms.RadioSelect,
            "consistency": forms.RadioSelect,
            "when_dependency_down": forms.RadioSelect,
            "ordering": forms.RadioSelect,
            "delivery": forms.RadioSelect,
            "streaming": forms.RadioSelect,
        }
        labels = {
            "caller_waits": "The caller waits for the result",
            "latency_p95_ms": "Latency budget at p95 (ms)",
            "latency_p99_ms": "Latency budget at p99 (ms)",
            "staleness_s": "Acceptable staleness (s)",
            "availability": "Availability target (%)",
            "when_dependency_down": "When a dependency is down",
            "message_loss_ok": "Losing a message is acceptable",
            "peak_rps": "Peak rate (requests/s)",
            "avg_rps": "Average rate (requests/s)",
            "consumers": "Consumers that care about the outcome",
            "distributed_transaction": "Spans several services' data (distributed transaction)",
            "caller": "Who calls",
        }

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.FloatField | forms.IntegerField):
                field.widget.attrs.setdefault("min", "0")
                field.widget.attrs.setdefault("step", "any")

    def clean_availability(self) -> float:
        value = self.cleaned_data["availability"]
        if not 0 < value < 100:
            raise forms.ValidationError("Give a percentage above 0 and below 100, such as 99.9.")
        return value

    def clean(self) -> dict[str, object]:
        data = super().clean()
        for name in ("latency_p95_ms", "latency_p99_ms", "staleness_s", "peak_rps", "avg_rps"):
            value = data.get(name)
            if value is not None and value < 0:
                self.add_error(name, "Must be zero or more.")
        p95, p99 = data.get("latency_p95_ms"), data.get("latency_p99_ms")
        if p95 is not None and p99 is not None and p99 < p95:
            self.add_error(
                "latency_p99_ms", f"The p99 budget must be at least the p95 budget ({p95:g} ms)."
            )
        peak, avg = data.get("peak_rps"), data.get("avg_rps")
        if peak is not None and avg is not None and peak < avg:
            self.add_error("peak_rps", f"The peak rate cannot be below the average ({avg:g}/s).")
        return data

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in SECTIONS]


class HopForm(forms.Form):
    service = forms.CharField(max_length=80, help_text="Service name, as your endpoints call it.")
    p50_ms = forms.FloatField(min_value=0.001, label="p50 (ms)")
    p99_ms = forms.FloatField(min_value=0.001, label="p99 (ms)")
    critical = forms.BooleanField(
        required=False,
        initial=True,
        label="Before the answer",
        help_text="The caller waits for this hop (part of the synchronous path).",
    )

    def clean(self) -> dict[str, object]:
        data = super().clean()
        p50, p99 = data.get("p50_ms"), data.get("p99_ms")
        if p50 is not None and p99 is not None and p99 < p50:
            self.add_error("p99_ms", "p99 must be at least p50.")
        return data


HopFormSet = forms.formset_factory(HopForm, extra=0, max_num=20, validate_max=True, absolute_max=20)
HOP_PREFIX = "hops"
HOP_FIELDS = ("service", "p50_ms", "p99_ms", "critical")


def hop_rows_from_post(data: dict) -> list[dict[str, object]]:
    """The hop rows as typed, valid or not, so a structural edit loses nothing."""
    try:
        total = min(int(data.get(f"{HOP_PREFIX}-TOTAL_FORMS", 0)), 20)
    except ValueError:
        total = 0
    rows = []
    for i in range(total):
        row: dict[str, object] = {
            name: data.get(f"{HOP_PREFIX}-{i}-{name}", "") for name in HOP_FIELDS[:3]
        }
        row["critical"] = bool(data.get(f"{HOP_PREFIX}-{i}-critical"))
        rows.append(row)
    return rows


def apply_chain_op(rows: list[dict[str, object]], op: str, index: int) -> list[dict[str, object]]:
    """Add, remove or move one hop; out-of-range indexes change nothing."""
    rows = list(rows)
    if op == "add" and len(rows) < 20:
        rows.append({"service": "", "p50_ms": "", "p99_ms": "", "critical": True})
    elif op == "remove" and 0 <= index < len(rows):
        rows.pop(index)
    elif op == "up" and 0 < index < len(rows):
        rows[index - 1], rows[index] = rows[index], rows[index - 1]
    elif op == "down" and 0 <= index < len(rows) - 1:
        rows[index + 1], rows[index] = rows[index], rows[index + 1]
    return rows

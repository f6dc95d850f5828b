from __future__ import annotations

import math

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


# The range each number may take, with its unit: wide enough for any real system, narrow
# enough that the engine's arithmetic stays finite (1e308 ms overflowed it). The error
# names the range, so a person knows what to type instead.
NUMBER_LIMITS: dict[str, tuple[float, float, str]] = {
    "latency_p95_ms": (0, 3_600_000, "ms"),
    "latency_p99_ms": (0, 3_600_000, "ms"),
    "staleness_s": (0, 31_536_000, "s"),
    "peak_rps": (0, 100_000_000, "requests/s"),
    "avg_rps": (0, 100_000_000, "requests/s"),
    "consumers": (0, 10_000, "consumers"),
    "p50_ms": (0.001, 3_600_000, "ms"),
    "p99_ms": (0.001, 3_600_000, "ms"),
}
DESCRIPTION_MAX_CHARS = 10_000


def number_range_text(name: str) -> str:
    low, high, unit = NUMBER_LIMITS[name]
    return f"from {_number(low)} to {_number(high)} {unit}"


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def check_number_limits(form: forms.BaseForm) -> None:
    """A field error naming the range for each number outside it (or not finite)."""
    for name, (low, high, _unit) in NUMBER_LIMITS.items():
        value = form.cleaned_data.get(name)
        if name not in form.fields or value is None:
            continue
        if (isinstance(value, float) and not math.isfinite(value)) or not low <= value <= high:
            form.add_error(name, f"Give a number {number_range_text(name)}.")


def _apply_limits(form: forms.BaseForm) -> None:
    """The range on the input (for the browser) and in the message for text that is not a
    finite number (a 400-digit integer reads as infinity)."""
    for name, (low, high, _unit) in NUMBER_LIMITS.items():
        if name in form.fields:
            field = form.fields[name]
            field.widget.attrs.update(min=f"{low:g}", max=f"{high:g}")
            field.error_messages["invalid"] = f"Give a number {number_range_text(name)}."


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
                field.widget.attrs.setdefault("step", "any")
        _apply_limits(self)
        self.fields["description"] = forms.CharField(
            required=False,
            max_length=DESCRIPTION_MAX_CHARS,
            widget=self.fields["description"].widget,
            help_text=self.fields["description"].help_text,
            error_messages={
                "max_length": f"Keep the description under {DESCRIPTION_MAX_CHARS:,} "
                "characters (it has %(show_value)d)."
            },
        )

    def clean_availability(self) -> float:
        value = self.cleaned_data["availability"]
        if not 0 < value < 100:
            raise forms.ValidationError("Give a percentage above 0 and below 100, such as 99.9.")
        return value

    def clean(self) -> dict[str, object]:
        data = super().clean()
        check_number_limits(self)
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
    p50_ms = forms.FloatField(label="p50 (ms)")
    p99_ms = forms.FloatField(label="p99 (ms)")
    critical = forms.BooleanField(
        required=False,
        initial=True,
        label="Before the answer",
        help_text="The caller waits for this hop (part of the synchronous path).",
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        _apply_limits(self)

    def has_changed(self) -> bool:
        """A row with no service and no numbers is blank (a hop just added): the formset
        skips it instead of reporting three missing fields."""
        return any(str(self[name].value() or "").strip() for name in HOP_FIELDS[:3])

    def clean(self) -> dict[str, object]:
        data = super().clean()
        check_number_limits(self)
        p50, p99 = data.get("p50_ms"), data.get("p99_ms")
        if p50 is not None and p99 is not None and p99 < p50:
            self.add_error("p99_ms", "p99 must be at least p50.")
        return data


class BaseHopFormSet(forms.BaseFormSet):
    def _construct_form(self, i: int, **kwargs: object) -> forms.Form:
        # Every row may be blank, not only the "extra" ones: the chain editor renders a
        # new row as an initial one.
        kwargs["empty_permitted"] = True
        kwargs["use_required_attribute"] = False
        return super()._construct_form(i, **kwargs)


HopFormSet = forms.formset_factory(
    HopForm, formset=BaseHopFormSet, extra=0, max_num=20, validate_max=True, absolute_max=20
)
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

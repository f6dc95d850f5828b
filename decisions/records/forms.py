"""Forms for ADRs: the record's fields, a lifecycle step, an import upload."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxLengthValidator

from decisions.models import Decision, DecisionStatus
from decisions.records.exports.madr import pros_and_cons_markdown
from decisions.records.imports.parse import parse_pros_cons
from decisions.records.services import EDITABLE_FIELDS
from patterns.engine import PATTERN_NAMES

MARKDOWN_HELP = "Markdown. Scripts, styles and remote images are removed when shown."
# Longest text a person may type into one ADR field (the lists of people, one section):
# far more than a record needs, and well under what the Markdown renderer accepts.
TEXT_MAX_CHARS = 20_000
PEOPLE_MAX_CHARS = 2_000
PEOPLE_FIELDS = ("decision_makers", "consulted", "informed")
OPTIONS_HELP = (
    "One block per option: a line '### Option name', an optional summary, then lines "
    "'* Good, because …', '* Neutral, because …' and '* Bad, because …'."
)


def options_to_text(options: list[dict[str, Any]]) -> str:
    blocks = []
    for option in options:
        body = pros_and_cons_markdown(option)
        blocks.append(f"### {option.get('name', '')}" + (f"\n\n{body}" if body else ""))
    return "\n\n".join(blocks)


def options_from_text(text: str, previous: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parse the options text; options keep the engine pattern id they had, by name."""
    patterns = {o.get("name"): o.get("pattern", "") for o in previous}
    parsed = parse_pros_cons(text.replace("\r\n", "\n"), [])
    return [
        {"name": name, "pattern": patterns.get(name, ""), **data} for name, data in parsed.items()
    ]


def limit_length(field: forms.CharField, limit: int) -> None:
    """Refuse text longer than ``limit``; the browser's counter and the error both name it."""
    field.max_length = limit
    field.validators.append(MaxLengthValidator(limit))
    field.widget.attrs["maxlength"] = str(limit)


class DecisionForm(forms.ModelForm):
    options_text = forms.CharField(
        label="Considered options, with pros and cons",
        required=False,
        max_length=TEXT_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=OPTIONS_HELP,
    )
    chosen_pattern = forms.ChoiceField(
        label="Chosen pattern",
        required=False,
        choices=[("", "— none —"), *PATTERN_NAMES.items()],
        help_text="Which catalog pattern the outcome uses; it picks the diagram.",
    )

    class Meta:
        model = Decision
        # The considered options are edited as text in ``options_text`` and parsed back.
        fields = tuple(name for name in EDITABLE_FIELDS if name != "considered_options")
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}),
            "decision_makers": forms.Textarea(attrs={"rows": 2}),
            "consulted": forms.Textarea(attrs={"rows": 2}),
            "informed": forms.Textarea(attrs={"rows": 2}),
            "context": forms.Textarea(attrs={"rows": 8}),
            "drivers": forms.Textarea(attrs={"rows": 6}),
            "justification": forms.Textarea(attrs={"rows": 4}),
            "consequences": forms.Textarea(attrs={"rows": 6}),
            "confirmation": forms.Textarea(attrs={"rows": 3}),
            "more_information": forms.Textarea(attrs={"rows": 4}),
        }
        labels = {"context": "Context and problem statement", "drivers": "Decision drivers"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["options_text"].initial = options_to_text(self.instance.considered_options)
        for name, field in self.fields.items():
            if isinstance(field, forms.CharField) and field.max_length is None:
                limit_length(field, PEOPLE_MAX_CHARS if name in PEOPLE_FIELDS else TEXT_MAX_CHARS)
        for name in ("context", "drivers", "justification", "consequences", "confirmation"):
            self.fields[name].help_text = MARKDOWN_HELP

    def changes(self) -> dict[str, Any]:
        """The cleaned values as the service's ``data`` (considered_options parsed)."""
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        data["considered_options"] = options_from_text(
            self.cleaned_data["options_text"], self.instance.considered_options
        )
        return data


class NewDecisionForm(forms.Form):
    title = forms.CharField(max_length=200)


class TransitionForm(forms.Form):
    to = forms.ChoiceField(
        choices=[
            (s, s)
            for s in (DecisionStatus.ACCEPTED, DecisionStatus.REJECTED, DecisionStatus.DEPRECATED)
        ]
    )
    note = forms.CharField(
        required=False, max_length=TEXT_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 2})
    )
    decision_makers = forms.CharField(
        required=False,
        max_length=PEOPLE_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line.",
    )
    consulted = forms.CharField(
        required=False,
        max_length=PEOPLE_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line.",
    )

    def people(self, name: str) -> list[str] | None:
        value = self.cleaned_data.get(name, "")
        return [line.strip() for line in value.splitlines() if line.strip()] or None


class ImportOptionsForm(forms.Form):
    """The choices an import offers; asked with the upload and again in the preview."""

    missing_status = forms.ChoiceField(
        label="Status for records that have none",
        choices=DecisionStatus.choices,
        initial=DecisionStatus.ACCEPTED,
        required=False,
        help_text="A record kept in a repository's log is normally in force. Only a "
        "facilitator's import stores records as accepted or later; a member's stores "
        "proposals.",
    )
    renumber = forms.BooleanField(
        label="Renumber the incoming records after the team's existing ones",
        required=False,
        help_text="Supersede and typed links follow the new numbers.",
    )

    def clean_missing_status(self) -> str:
        return self.cleaned_data.get("missing_status") or DecisionStatus.ACCEPTED


class ImportConfirmForm(ImportOptionsForm):
    token = forms.RegexField(regex=r"^[0-9a-f]{32}$", widget=forms.HiddenInput)
    action = forms.ChoiceField(choices=[("preview", "Preview again"), ("import", "Import")])


class ImportForm(ImportOptionsForm):
    MAX_BYTES = 20_000_000
    archive = forms.FileField(
        label="Zip of ADR Markdown files",
        help_text="adr-tools / Nygard, MADR 2, 3 or 4, or log4brains, with the images the "
        "records show; at most 20 MB.",
    )

    def clean_archive(self) -> Any:
        upload = self.cleaned_data["archive"]
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError("The zip is larger than 20 MB.")
        return upload

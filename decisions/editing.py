"""Optimistic locking for records people edit in a form (ADRs, use cases).

The edit page carries an ``edit_base`` token: the record's ``edit_version`` and the field
values the person was shown, signed so it cannot be forged and compressed so it stays
small. The service compares the version under a row lock and refuses a save made on an
older version (``EditConflict``); the view then shows which fields the other person
changed (base against now) and keeps what this person typed in the form. A new token
for the current version goes with that page, so saving again is a deliberate choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django import forms
from django.core import signing

_SALT = "archway.edit-base"


class EditConflict(Exception):
    """Someone else saved the record since this person opened it."""

    def __init__(self, current_version: int) -> None:
        super().__init__("Someone else saved this while you were editing.")
        self.current_version = current_version


@dataclass(frozen=True)
class FieldChange:
    label: str
    before: str
    now: str


def edit_base(version: int, values: Mapping[str, str]) -> str:
    return signing.dumps({"v": version, "f": dict(values)}, salt=_SALT, compress=True)


def posted_base(data: Mapping[str, str]) -> tuple[int | None, dict[str, str]]:
    """The version and values the posted form started from.

    No token (a client that does not use the edit page): no check, ``(None, {})``. A
    token that is not ours matches no version: ``(-1, {})``, so the save is refused."""
    if "edit_base" not in data:
        return None, {}
    try:
        base = signing.loads(data["edit_base"], salt=_SALT)
        return int(base["v"]), {str(k): str(v) for k, v in base["f"].items()}
    except (signing.BadSignature, KeyError, TypeError, ValueError, AttributeError):
        return -1, {}


def form_values(form: forms.BaseForm) -> dict[str, str]:
    """An unbound form's fields as the page shows them, for ``edit_base``."""
    return {name: str(form[name].value() or "") for name in form.fields}


def form_labels(form: forms.BaseForm) -> dict[str, str]:
    return {name: str(field.label or name) for name, field in form.fields.items()}


def changed_since(
    base: Mapping[str, str], now: Mapping[str, str], labels: Mapping[str, str]
) -> list[FieldChange]:
    """The fields whose value differs between what was shown and what is saved now."""
    return [
        FieldChange(labels.get(name, name), base.get(name, ""), value)
        for name, value in now.items()
        if base.get(name, "") != value
    ]

"""The confirmation page every delete and archive shows first (GET), before its POST."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from decisions.models import Membership


@dataclass(frozen=True)
class Confirmation:
    title: str
    button: str
    cancel_url: str
    lines: list[str] = field(default_factory=list)
    archives: bool = False  # archiving keeps everything: not styled as a danger
    problem: str = ""  # set when the action is refused: the page explains, no button


def confirm_page(
    request: HttpRequest, membership: Membership, confirm: Confirmation, status: int = 200
) -> HttpResponse:
    context = {"team": membership.team, "membership": membership, "confirm": confirm}
    return render(request, "_confirm.html", context, status=status)

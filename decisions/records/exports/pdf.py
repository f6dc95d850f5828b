"""ADRs as PDF: one record, or the whole log with a table of contents.

Rendering goes through ``decisions.pdf.render_pdf`` (a forked child that fetches nothing
but our own static files). Diagrams are drawn by dot concurrently for a log and cached
by content (``patterns.diagrams``), and go into the page without graphviz's comments and
tooltips (``print_svg``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from django.template.loader import render_to_string
from django.utils import timezone
from markdown_it.common.normalize_url import normalizeLink

from decisions.markdown import render_markdown
from decisions.models import Decision
from decisions.pdf import FILES_ORIGIN, ONE_TIMEOUT_S, render_pdf
from decisions.records.exports.madr import assumption_rows
from decisions.records.imports.parse import image_targets
from decisions.records.selectors import (
    decision_diagram_svg,
    decision_diagram_svgs,
    decision_evidence,
    decision_link_warnings,
    decision_links,
)
from patterns.diagrams import print_svg

MARKDOWN_FIELDS = (
    "context",
    "drivers",
    "justification",
    "consequences",
    "confirmation",
    "more_information",
)
LOG_TIMEOUT_BASE_S = 30.0
LOG_TIMEOUT_PER_RECORD_S = 3.0


_DRAW = object()


def image_urls(decision: Decision, url_for: Callable[[Any], str]) -> dict[str, str]:
    """{image src as the record's Markdown writes it: URL of the stored file}."""
    stored = {attachment.name: attachment for attachment in decision.attachments.all()}
    if not stored:
        return {}
    texts = [getattr(decision, name) for name in MARKDOWN_FIELDS]
    urls: dict[str, str] = {}
    for target in image_targets("\n".join(texts)):
        attachment = stored.get(posixpath.normpath(target))
        if attachment is not None:
            for written in (target, normalizeLink(target)):
                urls[written] = url_for(attachment)
    return urls


def pdf_file_url(attachment: Any) -> str:
    return f"{FILES_ORIGIN}/{quote(attachment.name)}"


def record_context(
    decision: Decision,
    *,
    diagram: bool = True,
    svg: str | None | object = _DRAW,
    url_for: Callable[[Any], str] | None = None,
) -> dict[str, Any]:
    """Everything the print template needs for one record, Markdown already rendered.

    ``svg``: the diagram when the caller already drew it (``log_html`` draws them all at
    once); by default it is drawn here, unless ``diagram`` is False. ``url_for``: how an
    image stored with the record is addressed (the page's file URL by default)."""
    if not diagram:
        svg = None
    elif svg is _DRAW:
        svg = decision_diagram_svg(decision=decision)
    images = image_urls(decision, url_for or (lambda attachment: attachment.get_absolute_url()))
    return {
        "decision": decision,
        "links": decision_links(decision=decision),
        "link_warnings": decision_link_warnings(decision=decision),
        "html": {
            name: render_markdown(getattr(decision, name), images=images)
            for name in MARKDOWN_FIELDS
        },
        "options": [
            {**option, "summary_html": render_markdown(option.get("summary", ""))}
            for option in decision.considered_options
        ],
        "people": {
            name: decision.people(name) for name in ("decision_makers", "consulted", "informed")
        },
        "diagram_svg": svg,
        "evidence": decision_evidence(decision=decision),
        "assumptions": assumption_rows(decision),
        "supersedes": sorted(decision.supersedes.all(), key=lambda d: d.number),
    }


def for_print(record: dict[str, Any]) -> dict[str, Any]:
    if record["diagram_svg"]:
        record["diagram_svg"] = print_svg(record["diagram_svg"])
    return record


def adr_html(decision: Decision, *, diagram: bool = True) -> str:
    record = record_context(decision, diagram=diagram, url_for=pdf_file_url)
    return render_to_string(
        "decisions/records/adr_print.html",
        {
            "team": decision.team,
            "records": [for_print(record)],
            "toc": False,
            "title": f"{decision.label}: {decision.title}",
            "generated": timezone.now(),
        },
    )


def record_files(decision: Decision) -> dict[str, tuple[bytes, str]]:
    """The files stored with one record, for the PDF fetcher: nothing else is reachable."""
    files = {}
    for attachment in decision.attachments.all():
        with attachment.file.open("rb") as handle:
            files[attachment.name] = (handle.read(), attachment.content_type)
    return files


def adr_pdf(decision: Decision, *, timeout: float = ONE_TIMEOUT_S) -> bytes:
    return render_pdf(adr_html(decision), timeout=timeout, files=record_files(decision))


def log_html(
    team: Any,
    decisions: Iterable[Decision],
    *,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """The whole log as one HTML document; ``progress(done, total)`` after each record."""
    decisions = list(decisions)
    svgs = decision_diagram_svgs(decisions=decisions)
    records = []
    for i, (decision, svg) in enumerate(zip(decisions, svgs, strict=True), 1):
        records.append(for_print(record_context(decision, svg=svg)))
        if progress is not None:
            progress(i, len(decisions))
    return render_to_string(
        "decisions/records/adr_print.html",
        {
            "team": team,
            "records": records,
            "toc": True,
            "title": f"Decision log: {team.name}",
            "generated": timezone.now(),
        },
    )


def log_timeout(count: int) -> float:
    return LOG_TIMEOUT_BASE_S + LOG_TIMEOUT_PER_RECORD_S * count

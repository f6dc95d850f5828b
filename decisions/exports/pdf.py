"""ADRs as PDF through WeasyPrint: one record, or the whole log with a table of contents.

ADR text is user Markdown, so the renderer is treated as exposed to hostile HTML even
after sanitising. Two guards:

* ``SafeFetcher`` serves ``data:`` URLs and the app's own static files (read from disk
  through the staticfiles finders, under a made-up origin that never resolves) and
  refuses everything else: ``file:``, any http(s) host including 127.0.0.1, every other
  scheme. Nothing is fetched over a network, so there are no redirects to follow.
* ``render_pdf`` runs WeasyPrint in a forked child and kills it when the time limit
  passes, so a pathological document cannot hold a web or Celery worker.

Speed: the child freezes the objects it inherits from the parent (``gc.freeze``), so no
collection walks (and so copies) the whole Django process, and then turns the cyclic
garbage collector off: WeasyPrint's layout tree is large and long-lived, so repeated full
collections cost a fifth of a 250-page render while freeing almost nothing (peak memory
of that render: 406 MB with the collector off, 392 MB with it on). The child exits after
its one render, its time limit still applies, and reference counting frees everything
that is not in a cycle. Diagrams are drawn by dot concurrently for a log and cached by
content (``patterns.diagrams``), and go into the page without graphviz's comments and
tooltips (``print_svg``).
"""

from __future__ import annotations

import gc
import os
import select
import signal
import time
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from decisions.markdown import render_markdown
from decisions.models import Decision
from decisions.selectors_adr import (
    decision_diagram_svg,
    decision_diagram_svgs,
    decision_evidence,
)
from patterns.diagrams import print_svg

# Static files are addressed under this origin; ".invalid" can never resolve (RFC 2606),
# and the fetcher answers it from disk without any network access.
STATIC_ORIGIN = "https://archway-static.invalid"
BASE_URL = f"{STATIC_ORIGIN}/"
ONE_TIMEOUT_S = float(getattr(settings, "ADR_PDF_TIMEOUT_S", 20))
LOG_TIMEOUT_BASE_S = 30.0
LOG_TIMEOUT_PER_RECORD_S = 3.0
STATIC_TYPES = {
    ".css": "text/css",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".svg": "image/svg+xml",
}


class PdfError(Exception):
    """The PDF could not be made (time limit, renderer error); the message says which."""


class SafeFetcher(URLFetcher):
    """WeasyPrint's fetcher, narrowed to data: URLs and our own static files."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("data",), allow_redirects=False, timeout=1)
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        if url[:5].lower() == "data:":
            return super().fetch(url, headers)
        static = self._static_path(url)
        if static is not None:
            with open(static, "rb") as handle:
                body = handle.read()
            content_type = STATIC_TYPES.get(PurePosixPath(static).suffix, "")
            return URLFetcherResponse(url, body, {"Content-Type": content_type})
        self.refused.append(url)
        raise ValueError(f"Refused to fetch {url!r}: only data: URLs and Archway's static files.")

    @staticmethod
    def _static_path(url: str) -> str | None:
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != STATIC_ORIGIN or parts.query:
            return None
        prefix = "/" + settings.STATIC_URL.strip("/") + "/"
        if not parts.path.startswith(prefix):
            return None
        relative = unquote(parts.path[len(prefix) :])
        if not relative or ".." in PurePosixPath(relative).parts or relative.startswith("/"):
            return None
        if PurePosixPath(relative).suffix not in STATIC_TYPES:
            return None
        found = finders.find(relative)
        return str(found) if isinstance(found, str) else None


def _write_pdf(html: str) -> bytes:
    return HTML(string=html, base_url=BASE_URL, url_fetcher=SafeFetcher()).write_pdf()


def render_pdf(html: str, *, timeout: float = ONE_TIMEOUT_S) -> bytes:
    """HTML to PDF bytes in a forked child that is killed after ``timeout`` seconds."""
    if not hasattr(os, "fork"):  # pragma: no cover - Archway runs on Linux
        return _write_pdf(html)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: render, send b"OK" + pdf or b"ER" + message, exit at once
        os.close(read_end)
        gc.freeze()  # never scan (and so copy) the parent's objects; see the module doc
        gc.disable()  # the child is short-lived and exits after one render; see the doc
        code = 0
        try:
            payload = b"OK" + _write_pdf(html)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            payload, code = b"ER" + f"{type(exc).__name__}: {exc}".encode()[:2000], 1
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(write_end, view) :]
        finally:
            os._exit(code)
    os.close(write_end)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                os.kill(pid, signal.SIGKILL)
                raise PdfError(f"The PDF took longer than {timeout:g} s to render and was stopped.")
            ready, _, _ = select.select([read_end], [], [], remaining)
            if ready:
                chunk = os.read(read_end, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    data = b"".join(chunks)
    if data[:2] != b"OK":
        raise PdfError(f"The PDF renderer failed: {data[2:].decode(errors='replace') or 'crashed'}")
    return data[2:]


# --- documents ------------------------------------------------------------------


_DRAW = object()


def record_context(
    decision: Decision, *, diagram: bool = True, svg: str | None | object = _DRAW
) -> dict[str, Any]:
    """Everything the print template needs for one record, Markdown already rendered.

    ``svg``: the diagram when the caller already drew it (``log_html`` draws them all at
    once); by default it is drawn here, unless ``diagram`` is False."""
    if not diagram:
        svg = None
    elif svg is _DRAW:
        svg = decision_diagram_svg(decision=decision)
    return {
        "decision": decision,
        "html": {
            name: render_markdown(getattr(decision, name))
            for name in (
                "context",
                "drivers",
                "justification",
                "consequences",
                "confirmation",
                "more_information",
            )
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
        "supersedes": sorted(decision.supersedes.all(), key=lambda d: d.number),
    }


def _for_print(record: dict[str, Any]) -> dict[str, Any]:
    if record["diagram_svg"]:
        record["diagram_svg"] = print_svg(record["diagram_svg"])
    return record


def adr_html(decision: Decision, *, diagram: bool = True) -> str:
    return render_to_string(
        "decisions/adr_print.html",
        {
            "team": decision.team,
            "records": [_for_print(record_context(decision, diagram=diagram))],
            "toc": False,
            "title": f"{decision.label}: {decision.title}",
            "generated": timezone.now(),
        },
    )


def adr_pdf(decision: Decision, *, timeout: float = ONE_TIMEOUT_S) -> bytes:
    return render_pdf(adr_html(decision), timeout=timeout)


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
        records.append(_for_print(record_context(decision, svg=svg)))
        if progress is not None:
            progress(i, len(decisions))
    return render_to_string(
        "decisions/adr_print.html",
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

"""HTML to PDF through WeasyPrint, for every PDF Archway makes (ADRs, the log, minutes).

The HTML holds user Markdown, so the renderer is treated as exposed to hostile HTML even
after sanitising. Two guards:

* ``SafeFetcher`` serves ``data:`` URLs, the app's own static files (read from disk
  through the staticfiles finders, under a made-up origin that never resolves), the
  files the caller hands it (``files``: the images stored with the one record being
  printed, under another made-up origin, served from memory) and refuses everything
  else: ``file:``, any http(s) host including 127.0.0.1, every other
  scheme. Nothing is fetched over a network, so there are no redirects to follow.
* ``render_pdf`` runs WeasyPrint in a forked child and kills it when the time limit
  passes, so a pathological document cannot hold a web or Celery worker. A fork, not
  ``multiprocessing``: Celery's daemonic pool processes may not start children.

The child freezes the objects it inherits from the parent (``gc.freeze``), so no
collection walks (and so copies) the whole Django process, and then turns the cyclic
garbage collector off: WeasyPrint's layout tree is large and long-lived, so repeated full
collections cost time while freeing almost nothing. The child exits after its one render
and reference counting frees everything that is not in a cycle.
"""

from __future__ import annotations

import gc
import logging
import os
import select
import signal
import time
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

log = logging.getLogger(__name__)

# Static files are addressed under this origin; ".invalid" can never resolve (RFC 2606),
# and the fetcher answers it from disk without any network access.
STATIC_ORIGIN = "https://archway-static.invalid"
# A record's stored files, as given to ``SafeFetcher(files=...)``, are addressed here.
FILES_ORIGIN = "https://archway-files.invalid"
BASE_URL = f"{STATIC_ORIGIN}/"
ONE_TIMEOUT_S = float(getattr(settings, "ADR_PDF_TIMEOUT_S", 20))
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
    """WeasyPrint's fetcher, narrowed to data: URLs, our own static files and ``files``.

    ``files``: {name: (bytes, content type)}, served at ``FILES_ORIGIN/<name>``; a name
    not in it is refused like any other URL.
    """

    def __init__(self, files: Mapping[str, tuple[bytes, str]] | None = None) -> None:
        super().__init__(allowed_protocols=("data",), allow_redirects=False, timeout=1)
        self.refused: list[str] = []
        self.files = dict(files or {})

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        if url[:5].lower() == "data:":
            return super().fetch(url, headers)
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" == FILES_ORIGIN and not parts.query:
            found = self.files.get(unquote(parts.path.removeprefix("/")))
            if found is not None:
                return URLFetcherResponse(url, found[0], {"Content-Type": found[1]})
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


def _write_pdf(
    html: str, files: Mapping[str, tuple[bytes, str]] | None = None, target: Path | None = None
) -> bytes | None:
    fetcher = SafeFetcher(files=files)
    return HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).write_pdf(target)


def render_pdf(
    html: str,
    *,
    timeout: float = ONE_TIMEOUT_S,
    files: Mapping[str, tuple[bytes, str]] | None = None,
) -> bytes:
    """HTML to PDF bytes in a forked child that is killed after ``timeout`` seconds.
    ``files``: what the fetcher may serve besides static files (see ``SafeFetcher``)."""
    return _in_child(lambda: _write_pdf(html, files) or b"", timeout)


def render_pdf_file(
    html: str,
    target: Path,
    *,
    timeout: float = ONE_TIMEOUT_S,
    files: Mapping[str, tuple[bytes, str]] | None = None,
) -> None:
    """As ``render_pdf``, but the child writes the PDF into ``target`` itself: its bytes
    never pass through (and never stay in the heap of) the calling process."""

    def write() -> bytes:
        _write_pdf(html, files, target)
        return b""

    _in_child(write, timeout)


def _in_child(work: Callable[[], bytes], timeout: float) -> bytes:
    """``work()`` in a forked child killed after ``timeout`` seconds; what it returned."""
    if not hasattr(os, "fork"):  # pragma: no cover - Archway runs on Linux
        return work()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: work, send b"OK" + result or b"ER" + message, exit at once
        os.close(read_end)
        gc.freeze()  # never scan (and so copy) the parent's objects; see the module doc
        gc.disable()  # the child is short-lived and exits after one render; see the doc
        code = 0
        try:
            payload = b"OK" + work()
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


def pdf_response(
    request: HttpRequest,
    make: Callable[[], bytes],
    *,
    filename: str,
    what: str,
    back_url: str,
    inline: bool = False,
) -> HttpResponse:
    """The PDF ``make()`` renders, or, if it cannot be made, a page saying why (503).

    Every PDF view answers a rendering failure this way; nothing is cached or stored, so
    the next request tries again."""
    try:
        pdf = make()
    except PdfError as exc:
        log.warning("PDF of %s failed: %s", what, exc)
        return render(
            request,
            "decisions/pdf_failed.html",
            {"what": what, "reason": str(exc), "back_url": back_url},
            status=503,
        )
    response = HttpResponse(pdf, content_type="application/pdf")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response

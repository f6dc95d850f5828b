"""Exports read back: PDF text through pypdf, Markdown front matter through YAML, zip names."""

from __future__ import annotations

import io
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError
from pypdf import PdfReader

from decisions import pdf as pdf_module
from decisions.pdf import PdfError, SafeFetcher, render_pdf
from decisions.records.exports.madr import to_madr
from decisions.records.exports.nygard import to_nygard
from decisions.records.exports.pdf import adr_pdf, log_html
from decisions.records.exports.zip import log_zip
from decisions.records.selectors import decision_diagram_mermaid, decision_list
from decisions.records.services import decision_create
from tests.decisions.adr_support import accepted_with_predecessor, drafted

SECTIONS = (
    "Context and Problem Statement",
    "Decision Drivers",
    "Considered Options",
    "Decision Outcome",
    "Consequences",
    "Confirmation",
    "Diagram",
    "Pros and Cons of the Options",
    "More Information",
)


# A 1x1 PNG.
PIXEL = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQ"
    "GAhKmMIQAAAABJRU5ErkJggg=="
)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def pair(acme, owner):
    return accepted_with_predecessor(acme, owner)


def test_the_pdf_has_title_status_sections_header_and_diagram_labels(pair):
    old, new = pair
    reader = PdfReader(io.BytesIO(adr_pdf(new)))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert new.title in text
    assert "Accepted" in text
    for heading in SECTIONS:
        assert heading in text, heading
    # The diagram is vector SVG: its labels are text in the PDF.
    for label in ("saga orchestrator", "1. inventory", "undo payments", "fails: compensate"):
        assert label in text, label
    # Running header on every page, page numbers in the footer.
    first, last = reader.pages[0].extract_text(), reader.pages[-1].extract_text()
    assert "Acme Shop · ADR-0002 · Accepted" in first
    assert f"Page {len(reader.pages)} of {len(reader.pages)}" in last
    assert f"Supersedes {old.label}" in text


def test_the_markdown_is_madr4_with_yaml_front_matter(pair):
    old, new = pair
    text = to_madr(old)
    _, front, body = text.split("---\n", 2)
    meta = yaml.safe_load(front)
    assert meta["status"] == "superseded by ADR-0002"
    assert meta["date"] == old.date
    assert meta["decision-makers"] == ["olivia", "max"]
    assert meta["consulted"] == ["vera"] and meta["informed"] == []
    assert body.lstrip().startswith(f"# {old.title}\n")
    assert f'Chosen option: "{old.chosen_option}", because' in body
    for heading in ("## Context and Problem Statement", "### Consequences", "### Confirmation"):
        assert f"\n{heading}\n" in body
    assert to_madr(new).count("Supersedes [ADR-0001](0001-") == 1


def test_the_nygard_markdown_links_both_ways(pair):
    old, new = pair
    assert f"Superseded by [2. {new.title}]({new.filename})" in to_nygard(old)
    assert f"Supersedes [1. {old.title}]({old.filename})" in to_nygard(new)
    assert to_nygard(new).startswith(f"# 2. {new.title}\n\nDate: ")


def test_the_log_zip_holds_records_index_and_diagrams(acme, pair):
    data = log_zip(acme, decision_list(team=acme).prefetch_related("supersedes"))
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    old, new = pair
    assert sorted(names) == sorted(
        [
            f"docs/decisions/{old.filename}",
            f"docs/decisions/{new.filename}",
            f"docs/decisions/diagrams/{old.filename[:-3]}.svg",
            f"docs/decisions/diagrams/{new.filename[:-3]}.svg",
            "docs/decisions/index.md",
        ]
    )
    index = zipfile.ZipFile(io.BytesIO(data)).read("docs/decisions/index.md").decode()
    assert f"[{new.title}]({new.filename})" in index
    assert data == log_zip(acme, decision_list(team=acme).prefetch_related("supersedes"))


def test_each_exported_record_carries_its_diagram_as_svg_and_mermaid(acme, pair, member_client):
    old, _ = pair
    archive = zipfile.ZipFile(io.BytesIO(log_zip(acme, decision_list(team=acme))))
    text = archive.read(f"docs/decisions/{old.filename}").decode()
    diagram = text.split("\n## Diagram\n\n", 1)[1]
    svg_path = f"diagrams/{old.filename[:-3]}.svg"
    assert diagram.startswith(f"![Pattern diagram]({svg_path})\n\n```mermaid\nflowchart LR\n")
    mermaid = diagram.split("```mermaid\n", 1)[1].split("\n```", 1)[0] + "\n"
    assert mermaid == decision_diagram_mermaid(decision=old)
    # Mermaid and the SVG draw the same graph: every service of the chain is in both.
    svg = archive.read(f"docs/decisions/{svg_path}").decode()
    for service in ("inventory", "payments", "shipping"):
        assert service in mermaid and service in svg
    single = member_client.get(f"/t/acme/decisions/{old.number}/export.md").content.decode()
    assert f"```mermaid\n{mermaid}```" in single and "![Pattern diagram]" not in single


def test_the_log_pdf_has_a_table_of_contents_with_page_numbers(acme, pair):
    old, new = pair
    text = pdf_text(render_pdf(log_html(acme, [old, new])))
    contents = text.split("Contents", 1)[1]
    assert "ADR-0001" in contents and "ADR-0002" in contents
    assert "(superseded)" in contents and "(accepted)" in contents


# --- the renderer fetches nothing ------------------------------------------------------


class Canary(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        Canary.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def canary():
    Canary.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Canary)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_hostile_adr_renders_without_fetching_anything(acme, member, canary):
    html = (
        f'<img src="file:///etc/passwd"> <img src="{canary}/img.png">\n\n'
        f"![x]({canary}/md.png) [link]({canary}/link)\n\n"
        f'<link rel="stylesheet" href="{canary}/style.css">'
        f'<object data="{canary}/object"></object><iframe src="{canary}/frame"></iframe>'
        f"<style>@import url({canary}/import.css); body {{ background: url({canary}/bg.png) }}"
        "</style>\n\nroot:x:0:0"
    )
    decision = decision_create(
        team=acme, data={"title": "Hostile", "context": html, "more_information": html}, by=member
    )
    text = pdf_text(adr_pdf(decision))
    assert "Hostile" in text
    assert Canary.hits == []
    assert text.count("root:x:0:0") == 2  # only our own text, never /etc/passwd's


def test_the_fetcher_refuses_files_and_the_network_even_when_html_reaches_it(canary):
    raw = (
        '<html><head><link rel="stylesheet" href="/static/css/adr-print.css"></head><body>'
        f'<img src="file:///etc/passwd"><img src="{canary}/raw.png">'
        f'<img src="/static/../../../../etc/passwd">'
        f"<div style=\"background: url('{canary}/bg.png')\">x</div>"
        f'<img src="data:image/png;base64,{PIXEL}">'
        "</body></html>"
    )
    assert render_pdf(raw).startswith(b"%PDF")
    assert Canary.hits == []
    fetcher = SafeFetcher()
    assert fetcher.fetch(f"{pdf_module.STATIC_ORIGIN}/static/css/adr-print.css").read()
    for url in (
        "file:///etc/passwd",
        f"{canary}/direct",
        f"{pdf_module.STATIC_ORIGIN}/static/../../etc/passwd",
        f"{pdf_module.STATIC_ORIGIN}/static/%2e%2e/%2e%2e/etc/passwd",
        f"{pdf_module.STATIC_ORIGIN}/etc/passwd",
    ):
        with pytest.raises(ValueError, match="Refused"):
            fetcher.fetch(url)
    assert Canary.hits == []


def test_a_render_past_its_time_limit_is_stopped(monkeypatch):
    monkeypatch.setattr(pdf_module, "_write_pdf", lambda html, files: __import__("time").sleep(5))
    with pytest.raises(PdfError, match="longer than 0.3 s"):
        render_pdf("<p>x</p>", timeout=0.3)


def test_a_renderer_crash_is_reported(monkeypatch):
    def boom(html: str, files: object) -> bytes:
        raise RuntimeError("fonts missing")

    monkeypatch.setattr(pdf_module, "_write_pdf", boom)
    with pytest.raises(PdfError, match="RuntimeError: fonts missing"):
        render_pdf("<p>x</p>")


# --- the command line ------------------------------------------------------------------


def test_export_adr_writes_markdown_and_pdf(acme, member, tmp_path):
    decision = drafted(acme, member)
    md, pdf = tmp_path / "adr.md", tmp_path / "adr.pdf"
    call_command("export_adr", "--team", "acme", "--number", "1", "--format", "md", "-o", str(md))
    call_command("export_adr", "--team", "acme", "--number", "1", "--format", "pdf", "-o", str(pdf))
    assert md.read_text() == to_madr(decision)
    assert decision.title in pdf_text(pdf.read_bytes())


def test_export_log_writes_a_zip(acme, pair, tmp_path):
    target = tmp_path / "log.zip"
    call_command("export_log", "--team", "acme", "-o", str(target))
    assert "docs/decisions/index.md" in zipfile.ZipFile(target).namelist()


@pytest.mark.parametrize(
    ("command", "args", "message"),
    [
        ("export_adr", ["--team", "nope", "--number", "1", "-o", "x.md"], "No team with the slug"),
        ("export_adr", ["--team", "acme", "--number", "42", "-o", "x.md"], "acme has no ADR-0042"),
        ("export_log", ["--team", "nope", "-o", "x.zip"], "No team with the slug 'nope'"),
        ("export_log", ["--team", "acme", "-o", "x.txt"], "must end in .zip or .pdf"),
        ("export_log", ["--team", "acme", "-o", "/no/such/dir/x.zip"], "Cannot write /no/such"),
    ],
)
def test_export_commands_fail_with_status_2_naming_the_problem(acme, command, args, message):
    with pytest.raises(CommandError, match=message) as caught:
        call_command(command, *args)
    assert caught.value.returncode == 2


# --- diagrams in the PDF ---------------------------------------------------------------


def test_the_log_draws_each_record_s_own_diagram_as_the_single_record_does(acme, pair):
    from decisions.records.exports.pdf import adr_html
    from decisions.records.selectors import decision_diagram_svg
    from patterns import diagrams

    old, new = pair
    diagrams.svg_cache.clear()
    html = log_html(acme, [old, new])  # both drawn concurrently
    for decision in (old, new):
        svg = diagrams.print_svg(decision_diagram_svg(decision=decision))
        assert svg.startswith("<svg") and "<title>" not in svg
        assert svg in html
        assert svg in adr_html(decision)


def test_the_render_child_s_garbage_collector_settings_stay_in_the_child():
    import gc

    frozen = gc.get_freeze_count()
    assert gc.isenabled()
    assert render_pdf("<p>x</p>").startswith(b"%PDF")
    assert gc.isenabled() and gc.get_freeze_count() == frozen

"""Real logs in as they are (issue 15): missing statuses, 0000, templates and images in
the folder, lists after "because", typed links, dry runs, renumbering, the preview page,
stored files served safely, and the round trip import -> export -> import."""

from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pypdf import PdfReader

from decisions.models import Decision, DecisionLink, DecisionStatus
from decisions.pdf import FILES_ORIGIN, SafeFetcher
from decisions.records.exports.madr import to_madr
from decisions.records.exports.nygard import to_nygard
from decisions.records.exports.pdf import adr_html, adr_pdf, record_files
from decisions.records.exports.zip import log_zip
from decisions.records.imports.service import (
    ImportProblem,
    files_from_folder,
    files_from_zip,
    import_adrs,
    plan_import,
)
from decisions.records.selectors import decision_list
from tests.factories import make_team

FIXTURES = Path(__file__).parent / "fixtures"
MADR_LOG = FIXTURES / "madr-log"
LOG4BRAINS = FIXTURES / "log4brains-lists"
ADR_TOOLS = FIXTURES / "adr-tools-links"
S = DecisionStatus


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def by_number(team) -> dict[int, Decision]:
    return {d.number: d for d in Decision.objects.filter(team=team)}


def zipped(folder: Path, prefix: str = "") -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, prefix + path.relative_to(folder).as_posix())
    buffer.name = "log.zip"
    buffer.seek(0)
    return buffer


# --- MADR's shape: no status, 0000, template, index, images ---------------------------


def test_a_madr_log_without_statuses_imports_with_the_chosen_status_listed(acme):
    result = import_adrs(team=acme, files=files_from_folder(MADR_LOG), by=None)
    d = by_number(acme)
    assert sorted(d) == [0, 1, 2]
    assert d[0].label == "ADR-0000" and d[0].title == "Write decisions down as Markdown files"
    assert [d[n].status for n in (0, 1, 2)] == ["accepted", "accepted", "accepted"]
    chosen = result.plan.statuses_chosen
    assert len(chosen) == 2 and all("no status in the file: accepted chosen" in c for c in chosen)
    assert sorted(path for path, _ in result.plan.skipped) == [
        "docs/decisions/README.md",
        "docs/decisions/adr-template.md",
        "docs/decisions/index.md",
    ]


def test_the_importer_chooses_the_status_for_records_without_one(acme):
    import_adrs(team=acme, files=files_from_folder(MADR_LOG), by=None, missing_status=S.PROPOSED)
    d = by_number(acme)
    assert [d[n].status for n in (0, 1, 2)] == ["proposed", "proposed", "accepted"]


def test_a_members_import_stores_proposals_and_says_so(acme):
    result = import_adrs(team=acme, files=files_from_folder(ADR_TOOLS), by=None, may_settle=False)
    assert set(Decision.objects.filter(team=acme).values_list("status", flat=True)) == {"proposed"}
    notes = result.plan.statuses_chosen
    assert len(notes) == 5
    assert "stored as proposed, not accepted" in notes[0]
    assert "stored as proposed, not superseded" in notes[2]
    history = by_number(acme)[1].changes.get(action="imported")
    assert "only a facilitator's import settles records" in history.note


def test_images_the_records_show_are_stored_with_them_and_svg_is_sanitised(acme, media):
    import_adrs(team=acme, files=files_from_folder(MADR_LOG), by=None)
    d = by_number(acme)
    png = d[0].attachments.get()
    assert (png.name, png.content_type) == ("record-flow.png", "image/png")
    assert png.file.read() == (MADR_LOG / "docs/decisions/record-flow.png").read_bytes()
    assert Path(png.file.path).is_relative_to(media)
    svg = d[1].attachments.get().file.read().decode()
    assert "<rect" in svg and "web" in svg
    for hostile in ("script", "onload", "evil.example", "javascript", "foreignObject", "@import"):
        assert hostile not in svg
    assert d[2].attachments.count() == 0


def test_an_image_whose_bytes_are_not_its_type_is_left_out_and_listed(acme, tmp_path):
    record = "# 1. Show a picture\n\nDate: 2024-01-01\n\n## Status\n\nAccepted\n\n## Context\n\n"
    (tmp_path / "0001-show-a-picture.md").write_text(record + "![x](fake.png)\n![y](gone.png)\n")
    (tmp_path / "fake.png").write_bytes(b"<html><script>alert(1)</script></html>")
    result = import_adrs(team=acme, files=files_from_folder(tmp_path), by=None)
    assert result.plan.warnings == [
        "0001-show-a-picture.md: image fake.png: its bytes are not a PNG image; left out.",
        "0001-show-a-picture.md: image gone.png is not in the files; left out.",
    ]
    assert not by_number(acme)[1].attachments.exists()


def test_a_typed_link_in_more_information_and_markdown_structure_survive(acme):
    import_adrs(team=acme, files=files_from_folder(MADR_LOG), by=None)
    d = by_number(acme)
    link = DecisionLink.objects.get()
    assert (link.source, link.kind, link.target) == (d[2], "amends", d[1])
    assert d[2].more_information == ""
    assert (
        d[1].justification == "* each file has a stable link\n* a diff shows one decision at a time"
    )
    assert "| web | front-end team | 3 |" in d[1].context
    assert "written like this:\\\nthe number" in d[1].context  # a hard line break kept
    assert "```text\n0001-keep-one-record-per-file.md\n## not a heading" in d[1].context


# --- log4brains: date ids and lists after "because" -------------------------------------


def test_log4brains_lists_after_because_stay_lists_in_the_export(acme):
    import_adrs(team=acme, files=files_from_folder(LOG4BRAINS), by=None)
    d = by_number(acme)
    assert [d[n].title for n in (1, 2, 3)] == [
        "Cache catalogue pages at the edge",
        "Publish price changes as events",
        "Render prices in the browser",
    ]
    assert d[1].justification.startswith("- anonymous readers get cached pages")
    assert d[2].justification.startswith("1. consumers subscribe")
    text = to_madr(d[1])
    assert 'Chosen option: "Edge cache with a 60 s lifetime", because\n\n- anonymous' in text
    assert "\n- a change shows after at most a minute, which the drivers allow\n" in text
    links = {
        (link.source.number, link.kind, link.target.number) for link in DecisionLink.objects.all()
    }
    assert links == {(1, "relates-to", 2), (2, "depends-on", 1)}


# --- adr-tools: typed links both ways, warnings ------------------------------------------


def test_adr_tools_typed_links_are_read_once_and_shown_both_ways(acme, owner_client):
    result = import_adrs(team=acme, files=files_from_folder(ADR_TOOLS), by=None)
    d = by_number(acme)
    links = {
        (link.source.number, link.kind, link.target.number) for link in DecisionLink.objects.all()
    }
    assert links == {(4, "amends", 2), (4, "depends-on", 3)}
    assert d[3].status == S.SUPERSEDED and d[3].superseded_by == d[5]
    assert "ADR-0004 depends on ADR-0003, which is superseded." in result.plan.warnings
    page = owner_client.get("/t/acme/decisions/2/").content.decode()
    assert "Amended by" in page and "ADR-0004 Retry invoice mails with backoff" in page
    page = owner_client.get("/t/acme/decisions/4/").content.decode()
    assert "ADR-0004 depends on ADR-0003, which is superseded." in page
    log = owner_client.get("/t/acme/decisions/").content.decode()
    assert "amends ADR-0002" in log and "amended by ADR-0004" in log
    assert "ADR-0004: accepted, but depends on ADR-0003, which is superseded." in log


def test_typed_links_are_exported_in_each_format(acme):
    import_adrs(team=acme, files=files_from_folder(ADR_TOOLS), by=None)
    d = by_number(acme)
    assert "Amended by [4. Retry invoice mails with backoff](0004-retry-invoice-mails" in (
        to_nygard(d[2])
    )
    madr = to_madr(d[4])
    assert "Amends [ADR-0002](0002-send-invoices-from-a-queue-worker.md)." in madr
    assert "Depends on [ADR-0003](0003-render-invoices-as-html.md)." in madr
    assert "Needed by [ADR-0004](0004-retry-invoice-mails-with-backoff.md)." in to_madr(d[3])


# --- the round trip -----------------------------------------------------------------------


def _markdown_of(data: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {n: archive.read(n) for n in archive.namelist() if not n.endswith("index.md")}


def _records(team) -> list[tuple]:
    return [
        (
            d.number, d.title, d.status, d.date, d.context, d.drivers, d.justification,
            d.chosen_option, d.consequences, d.confirmation, d.more_information,
            d.decision_makers, d.considered_options,
            d.superseded_by.number if d.superseded_by else None,
            sorted((link.kind, link.target.number) for link in d.links_out.all()),
            sorted((a.name, a.file.read()) for a in d.attachments.all()),
        )
        for d in Decision.objects.filter(team=team).order_by("number")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("folder", "style"), [(MADR_LOG, "madr"), (LOG4BRAINS, "madr"), (ADR_TOOLS, "nygard")]
)
def test_import_export_import_is_a_fixed_point(acme, folder, style):
    import_adrs(team=acme, files=files_from_folder(folder), by=None)
    first = log_zip(acme, decision_list(team=acme), style=style)
    again = make_team("again")
    import_adrs(team=again, files=files_from_zip(first), by=None)
    assert _records(again) == _records(acme)
    second = log_zip(again, decision_list(team=again), style=style)
    assert _markdown_of(second) == _markdown_of(first)


def test_the_export_carries_images_beside_the_records(acme):
    import_adrs(team=acme, files=files_from_folder(MADR_LOG), by=None)
    names = _markdown_of(log_zip(acme, decision_list(team=acme)))
    assert (
        names["docs/decisions/record-flow.png"]
        == (MADR_LOG / "docs/decisions/record-flow.png").read_bytes()
    )
    assert b"<script" not in names["docs/decisions/layers.svg"]


# --- dry run and renumbering -----------------------------------------------------------------


def test_dry_run_shows_each_file_and_stores_nothing(acme, capsys):
    call_command("import_adrs", "--team", "acme", "--dry-run", str(ADR_TOOLS))
    out = capsys.readouterr().out
    assert (
        "doc/adr/0004-retry-invoice-mails-with-backoff.md -> ADR-0004 "
        "'Retry invoice mails with backoff' [accepted]; amends ADR-0002, depends on ADR-0003"
    ) in out
    assert "Dry run: 5 records; nothing was stored." in out
    assert not Decision.objects.filter(team=acme).exists()
    call_command("import_adrs", "--team", "acme", "--dry-run", str(MADR_LOG))
    out = capsys.readouterr().out
    assert "docs/decisions/adr-template.md: skipped, a template, index or README" in out
    assert "images: record-flow.png" in out


def test_a_clash_is_refused_naming_the_numbers_and_renumber_rewrites_links(acme, capsys):
    import_adrs(team=acme, files=files_from_folder(LOG4BRAINS), by=None)  # ADR-0001..0003
    with pytest.raises(CommandError, match="already has ADR-0001, ADR-0002, ADR-0003") as caught:
        call_command("import_adrs", "--team", "acme", str(ADR_TOOLS))
    assert caught.value.returncode == 2
    assert Decision.objects.filter(team=acme).count() == 3
    call_command("import_adrs", "--team", "acme", "--renumber", str(ADR_TOOLS))
    out = capsys.readouterr().out
    assert "Renumbered: 0001 -> 0004" in out and "Renumbered: 0005 -> 0008" in out
    d = by_number(acme)
    assert d[6].title == "Render invoices as HTML" and d[6].superseded_by == d[8]
    assert {(link.kind, link.target.number) for link in d[7].links_out.all()} == {
        ("amends", 5),
        ("depends-on", 6),
    }
    assert "Renumbered from 0004" in d[7].changes.get(action="imported").note


# --- the import page: preview, then import ---------------------------------------------------


def test_the_preview_shows_each_file_and_stores_nothing_then_imports_it(owner_client, acme):
    response = owner_client.post(
        "/t/acme/decisions/import/",
        {"archive": zipped(MADR_LOG), "missing_status": "accepted"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "docs/decisions/0000-write-decisions-down-as-markdown.md" in page
    assert "ADR-0000" in page and "no status in the file: accepted chosen" in page
    assert "docs/decisions/index.md" in page and "amends ADR-0001" in page
    assert not Decision.objects.filter(team=acme).exists()
    token = response.context["confirm"]["token"].value()
    response = owner_client.post(
        "/t/acme/decisions/import/",
        {"token": token, "missing_status": "accepted", "action": "import"},
        follow=True,
    )
    assert "Imported 3 records" in response.content.decode()
    assert Decision.objects.filter(team=acme).count() == 3
    again = owner_client.post(
        "/t/acme/decisions/import/",
        {"token": token, "missing_status": "accepted", "action": "import"},
        follow=True,
    )
    assert "That preview has expired" in again.content.decode()
    assert Decision.objects.filter(team=acme).count() == 3


def test_the_preview_offers_renumbering_when_numbers_clash(owner_client, acme):
    import_adrs(team=acme, files=files_from_folder(LOG4BRAINS), by=None)
    response = owner_client.post(
        "/t/acme/decisions/import/", {"archive": zipped(ADR_TOOLS), "missing_status": "accepted"}
    )
    assert response.status_code == 400
    assert "already has ADR-0001, ADR-0002, ADR-0003" in response.content.decode()
    token = response.context["confirm"]["token"].value()
    response = owner_client.post(
        "/t/acme/decisions/import/",
        {"token": token, "missing_status": "accepted", "renumber": "on", "action": "preview"},
    )
    assert response.status_code == 200
    assert "0001 → 0004" in response.content.decode()
    owner_client.post(
        "/t/acme/decisions/import/",
        {"token": token, "missing_status": "accepted", "renumber": "on", "action": "import"},
    )
    assert Decision.objects.filter(team=acme).count() == 8


def test_a_members_import_from_the_page_says_it_stores_proposals(member_client, acme):
    response = member_client.post(
        "/t/acme/decisions/import/", {"archive": zipped(ADR_TOOLS), "missing_status": "accepted"}
    )
    assert "stored as proposed, not accepted" in response.content.decode()
    token = response.context["confirm"]["token"].value()
    member_client.post(
        "/t/acme/decisions/import/",
        {"token": token, "missing_status": "accepted", "action": "import"},
    )
    assert set(Decision.objects.filter(team=acme).values_list("status", flat=True)) == {"proposed"}


def test_a_token_from_another_session_is_refused(owner_client, member_client, acme):
    response = owner_client.post(
        "/t/acme/decisions/import/", {"archive": zipped(ADR_TOOLS), "missing_status": "accepted"}
    )
    token = response.context["confirm"]["token"].value()
    member_client.post(
        "/t/acme/decisions/import/",
        {"token": token, "missing_status": "accepted", "action": "import"},
    )
    assert not Decision.objects.filter(team=acme).exists()


# --- stored files: served safely, team-scoped, in the PDF --------------------------------------


def test_stored_files_are_served_sandboxed_and_only_to_the_team(
    owner_client, outsider_client, acme
):
    import_adrs(team=acme, files=files_from_folder(MADR_LOG), by=None)
    response = owner_client.get("/t/acme/decisions/1/files/layers.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox; default-src 'none'")
    assert b"script" not in b"".join(response.streaming_content)
    assert outsider_client.get("/t/acme/decisions/1/files/layers.svg").status_code == 404
    assert owner_client.get("/t/acme/decisions/0/files/layers.svg").status_code == 404
    assert owner_client.get("/t/acme/decisions/1/files/../0/record-flow.png").status_code == 404


def test_the_record_page_shows_its_images_from_its_own_files(owner_client, acme):
    import_adrs(team=acme, files=files_from_folder(MADR_LOG), by=None)
    page = owner_client.get("/t/acme/decisions/0/").content.decode()
    assert 'src="/t/acme/decisions/0/files/record-flow.png"' in page


def test_the_pdf_shows_the_records_image_and_fetches_nothing_else(acme):
    import_adrs(team=acme, files=files_from_folder(MADR_LOG), by=None)
    d = by_number(acme)
    html = adr_html(d[0], diagram=False)
    assert f'src="{FILES_ORIGIN}/record-flow.png"' in html
    reader = PdfReader(io.BytesIO(adr_pdf(d[0])))
    images = [image for page in reader.pages for image in page.images]
    assert len(images) == 1 and images[0].image.size == (120, 40)
    fetcher = SafeFetcher(files=record_files(d[0]))
    png = (MADR_LOG / "docs/decisions/record-flow.png").read_bytes()
    assert fetcher.fetch(f"{FILES_ORIGIN}/record-flow.png").read() == png
    for elsewhere in (f"{FILES_ORIGIN}/layers.svg", f"{FILES_ORIGIN}/../record-flow.png"):
        with pytest.raises(ValueError, match="Refused"):
            fetcher.fetch(elsewhere)  # ADR-0001's file, or a path around the name


def test_a_bad_source_status_choice_is_refused(acme):
    with pytest.raises(ImportProblem, match="not an ADR status"):
        plan_import(team=acme, files=files_from_folder(MADR_LOG), missing_status="maybe")


def test_previews_nobody_imported_are_removed_by_a_later_upload(owner_client, acme, media):
    staged = media / "adr-import-previews"
    staged.mkdir(parents=True)
    (staged / f"{'a' * 32}.zip").write_bytes(b"old")
    (staged / f"{'b' * 32}.zip").write_bytes(b"recent")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(staged / f"{'a' * 32}.zip", (two_days_ago, two_days_ago))
    owner_client.post("/t/acme/decisions/import/", {"archive": zipped(ADR_TOOLS)})
    names = sorted(p.name for p in staged.iterdir())
    assert f"{'a' * 32}.zip" not in names and f"{'b' * 32}.zip" in names
    assert len(names) == 2  # the recent one and this upload's


def test_supersede_links_that_go_round_in_a_circle_are_left_out(acme, tmp_path):
    for number, other in ((1, 2), (2, 1)):
        (tmp_path / f"000{number}-r.md").write_text(
            f"# {number}. R{number}\n\nDate: 2024-01-01\n\n## Status\n\n"
            f"Superseded by [{other}. R](000{other}-r.md)\n"
        )
    result = import_adrs(team=acme, files=files_from_folder(tmp_path), by=None)
    d = by_number(acme)
    assert d[1].superseded_by == d[2] and d[2].superseded_by is None
    assert result.plan.warnings == [
        "0002-r.md: superseded by ADR-0001, which is itself replaced by ADR-0002; "
        "the link is left out."
    ]


def test_an_image_with_a_very_long_name_is_left_out(acme, tmp_path):
    name = "d/" * 120 + "x.png"
    (tmp_path / "0001-r.md").write_text(
        f"# 1. R\n\nDate: 2024-01-01\n\n## Context\n\n![x]({name})\n"
    )
    result = import_adrs(team=acme, files=files_from_folder(tmp_path), by=None)
    assert result.plan.warnings == [
        f"0001-r.md: image {name[:200]}: a name longer than 200; left out."
    ]

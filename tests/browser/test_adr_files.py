"""Images stored with an imported record, in Chromium: shown on the record's page, and
a stored SVG opened on its own runs nothing (sandboxed, nosniff)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from decisions.models import Decision, DecisionAttachment
from decisions.records.imports.service import files_from_folder, import_adrs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MADR_LOG = Path(__file__).parents[1] / "decisions/fixtures/madr-log"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def image_sizes(page) -> list[tuple[str, int]]:
    return [
        tuple(pair)
        for pair in page.eval_on_selector_all(
            "article img", "els => els.map(e => [e.getAttribute('src'), e.naturalWidth])"
        )
    ]


def test_the_records_images_are_drawn_on_its_page(page_for, member, acme):
    import_adrs(team=acme, files=files_from_folder(MADR_LOG), by=None)
    page = page_for(member)
    page.goto("/t/acme/decisions/0/")
    page.wait_for_load_state("load")
    assert image_sizes(page) == [("/t/acme/decisions/0/files/record-flow.png", 120)]
    page.goto("/t/acme/decisions/1/")
    page.wait_for_load_state("load")
    assert image_sizes(page) == [("/t/acme/decisions/1/files/layers.svg", 160)]


def test_a_stored_svg_opened_on_its_own_runs_no_script(page_for, member, acme):
    import_adrs(team=acme, files=files_from_folder(MADR_LOG), by=None)
    # Put a hostile SVG in place as if the sanitiser had missed it: the headers still hold.
    attachment = Decision.objects.get(team=acme, number=1).attachments.get()
    hostile = (
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="document.title=\'ran\'">'
        b"<script>document.title='ran'; alert(1)</script><rect width='9' height='9'/></svg>"
    )
    attachment.file.save("hostile.svg", ContentFile(hostile), save=False)
    DecisionAttachment.objects.filter(pk=attachment.pk).update(file=attachment.file.name)
    page = page_for(member)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    response = page.goto("/t/acme/decisions/1/files/layers.svg")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]
    page.wait_for_timeout(300)
    assert dialogs == [] and page.title() != "ran"

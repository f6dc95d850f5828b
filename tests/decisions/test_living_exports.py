"""An accepted ADR's Markdown and PDF carry its assumptions with their last measurements."""

from __future__ import annotations

import io

from django.urls import reverse
from pypdf import PdfReader

from decisions.records.exports.madr import to_madr
from decisions.records.imports.parse import parse_adr
from tests.decisions.living_support import accepted_checkout
from tests.decisions.test_living_checks import NIGHT, done, run_round, scripted  # noqa: F401


def test_markdown_and_pdf_have_an_assumptions_section(acme, owner, owner_client, scripted):  # noqa: F811
    decision = accepted_checkout(acme, owner)
    scripted.script = [done(600, 910)]
    decision = run_round(decision, NIGHT)
    markdown = to_madr(decision)
    section = markdown.split("## Assumptions", 1)[1]
    assert "**At risk:** payments p50 is 600 ms" in section
    assert (
        "| payments p99 latency ≤ 150 ms | stated | 910 ms on 2026-03-02 12:00 UTC "
        "| Fails: payments p99 is 910 ms, assumed ≤ 150 ms |" in section
    )
    assert (
        "| inventory p99 latency ≤ 20 ms | stated | not measured | Stated, not measured |"
        in section
    )
    # Read back, the section is data of the living record, not text of the decision.
    parsed = parse_adr(markdown, decision.filename)
    assert "Assumptions" not in parsed.fields.get("more_information", "")

    response = owner_client.get(reverse("adr-export-pdf", args=["acme", decision.number]))
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Assumptions" in text and "910 ms on 2026-03-02" in text


def test_a_record_without_assumptions_exports_as_before(acme, owner):
    from tests.decisions.adr_support import drafted

    assert "## Assumptions" not in to_madr(drafted(acme, owner))


def test_the_log_zip_shows_each_last_measurement_in_queries_that_do_not_grow_per_record(acme):
    import datetime
    import zipfile

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from decisions.models import Assumption, AssumptionCheck, Decision, DecisionStatus
    from decisions.records.exports.zip import log_zip, log_zip_records

    def add(numbers: range) -> None:
        now = timezone.now()
        for number in numbers:
            decision = Decision.objects.create(
                team=acme, number=number, title=f"Record {number}", date=now.date(),
                status=DecisionStatus.ACCEPTED,
            )  # fmt: skip
            assumption = Assumption.objects.create(
                decision=decision, metric="hop_p99_ms", target="payments", threshold=150
            )
            for minutes, value, status in ((20, 100.0, "ok"), (10, 900 + number, "failed")):
                AssumptionCheck.objects.create(
                    assumption=assumption, status=status, value=value,
                    measured_at=now - datetime.timedelta(minutes=minutes),
                )  # fmt: skip
            AssumptionCheck.objects.create(assumption=assumption, status="pending", measured_at=now)

    def export() -> tuple[int, zipfile.ZipFile]:
        with CaptureQueriesContext(connection) as captured:
            data = log_zip(acme, log_zip_records(Decision.objects.filter(team=acme)))
        return len(captured), zipfile.ZipFile(io.BytesIO(data))

    add(range(1, 4))
    at_3, _ = export()
    add(range(4, 10))
    at_9, archive = export()
    assert at_9 == at_3
    record = archive.read("docs/decisions/0007-record-7.md").decode()
    assert "| payments p99 latency ≤ 150 ms | stated | 907 ms on" in record  # the newest

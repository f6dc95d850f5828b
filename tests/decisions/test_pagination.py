"""Every list is paginated with a count, keeps its search and filters in the page links, and
costs the same number of queries at 10 rows on a page as at 100."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from decisions.models import Decision, DecisionStatus, ReviewSession, UseCase
from tests.decisions.adr_support import ORDER_HOPS
from tests.factories import make_use_case


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def more_use_cases(team, count: int, *, start: int = 0) -> None:
    """Copies of one evaluated use case (the list shows its snapshot's verdict)."""
    model = make_use_case(team, name=f"Model {start:05d}", hops=ORDER_HOPS)
    UseCase.objects.bulk_create(
        UseCase(
            team=team,
            name=f"Checkout step {start + i:05d}",
            description="Reserve stock for the basket",
            latest_snapshot=model.latest_snapshot,
        )
        for i in range(count - 1)
    )


def more_decisions(team, count: int, *, use_case=None) -> None:
    """Records that link to a use case and, every other one, to a successor."""
    use_case = use_case or make_use_case(team, name="Pay for an order", hops=ORDER_HOPS)
    first = (Decision.objects.filter(team=team).order_by("-number").first() or Decision()).number
    first = first or 0
    rows = Decision.objects.bulk_create(
        Decision(
            team=team,
            number=first + i + 1,
            title=f"Use a queue for step {first + i + 1}",
            date=datetime.date(2026, 1, 1),
            status=DecisionStatus.PROPOSED,
            use_case=use_case,
            chosen_option="Message queue",
        )
        for i in range(count)
    )
    rows = list(Decision.objects.filter(team=team, pk__in=[r.pk for r in rows]))
    for older, newer in zip(rows[::2], rows[1::2], strict=False):
        older.superseded_by = newer
        older.status = DecisionStatus.SUPERSEDED
    Decision.objects.bulk_update(rows, ["superseded_by", "status"])


def more_sessions(team, count: int, by) -> None:
    ReviewSession.objects.bulk_create(
        ReviewSession(
            team=team,
            title=f"Architecture review {i}",
            scheduled_for=timezone.now() + datetime.timedelta(days=i),
            facilitator=by,
        )
        for i in range(count)
    )


@pytest.mark.parametrize(
    ("url", "grow"),
    [
        ("/t/acme/usecases/", "use_cases"),
        ("/t/acme/usecases/?q=checkout", "use_cases"),
        ("/t/acme/decisions/", "decisions"),
        ("/t/acme/decisions/?q=queue&status=superseded", "decisions"),
        ("/t/acme/reviews/", "sessions"),
    ],
)
def test_a_page_costs_the_same_queries_at_10_and_100_rows(viewer_client, acme, owner, url, grow):
    def add(count: int) -> None:
        if grow == "use_cases":
            more_use_cases(acme, count, start=UseCase.objects.count())
        elif grow == "decisions":
            more_decisions(acme, count)
        else:
            more_sessions(acme, count, owner)

    joiner = "&" if "?" in url else "?"
    add(12)
    at_10 = queries_for(viewer_client, f"{url}{joiner}per_page=10")
    add(110)
    at_100 = queries_for(viewer_client, f"{url}{joiner}per_page=100")
    assert at_100 == at_10


def test_the_use_case_list_shows_one_page_and_a_count(viewer_client, acme):
    more_use_cases(acme, 120)
    page = viewer_client.get("/t/acme/usecases/").content.decode()
    assert page.count('id="usecase-') == 50 + 1  # the rows and the table around them
    assert "1–50 of 120" in page
    second = viewer_client.get("/t/acme/usecases/?page=3").content.decode()
    assert "101–120 of 120" in second
    assert "Checkout step 00118" in second and "Checkout step 00001" not in second


def test_page_links_keep_the_search_and_filters(viewer_client, acme):
    more_decisions(acme, 130)
    page = viewer_client.get("/t/acme/decisions/?q=queue&status=superseded&pattern=").content
    html = page.decode()
    assert "1–50 of 65" in html
    nexts = re.findall(r'href="([^"]*)" hx-get="[^"]*" rel="next"', html)
    assert nexts, html
    link = nexts[0].replace("&amp;", "&")
    assert link.startswith("/t/acme/decisions/?")
    assert "q=queue" in link and "status=superseded" in link and "page=2" in link
    second = viewer_client.get(link).content.decode()
    assert "51–65 of 65" in second


def test_an_htmx_page_swap_returns_only_the_table(viewer_client, acme):
    more_decisions(acme, 60)
    response = viewer_client.get(
        "/t/acme/decisions/?page=2", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="adr-table"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="adr-table">')
    assert "51–60 of 60" in html
    assert 'hx-target="#adr-table"' in html  # the page links swap the same element
    assert "<html" not in html


def test_a_page_number_out_of_range_or_garbage_gives_a_page_not_an_error(viewer_client, acme):
    more_use_cases(acme, 60)
    assert "51–60 of 60" in viewer_client.get("/t/acme/usecases/?page=999").content.decode()
    assert "1–50 of 60" in viewer_client.get("/t/acme/usecases/?page=abc").content.decode()
    assert "1–50 of 60" in viewer_client.get("/t/acme/usecases/?per_page=-3").content.decode()


def test_the_count_of_a_long_list_has_thousands_separators(viewer_client, acme):
    more_use_cases(acme, 1001)
    assert "1–50 of 1,001" in viewer_client.get("/t/acme/usecases/").content.decode()


def test_another_teams_rows_are_not_counted(viewer_client, acme, globex):
    more_use_cases(globex, 30)
    more_use_cases(acme, 5)
    assert "1–5 of 5" in viewer_client.get("/t/acme/usecases/").content.decode()

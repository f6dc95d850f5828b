"""When an accepted ADR is checked next: in its team's night, spread over the window (pure)."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Checks run between 01:00 and 05:00 in the team's time zone; each ADR gets its own
# minute in that window, so a team's checks do not all start at once.
WINDOW_START_HOUR = 1
WINDOW_MINUTES = 4 * 60
SPREAD_STEP_MINUTES = 37  # coprime with the window, so neighbouring ADRs land far apart


def team_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def next_check_at(
    *, schedule: str, time_zone: str, decision_key: int, now: datetime.datetime
) -> datetime.datetime | None:
    """The first slot after ``now`` for ``schedule`` ("nightly", "weekly", "never")."""
    if schedule not in ("nightly", "weekly"):
        return None
    zone = team_zone(time_zone)
    local = now.astimezone(zone)
    offset = datetime.timedelta(minutes=(decision_key * SPREAD_STEP_MINUTES) % WINDOW_MINUTES)
    day = local.date()
    for _ in range(8 if schedule == "weekly" else 2):
        start = (
            datetime.datetime.combine(day, datetime.time(WINDOW_START_HOUR), tzinfo=zone) + offset
        )
        # A weekly check runs in the night from Saturday to Sunday.
        if start > local and (schedule == "nightly" or day.weekday() == 6):
            return start.astimezone(datetime.UTC)
        day += datetime.timedelta(days=1)
    raise AssertionError("unreachable")  # pragma: no cover

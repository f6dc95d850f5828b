"""Minutes of a review session: agenda, outcomes, votes, comments and who attended.

`minutes_markdown` runs once, inside the transaction that closes the session (the rows
are locked, so the minutes match what was decided); the text is stored on the session.
The PDF is that stored Markdown rendered through the sanitising renderer and WeasyPrint.

Only this module writes outcome, vote and heading lines. Text people typed (titles,
names, comments, rationales) is neutralised first: one-line text has its line breaks
folded and its Markdown and HTML characters escaped; many-line text goes into a quote
block, escaped the same way line by line, so nothing typed can end the quote, start a
heading or list, or pass for a line the system wrote.
"""

from __future__ import annotations

import re
from collections import Counter

from django.template.loader import render_to_string
from django.utils import timezone

from decisions.markdown import render_markdown
from decisions.models import AgendaItem, Membership, Presence, ReviewSession, VoteChoice

# Characters that can start Markdown or HTML anywhere on a line; a backslash makes
# each one literal (CommonMark escapes any ASCII punctuation this way).
_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~&!])")
# What can open a block only at the start of a line: list items, setext underlines,
# thematic breaks ("1." / "1)" ordered items, "-" "+" "=" runs).
_LINE_START = re.compile(r"^(\s*)(\d+)([.)])|^(\s*)([-+=])")


def _escape_line(line: str) -> str:
    escaped = _INLINE_SPECIAL.sub(r"\\\1", line)
    return _LINE_START.sub(
        lambda m: f"{m[1]}{m[2]}\\{m[3]}" if m[2] else f"{m[4]}\\{m[5]}", escaped, count=1
    )


def _one_line(text: str) -> str:
    """Typed text for a place in a system-written line: one line, nothing it can open."""
    return _escape_line(" ".join(text.split()))


def _quote(text: str) -> str:
    """Typed text of any length as a quote block that only this module can close."""
    lines = [_escape_line(line.strip()) for line in text.splitlines()]
    return "\n".join(f"> {line}" if line else ">" for line in lines) or ">"


def _name(user) -> str:
    if user is None:
        return "(deleted user)"
    return _one_line(user.get_full_name() or user.get_username())


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z") if moment else "—"


def minutes_markdown(session: ReviewSession) -> str:
    """The minutes as Markdown, from the rows as they stand."""
    team = session.team
    items = list(
        AgendaItem.objects.filter(session=session)
        .select_related("decision", "decided_by")
        .prefetch_related("votes__user", "comments__author")
        .order_by("position")
    )
    roles = dict(Membership.objects.filter(team=team).values_list("user_id", "role"))
    attendees = list(
        Presence.objects.filter(session=session).select_related("user").order_by("first_seen")
    )

    lines = [
        f"# Minutes: {_one_line(session.title)}",
        "",
        f"* Team: {_one_line(team.name)}",
        f"* Scheduled for: {_when(session.scheduled_for)}",
        f"* Started: {_when(session.started)}",
        f"* Closed: {_when(session.closed)}",
        f"* Facilitator: {_name(session.facilitator)}",
        "",
        "## Attendance",
        "",
    ]
    if attendees:
        lines += [f"* {_name(p.user)} ({roles.get(p.user_id, 'former member')})" for p in attendees]
    else:
        lines.append("Nobody opened the live page.")
    lines += ["", "## Agenda", ""]
    for item in items:
        lines.append(
            f"{item.position}. {item.decision.label}: {_one_line(item.decision.title)} — "
            f"{_outcome_text(item)}"
        )

    for item in items:
        decision = item.decision
        lines += ["", f"## {decision.label}: {_one_line(decision.title)}", ""]
        if item.is_pending:
            lines.append("**Outcome:** not decided in this session.")
        else:
            lines.append(
                f"**Outcome:** {item.get_outcome_display()} by {_name(item.decided_by)} "
                f"at {_when(item.decided_at)}."
            )
            lines += ["", "**Rationale:**", "", _quote(item.rationale)]
            if item.override_reason:
                lines += ["", "**Block vote overridden:**", "", _quote(item.override_reason)]
        votes = sorted(item.votes.all(), key=lambda v: _name(v.user).casefold())
        tally = Counter(v.choice for v in votes)
        lines += [
            "",
            "### Votes: " + ", ".join(f"{tally[c.value]} {c.label.lower()}" for c in VoteChoice),
            "",
        ]
        if votes:
            lines += [f"* {_name(v.user)}: {v.get_choice_display().lower()}" for v in votes]
        else:
            lines.append("No votes.")
        comments = list(item.comments.all())
        lines += ["", f"### Comments ({len(comments)})", ""]
        if not comments:
            lines.append("No comments.")
        for comment in comments:
            lines += [
                f"**{_name(comment.author)}** at {_when(comment.created)}:",
                "",
                _quote(comment.body),
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"


def _outcome_text(item: AgendaItem) -> str:
    if item.is_pending:
        return "not decided"
    text = item.get_outcome_display().lower()
    return f"{text} (block overridden)" if item.override_reason else text


def minutes_html(session: ReviewSession) -> str:
    """A printable page: the stored minutes through the sanitising Markdown renderer."""
    return render_to_string(
        "decisions/reviews/review_minutes_pdf.html",
        {"session": session, "body": render_markdown(session.minutes)},
    )


def minutes_pdf(session: ReviewSession) -> bytes:
    # Imported here: closing a session needs only the Markdown, and WeasyPrint is a heavy
    # import for every process that merely loads the review services.
    from decisions.pdf import render_pdf

    return render_pdf(minutes_html(session))

"""The authorization matrix: every URL the project defines (admin aside), every method,
as each role of the owning team, as a member of another team and anonymously.

``MATRIX`` says, per URL name and method, who may: a team role (the least one that
may), ``PUBLIC`` (anyone), ``LOGGED_IN`` (any signed-in person) or ``None`` (the view
refuses the method: 405). A URL pattern without an entry fails the test, so every new
URL is added here with its rule. The expected answers (see ``decisions.teams.access``):

* anonymous: a redirect to the login page for every view behind ``login_required``,
  which every team view is; public views answer as they do for anyone;
* another team's member: 404 (the object's existence is not confirmed);
* a role below the one needed: 403;
* the needed role or above: neither 403, 404, 405 nor a 5xx.

POSTs go out with empty data: the answer is about access, not about the action, and no
probe or long job is started. Every refused POST is checked to have changed nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import connection
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from decisions.jobs import JobStatus
from decisions.models import DecisionAttachment, DecisionStatus, ExportJob, Role
from decisions.records.services import decision_transition
from decisions.reviews.services import session_close
from patterns.engine import PATTERN_NAMES
from probes.models import ProbeRun
from tests.decisions.adr_support import drafted, order_use_case
from tests.decisions.review_support import make_proposals, make_session
from tests.probes.probe_factories import make_endpoint

pytestmark = pytest.mark.django_db

PUBLIC = "public"
LOGGED_IN = "logged-in"
V, M, F = Role.VIEWER, Role.MEMBER, Role.FACILITATOR
RANK = {V: 0, M: 1, F: 2}


@dataclass(frozen=True)
class Rule:
    get: str | None
    post: str | None
    # Which object's key fills ``pk`` (or ``number``) in the URL.
    obj: str = ""
    # A POST the rule allows would delete the object the later URLs need: only the
    # refusals are sent (and must change nothing); the allowed callers get the
    # confirmation page (GET).
    destructive: bool = False


MATRIX: dict[str, Rule] = {
    # Outside the teams
    "home": Rule(LOGGED_IN, None),
    "healthz": Rule(PUBLIC, None),
    "patterns:catalog": Rule(PUBLIC, None),
    "patterns:detail": Rule(PUBLIC, None),
    "login": Rule(PUBLIC, PUBLIC),
    "logout": Rule(None, PUBLIC),
    "password_change": Rule(LOGGED_IN, LOGGED_IN),
    "password_change_done": Rule(LOGGED_IN, None),
    "password_reset": Rule(PUBLIC, PUBLIC),
    "password_reset_done": Rule(PUBLIC, None),
    "password_reset_confirm": Rule(PUBLIC, PUBLIC),
    "password_reset_complete": Rule(PUBLIC, None),
    # Use cases
    "team-home": Rule(V, None),
    "usecase-list": Rule(V, None),
    "usecase-create": Rule(M, M),
    "usecase-preview": Rule(None, M),
    "usecase-validate": Rule(None, M),
    "usecase-chain": Rule(None, M),
    "usecase-detail": Rule(V, None, "use_case"),
    "usecase-edit": Rule(M, M, "use_case"),
    "usecase-reevaluate": Rule(None, M, "use_case"),
    "usecase-delete": Rule(M, M, "use_case", destructive=True),
    "usecase-restore": Rule(None, M, "use_case"),
    "team-activity": Rule(V, None),
    # ADRs
    "adr-list": Rule(V, None),
    "adr-create": Rule(M, M),
    "adr-import": Rule(M, M),
    "adr-log-zip": Rule(None, V),
    "adr-log-pdf": Rule(None, V),
    "adr-export-job": Rule(V, None, "job"),
    "adr-export-job-download": Rule(V, None, "job"),
    "adr-detail": Rule(V, None, "adr"),
    "adr-edit": Rule(M, M, "adr"),
    "adr-history": Rule(V, None, "adr"),
    "adr-transition": Rule(None, F, "adr"),
    "adr-supersede": Rule(M, M, "adr"),
    "adr-export-md": Rule(V, None, "adr"),
    "adr-export-pdf": Rule(V, None, "adr"),
    "adr-diagram": Rule(V, None, "adr"),
    "adr-file": Rule(V, None, "adr"),
    "adr-delete": Rule(M, M, "adr", destructive=True),
    "adr-draft": Rule(M, M, "use_case"),
    # Review sessions
    "review-list": Rule(V, None),
    "review-create": Rule(F, F),
    "review-detail": Rule(V, None, "session"),
    "review-poll": Rule(V, None, "session"),
    "review-start": Rule(None, F, "session"),
    "review-advance": Rule(None, F, "session"),
    "review-vote": Rule(None, M, "session"),
    "review-comment": Rule(None, M, "session"),
    "review-decide": Rule(None, F, "session"),
    "review-close": Rule(None, F, "session"),
    "review-delete": Rule(F, F, "session", destructive=True),
    "review-minutes-md": Rule(V, None, "closed_session"),
    "review-minutes-pdf": Rule(V, None, "closed_session"),
    # Probes
    "probes:endpoint-list": Rule(V, None),
    "probes:endpoint-create": Rule(F, F),
    "probes:endpoint-detail": Rule(V, None, "endpoint"),
    "probes:endpoint-edit": Rule(F, F, "endpoint"),
    "probes:endpoint-delete": Rule(F, F, "endpoint", destructive=True),
    "probes:endpoint-restore": Rule(None, F, "endpoint"),
    "probes:run-create": Rule(F, F, "endpoint"),
    "probes:run-detail": Rule(V, None, "run"),
    "probes:run-cancel": Rule(None, F, "run"),
    # Living decisions
    "inbox": Rule(LOGGED_IN, None),
    "inbox-read": Rule(None, LOGGED_IN),
    "living-health": Rule(V, None),
    "living-run-all": Rule(None, M),
    "living-settings": Rule(F, F),
    "living-run-one": Rule(None, M, "accepted_adr"),
    "living-review-settings": Rule(None, F, "accepted_adr"),
    "living-supersede": Rule(None, M, "adr"),
    "living-to-review": Rule(None, F, "adr"),
    "assumption-add": Rule(None, F, "accepted_adr"),
    "assumption-edit": Rule(None, F, "assumption"),
    "assumption-delete": Rule(None, F, "assumption", destructive=True),
}

ATTACHMENT = "images/flow.png"
CALLERS = ("anonymous", "outsider", "viewer", "member", "owner")
CALLER_ROLE = {"viewer": V, "member": M, "owner": F}


def walk(resolvers: list, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    """(qualified name, route) for every named pattern, recursively; admin left out."""
    for entry in resolvers:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            yield (
                f"{namespace}{entry.name or '(unnamed) ' + str(entry.pattern)}",
                prefix + str(entry.pattern),
            )


def project_urls() -> dict[str, str]:
    return dict(walk(get_resolver().url_patterns))


def test_every_url_pattern_has_a_rule_in_the_matrix():
    urls = project_urls()
    assert sorted(set(urls) - set(MATRIX)) == [], "add these URLs to MATRIX with their rule"
    assert sorted(set(MATRIX) - set(urls)) == [], "these MATRIX entries match no URL"


@pytest.fixture
def objects(acme, owner, member, tmp_path, settings):
    """One of each team object, all in acme."""
    settings.MEDIA_ROOT = str(tmp_path)
    use_case = order_use_case(acme, owner)
    adr = drafted(acme, member)
    DecisionAttachment.objects.create(
        decision=adr,
        name=ATTACHMENT,
        file=ContentFile(b"\x89PNG\r\n\x1a\n", name="flow.png"),
        content_type="image/png",
        size=8,
    )
    session = make_session(acme, owner, make_proposals(acme, owner, count=1))
    closed = session_close(
        session=make_session(acme, owner, make_proposals(acme, owner, count=1)), by=owner
    )
    accepted = drafted(acme, member)
    decision_transition(decision=accepted, to=DecisionStatus.ACCEPTED, by=owner)
    endpoint = make_endpoint(acme, "http://127.0.0.1:9/health")
    run = ProbeRun.objects.create(
        team=acme, endpoint=endpoint, url=endpoint.url, rate=10, duration_s=1,
        status=JobStatus.SUCCEEDED,
    )  # fmt: skip
    (Path(tmp_path) / "exports").mkdir()
    (Path(tmp_path) / "exports" / "acme-log.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    job = ExportJob.objects.create(
        team=acme, status=JobStatus.SUCCEEDED, file="exports/acme-log.pdf", total=1, done=1
    )
    return {
        "use_case": use_case.pk,
        "adr": adr.number,
        "session": session.pk,
        "closed_session": closed.pk,
        "endpoint": endpoint.pk,
        "run": run.pk,
        "job": job.pk,
        "accepted_adr": accepted.number,
        "assumption": accepted.assumptions.first().pk,
    }


def url_for(name: str, route: str, objects: dict[str, int]) -> str:
    kwargs: dict[str, object] = {}
    if "<slug:team_slug>" in route:
        kwargs["team_slug"] = "acme"
    key = objects[MATRIX[name].obj] if MATRIX[name].obj else None
    if "<int:pk>" in route:
        kwargs["pk"] = key
    if "<int:number>" in route:
        kwargs["number"] = key
    if "<slug:pattern_id>" in route:
        kwargs["pattern_id"] = next(iter(PATTERN_NAMES))
    if "<path:name>" in route:
        kwargs["name"] = ATTACHMENT
    if "<uidb64>" in route:
        kwargs.update(uidb64="MQ", token="set-password")
    return reverse(name, kwargs=kwargs)


def fingerprint() -> str:
    """A digest of every row the app keeps: the app's tables and the users (sessions
    aside: logging in writes one). Raw rows, so JSON columns are not decoded each time."""
    digest = hashlib.blake2b(digest_size=16)
    models = [
        *apps.get_app_config("decisions").get_models(),
        *apps.get_app_config("probes").get_models(),
    ]
    with connection.cursor() as cursor:
        for model in [*models, get_user_model()]:
            cursor.execute(
                f"SELECT * FROM {connection.ops.quote_name(model._meta.db_table)} ORDER BY 1"
            )
            digest.update(repr(cursor.fetchall()).encode())
    return digest.hexdigest()


def expected(rule_need: str | None, caller: str, is_team_url: bool) -> str:
    """'login', '404', '403', '405', 'ok' (any answer but those and a 5xx) or 'public'
    (any answer but a 4xx refusal or a 5xx: logging out redirects to the login page)."""
    if rule_need is None:
        # The method check runs after login_required for login-only views.
        if caller == "anonymous" and (is_team_url or rule_need != PUBLIC):
            return "login" if is_team_url else "405-or-login"
        return "405"
    if rule_need == PUBLIC:
        return "public"
    if caller == "anonymous":
        return "login"
    if rule_need == LOGGED_IN:
        return "ok"
    if caller == "outsider":
        return "404"
    return "ok" if RANK[CALLER_ROLE[caller]] >= RANK[rule_need] else "403"


def matches(outcome: str, response) -> bool:
    code = response.status_code
    login = code == 302 and response["Location"].startswith(resolve_url(settings.LOGIN_URL))
    if outcome == "login":
        return login
    if outcome == "405-or-login":
        return code == 405 or login
    if outcome == "public":
        return code < 500 and code not in (403, 404, 405)
    if outcome == "ok":
        return code < 500 and code not in (403, 404, 405) and not login
    return str(code) == outcome


def test_every_url_answers_each_caller_as_the_matrix_says(objects, owner, member, viewer, outsider):
    users = {"owner": owner, "member": member, "viewer": viewer, "outsider": outsider}

    def client_for(caller: str) -> Client:
        client = Client()
        if caller != "anonymous":
            client.force_login(users[caller])
        return client

    clients = {caller: client_for(caller) for caller in CALLERS}
    wrong: list[str] = []
    checked = 0
    for name, route in sorted(project_urls().items()):
        rule = MATRIX[name]
        path = url_for(name, route, objects)
        is_team_url = "<slug:team_slug>" in route
        for method, need in (("GET", rule.get), ("POST", rule.post)):
            for caller in CALLERS:
                client = clients[caller]
                outcome = expected(need, caller, is_team_url)
                refused = outcome not in ("ok", "public")
                if method == "POST" and rule.destructive and not refused:
                    checked += 1
                    continue
                before = fingerprint() if method == "POST" and refused else None
                response = client.get(path) if method == "GET" else client.post(path, {})
                checked += 1
                if name == "logout":  # the next URL is asked as this caller again
                    clients[caller] = client_for(caller)
                if not matches(outcome, response):
                    wrong.append(
                        f"{method} {path} ({name}) as {caller}: expected {outcome}, "
                        f"got {response.status_code} {response.get('Location', '')}"
                    )
                if before is not None and fingerprint() != before:
                    wrong.append(f"{method} {path} ({name}) as {caller} changed stored data")
    assert wrong == [], "\n".join(wrong)
    assert checked == len(MATRIX) * 2 * len(CALLERS)

from django.contrib import admin

from decisions.models import (
    AgendaItem,
    ChainHop,
    Comment,
    Decision,
    DecisionChange,
    ExportJob,
    ExportPart,
    Membership,
    Presence,
    RecommendationSnapshot,
    ReviewSession,
    Team,
    UseCase,
    Vote,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role"]
    list_filter = ["role", "team"]


class ChainHopInline(admin.TabularInline):
    model = ChainHop
    extra = 0
    readonly_fields = ["critical"]  # follows the role (ChainHop.save)


@admin.register(UseCase)
class UseCaseAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "caller", "latency_p95_ms", "updated"]
    list_filter = ["team", "caller", "consistency"]
    search_fields = ["name", "description"]
    inlines = [ChainHopInline]
    raw_id_fields = ["latest_snapshot", "created_by"]


@admin.register(RecommendationSnapshot)
class RecommendationSnapshotAdmin(admin.ModelAdmin):
    list_display = ["use_case", "created", "top_pattern", "within_budget", "rule_pack_version"]
    list_filter = ["top_pattern"]
    raw_id_fields = ["use_case", "created_by"]


class DecisionChangeInline(admin.TabularInline):
    model = DecisionChange
    extra = 0
    readonly_fields = ["at", "by", "action", "diff", "note"]


@admin.register(Decision)
class DecisionAdmin(admin.ModelAdmin):
    list_display = ["label", "title", "team", "status", "date"]
    list_filter = ["team", "status"]
    search_fields = ["title", "context"]
    inlines = [DecisionChangeInline]
    raw_id_fields = ["use_case", "snapshot", "superseded_by", "created_by"]


class AgendaItemInline(admin.TabularInline):
    model = AgendaItem
    extra = 0
    raw_id_fields = ["decision", "decided_by"]


@admin.register(ReviewSession)
class ReviewSessionAdmin(admin.ModelAdmin):
    list_display = ["title", "team", "status", "scheduled_for", "facilitator", "version"]
    list_filter = ["team", "status"]
    search_fields = ["title"]
    inlines = [AgendaItemInline]
    raw_id_fields = ["facilitator", "current_item"]
    readonly_fields = ["version", "minutes", "started", "closed"]


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    list_display = ["item", "user", "choice", "cast_at"]
    list_filter = ["choice"]
    raw_id_fields = ["item", "user"]


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["item", "author", "created"]
    raw_id_fields = ["item", "author"]


@admin.register(Presence)
class PresenceAdmin(admin.ModelAdmin):
    list_display = ["session", "user", "first_seen", "last_seen"]
    raw_id_fields = ["session", "user"]


class ExportPartInline(admin.TabularInline):
    """A big export's parts, as the workers left them (read only: the rows are the job)."""

    model = ExportPart
    extra = 0
    can_delete = False
    fields = ("index", "first_number", "last_number", "status", "done", "total", "worker", "error")
    readonly_fields = fields


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = ["team", "kind", "status", "progress", "created", "finished_at"]
    list_filter = ["status", "team"]
    readonly_fields = ["started_at", "finished_at", "heartbeat_at", "worker", "created"]
    raw_id_fields = ["requested_by"]
    inlines = [ExportPartInline]

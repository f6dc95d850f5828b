from __future__ import annotations

from django.contrib import admin

from probes.models import Endpoint, ProbeRun, ProbeShard


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "service", "method", "url")
    list_filter = ("team",)
    search_fields = ("name", "service", "url")


class ProbeShardInline(admin.TabularInline):
    model = ProbeShard
    extra = 0
    fields = ("index", "status", "worker", "sent", "completed", "errors", "heartbeat_at", "error")
    readonly_fields = fields
    can_delete = False


@admin.register(ProbeRun)
class ProbeRunAdmin(admin.ModelAdmin):
    list_display = ("pk", "endpoint", "team", "status", "model", "rate", "shards", "created")
    list_filter = ("status", "team")
    readonly_fields = ("outcome", "summary")
    inlines = [ProbeShardInline]

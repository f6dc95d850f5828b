"""Diagrams drawn once per content and kept in the database (docs/adr/0011).

A diagram's key is ``patterns.diagrams.svg_cache_key``: a hash of its DOT source (which
holds everything that shapes the drawing) and the dot binary. ``diagram_store`` is handed
to ``patterns.diagrams.render_svg(s)``, which stays free of Django: every web and worker
process finds a drawing any of them made, so repeat exports and pages run no ``dot``.
A row is never changed (the same key always means the same SVG); two processes drawing
the same new diagram at once both insert, and the second insert is ignored.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from django.db import models

__all__ = ["DiagramRender", "diagram_store"]

# Keys per query: well under SQLite's limit on bound parameters.
LOOKUP_BATCH = 500


class DiagramRender(models.Model):
    """One drawn diagram, keyed by the hash of its DOT source."""

    key = models.CharField(max_length=64, unique=True)
    svg = models.TextField()
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"diagram {self.key[:12]}"


class DatabaseSvgStore:
    """``patterns.diagrams.SvgStore`` on the ``DiagramRender`` table."""

    def get_many(self, keys: Collection[str]) -> dict[str, str]:
        keys = list(keys)
        found: dict[str, str] = {}
        for start in range(0, len(keys), LOOKUP_BATCH):
            rows = DiagramRender.objects.filter(key__in=keys[start : start + LOOKUP_BATCH])
            found.update(rows.values_list("key", "svg"))
        return found

    def put_many(self, svgs: Mapping[str, str]) -> None:
        DiagramRender.objects.bulk_create(
            [DiagramRender(key=key, svg=svg) for key, svg in svgs.items()],
            ignore_conflicts=True,
            batch_size=LOOKUP_BATCH,
        )


diagram_store = DatabaseSvgStore()

"""GIN indexes for full-text search on PostgreSQL (decisions/search.py); nothing elsewhere.

Each index is built on the same expression the search uses (``search_vector(fields)``),
so the planner matches the query to it. SQLite keeps the plain substring search.
"""

from django.db import migrations

from decisions.search import DECISION_FIELDS, HOP_FIELDS, USE_CASE_FIELDS, search_vector

INDEXES = (
    ("Decision", "decision_search_gin", DECISION_FIELDS),
    ("UseCase", "usecase_search_gin", USE_CASE_FIELDS),
    ("ChainHop", "chainhop_search_gin", HOP_FIELDS),
)


def _indexes(apps):
    from django.contrib.postgres.indexes import GinIndex

    for model, name, fields in INDEXES:
        yield apps.get_model("decisions", model), GinIndex(search_vector(fields), name=name)


def add_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model, index in _indexes(apps):
        schema_editor.add_index(model, index)


def remove_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model, index in _indexes(apps):
        schema_editor.remove_index(model, index)


class Migration(migrations.Migration):
    dependencies = [("decisions", "0009_diagram_render_store_by_content")]

    operations = [migrations.RunPython(add_search_indexes, remove_search_indexes)]

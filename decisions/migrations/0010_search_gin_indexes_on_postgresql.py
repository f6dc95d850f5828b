"""GIN indexes for full-text search on PostgreSQL (decisions/search.py); nothing elsewhere.

Each index is built on the same expression the search uses (``search_vector(fields)``),
so the planner matches the query to it. SQLite keeps the plain substring search.
"""

from django.db import migrations

# Frozen copies of decisions.search's field lists as of this migration: the index must stay
# the expression it was built with, whatever the code says later.
INDEXES = (
    (
        "Decision",
        "decision_search_gin",
        (
            "title",
            "decision_makers",
            "consulted",
            "informed",
            "context",
            "drivers",
            "considered_options",
            "chosen_option",
            "justification",
            "consequences",
            "confirmation",
            "more_information",
        ),
    ),
    ("UseCase", "usecase_search_gin", ("name", "description")),
    ("ChainHop", "chainhop_search_gin", ("service",)),
)


def _indexes(apps):
    from django.contrib.postgres.indexes import GinIndex
    from django.contrib.postgres.search import SearchVector

    for model, name, fields in INDEXES:
        vector = SearchVector(*fields, config="english")
        yield apps.get_model("decisions", model), GinIndex(vector, name=name)


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

"""Loaded with `-p tests.env` before Django reads its settings.

Tests get a Celery queue of their own, so a `make run` worker on the same Redis
never takes a test's task (and the test's worker never takes a real one).
"""

import os
import uuid

run_id = uuid.uuid4().hex[:8]
os.environ["ARCHWAY_QUEUE"] = f"archway-test-{run_id}"
# Overlapping test runs (two terminals, CI on a shared machine) get their own database.
os.environ["ARCHWAY_TEST_DB_SUFFIX"] = f"_{run_id}"
os.environ.pop("ARCHWAY_PROBE_ALLOW", None)  # tests set the allow-list they need

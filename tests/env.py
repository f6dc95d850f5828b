"""Loaded with `-p tests.env` before Django reads its settings.

Tests get a Celery queue of their own, so a `make run` worker on the same Redis
never takes a test's task (and the test's worker never takes a real one).
"""

import os
import uuid

os.environ["ARCHWAY_QUEUE"] = f"archway-test-{uuid.uuid4().hex[:8]}"
os.environ.pop("ARCHWAY_PROBE_ALLOW", None)  # tests set the allow-list they need

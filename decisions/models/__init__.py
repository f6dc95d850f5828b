"""Decisions' models, one module per area; import them all so Django sees them."""

from decisions.models.adr import *  # noqa: F403
from decisions.models.review import *  # noqa: F403
from decisions.models.team import *  # noqa: F403
from decisions.models.usecase import *  # noqa: F403

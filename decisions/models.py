"""Every area's models, imported here so that Django finds them under one app label."""

from decisions.living.models import *  # noqa: F403
from decisions.records.diagrams import *  # noqa: F403
from decisions.records.models import *  # noqa: F403
from decisions.reviews.models import *  # noqa: F403
from decisions.teams.models import *  # noqa: F403
from decisions.usecases.models import *  # noqa: F403

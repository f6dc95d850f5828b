"""Teams, memberships and roles, and the one place that checks access to a team's objects."""

"""Use cases: the questionnaire, its chain of services, and the recommendation snapshots."""

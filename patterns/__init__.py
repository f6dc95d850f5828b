"""Pattern catalog, rule pack and the pure recommendation engine."""

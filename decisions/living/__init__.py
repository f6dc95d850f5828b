"""Living decisions: accepted ADRs re-check their assumptions, and people are told."""

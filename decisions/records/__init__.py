"""Decision records (ADRs): lifecycle, history, diagrams, exports and imports."""

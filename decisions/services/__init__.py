"""Writes, one module per area: usecases, adr, review."""

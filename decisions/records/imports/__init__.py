"""Existing decision logs brought into a team: adr-tools, MADR and log4brains files."""

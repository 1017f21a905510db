"""Figures read from the statistics (per queue, per agent and dialect) and supervisors' alerts."""

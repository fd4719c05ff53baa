"""Launchers: each builds a top, starts its bench in the simulator and returns its results."""

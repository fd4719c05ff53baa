"""Simulation-only RTL around the host top: the protocol checkers, the bulk player and recorder, the coverage monitor and the deliberate bugs."""

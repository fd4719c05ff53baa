"""The constrained-random regression: seeded scenarios, their expectations and checker, the soak."""

"""Fixtures shared by several test files."""

import pytest


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty build cache of the test's own (``$CIMTILE_CACHE``), without a size limit."""
    root = tmp_path / "cache"
    root.mkdir()
    monkeypatch.setenv("CIMTILE_CACHE", str(root))
    monkeypatch.delenv("CIMTILE_CACHE_MAX_MB", raising=False)
    return root

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


@pytest.fixture(scope="session", autouse=True)
def private_temporary_folder(tmp_path_factory):
    """Temporary files of this test process and of the commands it starts go to a folder of
    its own under pytest's base, so that parallel workers share no temporary names and the
    logs kept by deliberately failed simulations do not pile up in the system's folder."""
    import os
    import tempfile
    folder = str(tmp_path_factory.mktemp("tmp"))
    saved_env, saved_tempdir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"], tempfile.tempdir = folder, folder
    yield folder
    tempfile.tempdir = saved_tempdir
    if saved_env is None:
        del os.environ["TMPDIR"]
    else:
        os.environ["TMPDIR"] = saved_env

"""Elaborated Verilog is kept per configuration and version of the code, never read stale."""

import functools

import pytest

from cimtile.spec.config import reference_config
from cimtile.tb.build import elaboration

CALLS = []


def counted_source(cfg, *, suffix=""):
    CALLS.append(cfg.tile.rows)
    return f"// rows {cfg.tile.rows}{suffix}\n"


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("CIMTILE_CACHE", str(tmp_path))
    CALLS.clear()
    return tmp_path / "verilog"


def test_a_configuration_is_elaborated_once_across_processes(store):
    cfg = reference_config()
    assert elaboration.elaborated(counted_source, cfg) == "// rows 128\n"
    assert elaboration.elaborated(counted_source, cfg) == "// rows 128\n"
    assert CALLS == [128] and len(list(store.glob("*.v"))) == 1
    other = cfg.replace(rows=64)
    assert elaboration.elaborated(counted_source, other) == "// rows 64\n"
    source = functools.partial(counted_source, suffix=" traced")
    assert elaboration.elaborated(source, cfg) == "// rows 128 traced\n"
    assert CALLS == [128, 64, 128] and len(list(store.glob("*.v"))) == 3


def test_changed_code_gets_a_new_key(store, monkeypatch):
    cfg = reference_config()
    elaboration.elaborated(counted_source, cfg)
    monkeypatch.setattr(elaboration, "_code_digest", lambda: "another version")
    elaboration.elaborated(counted_source, cfg)
    assert CALLS == [128, 128]


def test_a_source_without_a_stable_name_is_not_stored(store):
    def local(cfg):
        return "// local\n"
    assert elaboration.elaborated(local, reference_config()) == "// local\n"
    assert not store.exists() or not list(store.iterdir())


def test_the_digest_covers_the_package_code():
    digest = elaboration._code_digest()
    assert len(digest) == 64 and digest == elaboration._code_digest()

"""Row-chunked .npy reading and writing, against numpy's own loader and writer."""

import numpy as np
import pytest

from cimtile.spec.npy_rows import NpyRowWriter, NpyRows, row_chunks


@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.float32])
def test_chunks_read_every_row_in_order(tmp_path, dtype):
    data = np.arange(7 * 3 * 2, dtype=dtype).reshape(7, 3, 2)
    np.save(tmp_path / "a.npy", data)
    rows = NpyRows(tmp_path / "a.npy")
    assert rows.shape == data.shape and rows.dtype == data.dtype and len(rows) == 7
    chunks = list(rows.chunks(3))
    assert [len(c) for c in chunks] == [3, 3, 1]
    assert np.array_equal(np.concatenate(chunks), data)
    assert np.array_equal(rows.read(), data)
    assert [len(c) for c in row_chunks(data, 4)] == [4, 3]


@pytest.mark.parametrize("dtype", ["<i2", ">i4", "u1", ">f8"])
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2), (1, 1), (7,)])
def test_fortran_ordered_rows_read_as_c_ordered_chunks(tmp_path, dtype, shape):
    data = np.arange(np.prod(shape)).reshape(shape).astype(dtype)
    np.save(tmp_path / "f.npy", np.asfortranarray(data))
    rows = NpyRows(tmp_path / "f.npy")
    chunks = list(rows.chunks(2))
    assert all(chunk.flags.c_contiguous for chunk in chunks)
    assert np.array_equal(np.concatenate(chunks), data) and rows.dtype == data.dtype


def test_an_object_or_truncated_file_is_refused(tmp_path):
    np.save(tmp_path / "o.npy", np.array([[1, "a"]], object), allow_pickle=True)
    with pytest.raises(ValueError, match="not an array of rows"):
        NpyRows(tmp_path / "o.npy")
    np.save(tmp_path / "t.npy", np.ones((4, 3)))
    raw = (tmp_path / "t.npy").read_bytes()
    (tmp_path / "t.npy").write_bytes(raw[:-8])
    with pytest.raises(ValueError, match="file ends before row 4"):
        list(NpyRows(tmp_path / "t.npy").chunks(2))


@pytest.mark.parametrize("count", [0, 1, 10_000_019])
def test_the_writer_sets_the_row_count_numpy_reads(tmp_path, count):
    path = tmp_path / "w.npy"
    with NpyRowWriter(path, np.int64, (2,)) as writer:
        writer.write(np.arange(2 * min(count, 5)).reshape(-1, 2))
        # A huge count needs as many header digits as any run; the rows are not written.
        writer.rows = count
    header = path.read_bytes()[:128]
    assert header.endswith(b"\n") and len(header) % 64 == 0
    with open(path, "rb") as file:
        version = np.lib.format.read_magic(file)
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(file)
    assert version == (1, 0) and shape == (count, 2) and not fortran and dtype == np.int64
    with NpyRowWriter(path, np.int64, (2,)) as writer:
        writer.write(np.arange(6).reshape(3, 2))
        writer.write(np.arange(6, 10).reshape(2, 2))
    assert np.array_equal(np.load(path), np.arange(10).reshape(5, 2))
    with NpyRowWriter(path, np.int64, (2,)) as writer, \
            pytest.raises(ValueError, match=r"rows shaped \(3,\), expected \(2,\)"):
        writer.write(np.zeros((1, 3)))


def test_streamed_inputs_are_checked_chunk_by_chunk_naming_the_whole_row(tmp_path,
                                                                         monkeypatch):
    from cimtile.spec import files
    from cimtile.spec.config import reference_config
    cfg = reference_config()
    monkeypatch.setattr(files, "_CHECK_ROWS", 4)
    X = np.zeros((10, cfg.tile.rows), np.int16)
    np.save(tmp_path / "good.npy", X)
    rows = files.open_inputs(tmp_path / "good.npy", cfg)
    assert isinstance(rows, NpyRows) and len(rows) == 10
    X[9, 5] = 128
    np.save(tmp_path / "bad.npy", X)
    with pytest.raises(files.InputError,
                       match=r"bad.npy: inputs: values must lie in \[-128, 127\]; "
                             r"found 128 at \[9, 5\]$"):
        files.open_inputs(tmp_path / "bad.npy", cfg)
    np.save(tmp_path / "shape.npy", X[:, :3])
    with pytest.raises(files.InputError, match=r"shape must be \(N, rows=128\)"):
        files.open_inputs(tmp_path / "shape.npy", cfg)
    # Fortran order streams too, and is checked the same way.
    np.save(tmp_path / "f_bad.npy", np.asfortranarray(X))
    with pytest.raises(files.InputError, match=r"found 128 at \[9, 5\]$"):
        files.open_inputs(tmp_path / "f_bad.npy", cfg)
    X = np.asfortranarray(X[:3])
    np.save(tmp_path / "f.npy", X)
    rows = files.open_inputs(tmp_path / "f.npy", cfg)
    assert isinstance(rows, NpyRows) and np.array_equal(rows.read(), X)

"""Tests for astrocore.datasets: shapes, ranges, determinism, IDX parsing and
argument validation. Nothing here touches the network."""

from __future__ import annotations

import gzip
import hashlib
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from astrocore import datasets
from astrocore.datasets import TaskData


def _labels(y: np.ndarray) -> np.ndarray:
    return y.argmax(axis=1)


def _write_idx(path, array: np.ndarray, code: int, gz: bool = False) -> None:
    """Write ``array`` as an IDX file (big-endian data), optionally gzipped."""
    big = array.astype(array.dtype.newbyteorder(">"))
    raw = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw += big.tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)


# ---------------------------------------------------------------- TaskData
def test_taskdata_properties():
    x, y = np.zeros((5, 3)), np.eye(4)[[0, 1, 2, 3, 0]]
    task = TaskData("t", x, y, x[:2], y[:2], {})
    assert (task.n_features, task.n_outputs, task.n_classes) == (3, 4, 4)
    assert (task.n_train, task.n_test) == (5, 2)


def test_taskdata_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="x_train and y_train"):
        TaskData("t", np.zeros((5, 3)), np.zeros((4, 1)), np.zeros((2, 3)), np.zeros((2, 1)), {})
    with pytest.raises(ValueError, match="same number of columns"):
        TaskData("t", np.zeros((5, 3)), np.zeros((5, 1)), np.zeros((2, 4)), np.zeros((2, 1)), {})


# ---------------------------------------------------------------- parity
@settings(max_examples=20, deadline=None)
@given(n_bits=st.integers(2, 10))
def test_parity_is_the_full_xor_truth_table(n_bits):
    task = datasets.parity(n_bits)
    assert task.x_train.shape == (2**n_bits, n_bits)
    assert task.y_train.shape == (2**n_bits, 1)
    assert task.x_train.dtype == task.y_train.dtype == np.float64
    assert set(np.unique(task.x_train)) <= {0.0, 1.0}
    assert len(np.unique(task.x_train, axis=0)) == 2**n_bits
    np.testing.assert_array_equal(task.y_train[:, 0], task.x_train.sum(axis=1) % 2)
    np.testing.assert_array_equal(task.x_test, task.x_train)
    np.testing.assert_array_equal(task.y_test, task.y_train)
    assert task.n_classes == 2


def test_parity_splits_are_independent_copies():
    task = datasets.parity(3)
    assert not np.shares_memory(task.x_train, task.x_test)
    assert not np.shares_memory(task.y_train, task.y_test)


def test_parity_largest():
    task = datasets.parity(16)
    assert task.n_train == 65536 and task.y_train.mean() == 0.5


# ---------------------------------------------------------------- digits
def test_digits_shapes_range_and_one_hot():
    task = datasets.digits()
    assert task.n_train + task.n_test == 1797
    assert task.n_test == 450  # ceil(0.25 * 1797)
    assert (task.n_features, task.n_outputs, task.n_classes) == (64, 10, 10)
    for x in (task.x_train, task.x_test):
        assert x.dtype == np.float64 and x.min() == 0.0 and x.max() == 1.0
    for y in (task.y_train, task.y_test):
        assert set(np.unique(y)) == {0.0, 1.0}
        np.testing.assert_array_equal(y.sum(axis=1), 1.0)
    assert task.meta["split_seed"] == 0


def test_digits_split_is_stratified_and_fixed():
    task = datasets.digits(test_fraction=0.3, split_seed=7)
    train_share = np.bincount(_labels(task.y_train)) / task.n_train
    test_share = np.bincount(_labels(task.y_test)) / task.n_test
    np.testing.assert_allclose(train_share, test_share, atol=0.01)
    again = datasets.digits(test_fraction=0.3, split_seed=7)
    np.testing.assert_array_equal(task.x_train, again.x_train)
    np.testing.assert_array_equal(task.y_test, again.y_test)
    other = datasets.digits(test_fraction=0.3, split_seed=8)
    assert not np.array_equal(task.x_train, other.x_train)


# ---------------------------------------------------------------- MNIST-1D
def test_mnist1d_shapes_and_balance():
    task = datasets.mnist1d()
    assert task.x_train.shape == (4000, 40) and task.x_test.shape == (1000, 40)
    assert task.y_train.shape == (4000, 10)
    assert task.x_train.dtype == np.float64
    counts = np.bincount(_labels(np.vstack([task.y_train, task.y_test])), minlength=10)
    np.testing.assert_array_equal(counts, 500)
    assert np.bincount(_labels(task.y_train), minlength=10).min() >= 350
    x = np.vstack([task.x_train, task.x_test])
    assert abs(x.mean()) < 1e-12 and abs(x.std() - 1) < 1e-12
    assert np.all(np.isfinite(x))


def test_mnist1d_is_deterministic_per_seed():
    a = datasets.mnist1d(n_train=200, n_test=50, seed=3)
    b = datasets.mnist1d(n_train=200, n_test=50, seed=3)
    c = datasets.mnist1d(n_train=200, n_test=50, seed=4)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, c.x_train)


def test_mnist1d_resample_matches_np_interp():
    rng = np.random.default_rng(0)
    x, lengths = rng.standard_normal((4, 9)), np.array([2, 5, 8, 9])
    out = datasets._resample(x, lengths, 13)
    for row, n in zip(range(4), lengths, strict=True):
        grid = np.linspace(0, 1, n)
        expected = np.interp(np.linspace(0, 1, 13), grid, x[row, :n])
        np.testing.assert_allclose(out[row], expected, atol=1e-12)


def test_mnist1d_labels_carry_signal():
    """Logistic regression is clearly above chance (the paper reports ~32%)."""
    from sklearn.linear_model import LogisticRegression

    task = datasets.mnist1d()
    with threadpool_limits(limits=1):
        model = LogisticRegression(max_iter=500).fit(task.x_train, _labels(task.y_train))
    assert model.score(task.x_test, _labels(task.y_test)) > 0.2


# ---------------------------------------------------------------- read_idx
IDX_CASES = [
    (0x08, np.uint8, [[0, 1, 255], [7, 8, 9]]),
    (0x09, np.int8, [-128, 0, 127]),
    (0x0B, np.int16, [[-300], [300]]),
    (0x0C, np.int32, [[[-(2**31), 2**31 - 1]]]),
    (0x0D, np.float32, [1.5, -2.25]),
    (0x0E, np.float64, [[np.pi, -np.e]]),
]


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize(("code", "dtype", "values"), IDX_CASES)
def test_read_idx_round_trip(tmp_path, code, dtype, values, gz):
    array = np.array(values, dtype=dtype)
    path = tmp_path / "a.idx"
    _write_idx(path, array, code, gz=gz)
    out = datasets.read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, array)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.idx"):
        datasets.read_idx(tmp_path / "nope.idx")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "bad IDX magic"),
        (b"\x00", "bad IDX magic"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "unknown IDX dtype code 0x07"),
        (b"\x00\x00\x08\x02\x00\x00\x00\x02", "truncated IDX header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x03\x05\x06", "truncated IDX data"),
        (b"\x00\x00\x0c\x01\x00\x00\x00\x01\x05\x06", "truncated IDX data"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x05\x06", "trailing bytes"),
    ],
)
@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_read_idx_rejects_malformed_files(tmp_path, raw, message, gz):
    path = tmp_path / "bad.idx"
    path.write_bytes(gzip.compress(raw) if gz else raw)
    with pytest.raises(ValueError, match=message) as info:
        datasets.read_idx(path)
    assert "bad.idx" in str(info.value)


def test_read_idx_rejects_corrupt_gzip(tmp_path):
    path = tmp_path / "cut.idx.gz"
    path.write_bytes(gzip.compress(bytes(100))[:-10])
    with pytest.raises(ValueError, match="cut.idx.gz.*gzip"):
        datasets.read_idx(path)


# ---------------------------------------------------------------- Fashion-MNIST
def _fake_fashion_files(directory, rng) -> dict[str, str]:
    """Write small IDX files under the Fashion-MNIST names; return their SHA-256."""
    arrays = {
        "train-images-idx3-ubyte.gz": (rng.integers(0, 256, (6, 28, 28)), 0x08),
        "train-labels-idx1-ubyte.gz": (np.array([0, 1, 2, 9, 9, 5]), 0x08),
        "t10k-images-idx3-ubyte.gz": (rng.integers(0, 256, (3, 28, 28)), 0x08),
        "t10k-labels-idx1-ubyte.gz": (np.array([3, 4, 0]), 0x08),
    }
    hashes = {}
    for name, (array, code) in arrays.items():
        _write_idx(directory / name, array.astype(np.uint8), code, gz=True)
        hashes[name] = hashlib.sha256((directory / name).read_bytes()).hexdigest()
    return hashes


def test_fashion_mnist_registry_has_four_sha256_hashes():
    assert set(datasets.FASHION_MNIST_FILES) == {
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    }
    for digest in datasets.FASHION_MNIST_FILES.values():
        assert len(digest) == 64 and int(digest, 16) >= 0


def test_fashion_mnist_missing_files_explain_how_to_fetch(tmp_path):
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"")
    with pytest.raises(FileNotFoundError) as info:
        datasets.fashion_mnist(data_dir=tmp_path)
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz" in message
    assert "t10k-labels-idx1-ubyte.gz" in message
    assert "train-labels-idx1-ubyte.gz" not in message
    assert "snakemake fashion_mnist" in message and "download=True" in message


def test_fashion_mnist_hash_mismatch_names_the_file(tmp_path):
    _fake_fashion_files(tmp_path, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte\.gz: SHA-256"):
        datasets.fashion_mnist(data_dir=tmp_path)


def test_fashion_mnist_reads_verified_files(tmp_path, monkeypatch):
    hashes = _fake_fashion_files(tmp_path, np.random.default_rng(0))
    monkeypatch.setattr(datasets, "FASHION_MNIST_FILES", hashes)
    task = datasets.load("fashion_mnist", data_dir=str(tmp_path))
    assert task.x_train.shape == (6, 784) and task.x_test.shape == (3, 784)
    assert task.x_train.dtype == np.float64
    assert 0.0 <= task.x_train.min() and task.x_train.max() <= 1.0
    np.testing.assert_array_equal(_labels(task.y_train), [0, 1, 2, 9, 9, 5])
    np.testing.assert_array_equal(_labels(task.y_test), [3, 4, 0])
    assert task.n_classes == 10
    raw = datasets.read_idx(tmp_path / "train-images-idx3-ubyte.gz")
    np.testing.assert_allclose(task.x_train[0], raw[0].ravel() / 255.0)


# ---------------------------------------------------------------- load and validation
def test_load_dispatches_by_name():
    task = datasets.load("parity", n_bits=4)
    assert task.name == "parity" and task.n_train == 16
    assert task.meta["n_bits"] == 4
    assert datasets.load("mnist1d", n_train=20, n_test=10).n_features == 40


@pytest.mark.parametrize("name", ["mnist", "", None, "Parity"])
def test_load_rejects_unknown_names(name):
    with pytest.raises(ValueError, match="parity.*digits.*mnist1d.*fashion_mnist"):
        datasets.load(name)


@pytest.mark.parametrize(
    ("call", "kwargs", "message"),
    [
        (datasets.parity, {"n_bits": 1}, r"n_bits must be an integer in \[2, 16\], got 1"),
        (datasets.parity, {"n_bits": 17}, r"n_bits must be an integer in \[2, 16\], got 17"),
        (datasets.parity, {"n_bits": 3.0}, r"n_bits must be .*, got 3\.0"),
        (datasets.parity, {"n_bits": True}, r"n_bits must be .*, got True"),
        (datasets.digits, {"test_fraction": 0}, r"test_fraction must be a real number in \(0, 1\), got 0"),
        (datasets.digits, {"test_fraction": 1.0}, "test_fraction must be .*got 1.0"),
        (datasets.digits, {"test_fraction": 0.001}, "test_fraction must be .*got 0.001"),
        (datasets.digits, {"test_fraction": "0.2"}, "test_fraction must be .*got '0.2'"),
        (datasets.digits, {"split_seed": -1}, "split_seed must be a non-negative int, got -1"),
        (datasets.mnist1d, {"n_train": 0}, "n_train must be a positive integer, got 0"),
        (datasets.mnist1d, {"n_test": 2.5}, "n_test must be a positive integer, got 2.5"),
        (datasets.mnist1d, {"seed": -3}, "seed must be a non-negative int, got -3"),
        (datasets.fashion_mnist, {"download": "yes"}, r"download must be a bool \(True or False\), got 'yes'"),
        (datasets.fashion_mnist, {"data_dir": 3}, "data_dir must be an instance of str or PathLike, got 3"),
    ],
)
def test_bad_arguments_raise_value_error(call, kwargs, message):
    with pytest.raises(ValueError, match=message):
        call(**kwargs)


# ---------------------------------------------------------------- declared validation (issue 10)
@pytest.mark.parametrize(("x", "message"), [
    (np.where(np.arange(12).reshape(4, 3) == 7, np.nan, 0.0), r"x_train must be finite, got nan at index \(2, 1\)"),
    (np.zeros((0, 3)), r"x_train must not be empty, got shape \(0, 3\)"),
    (np.full((4, 3), "a"), r"x_train must be a real-valued 2-d array .*got dtype <U1"),
])
def test_taskdata_checks_its_arrays(x, message):
    y = np.zeros((len(x), 1))
    with pytest.raises(ValueError, match=message):
        TaskData("t", x, y, np.zeros((2, 3)), np.zeros((2, 1)), {})


def test_taskdata_converts_integer_arrays_to_float64():
    task = TaskData("t", np.ones((4, 3), dtype=int), np.zeros((4, 1), dtype=bool), np.ones((2, 3)), np.zeros((2, 1)),
                    {})
    assert task.x_train.dtype == task.y_train.dtype == np.float64


def test_mnist1d_refuses_a_request_beyond_memory_before_allocating():
    from astrocore.validation import MemoryRequestError  # noqa: PLC0415

    with pytest.raises(MemoryRequestError, match=r"^n_train=1000000000 needs about .* TiB .*reduce n_train"):
        datasets.mnist1d(n_train=10**9)
    with pytest.raises(MemoryRequestError, match=r"^n_test=10000000000 needs about"):
        datasets.load("mnist1d", n_test=10**10)


def test_load_names_the_keywords_a_loader_takes():
    with pytest.raises(ValueError, match=r"load\('parity'\) got unknown keyword\(s\) \['bits'\]; parity takes "
                                         r"\('n_bits',\)"):
        datasets.load("parity", bits=4)


def test_fashion_mnist_data_dir_must_be_a_directory(tmp_path):
    target = tmp_path / "raw"
    target.write_text("not a folder")
    with pytest.raises(ValueError, match=r"data_dir must be a directory, got the file .*raw"):
        datasets.fashion_mnist(data_dir=target)
    with pytest.raises(ValueError, match=r"download must be a bool \(True or False\), got 1"):
        datasets.fashion_mnist(data_dir=tmp_path, download=1)


def test_read_idx_names_a_bad_path():
    with pytest.raises(ValueError, match=r"path must be an instance of str or PathLike, got None"):
        datasets.read_idx(None)

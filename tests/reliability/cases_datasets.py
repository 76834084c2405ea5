"""Bad inputs of the classification tasks (astrocore.datasets): loaders, TaskData, read_idx.

Only the API that predates issue 10 is called (parity, digits, mnist1d,
fashion_mnist, load, read_idx, TaskData), so the same case classifies an
older checkout. Fashion-MNIST cases never reach the network: they fail on
their arguments first (or on a scratch folder).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

from astrocore import datasets
from astrocore.datasets import TaskData

from .case import Case


def _task(x_train=None, y_train=None):
    x = np.zeros((4, 3)) if x_train is None else x_train
    y = np.zeros((4, 1)) if y_train is None else y_train
    return TaskData("t", x, y, np.zeros((2, x.shape[1] if x.ndim == 2 else 3)), np.zeros((2, 1)), {})


def _nan_inputs():
    x = np.zeros((4, 3))
    x[2, 1] = np.nan
    return _task(x)


def _data_dir_is_a_file():
    folder = Path(tempfile.mkdtemp(prefix="astrocore-datasets-case-"))
    try:
        target = folder / "raw"
        target.write_text("not a folder")
        return datasets.fashion_mnist(data_dir=target)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _fashion_download_string():
    folder = Path(tempfile.mkdtemp(prefix="astrocore-datasets-case-"))
    try:
        return datasets.fashion_mnist(data_dir=folder, download="no")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


CASES = [
    # ---- defect 5: requests that cannot be met
    Case("datasets/mnist1d-a-billion-samples", lambda: datasets.mnist1d(n_train=10**9),
         names=("n_train", "needs about"), defect=5, timeout=10),
    Case("datasets/mnist1d-ten-billion-test-samples", lambda: datasets.mnist1d(n_test=10**10),
         names=("n_test", "needs about"), defect=5, timeout=10),
    Case("datasets/load-mnist1d-a-billion-samples", lambda: datasets.load("mnist1d", n_train=10**9, n_test=10),
         names=("n_train", "needs about"), defect=5, timeout=10),
    # ---- defect 3: bool flags
    Case("datasets/fashion-mnist-download-string", _fashion_download_string, names=("download", "'no'"), defect=3),
    Case("datasets/fashion-mnist-download-int", lambda: datasets.fashion_mnist(download=1),
         names=("download", "1"), defect=3),
    # ---- defect 4: NaN and empty data
    Case("datasets/taskdata-nan-input", _nan_inputs, names=("x_train", "finite", "(2, 1)"), defect=4),
    Case("datasets/taskdata-empty-training-set", lambda: _task(np.zeros((0, 3)), np.zeros((0, 1))),
         names=("x_train", "empty"), defect=4),
    Case("datasets/taskdata-inf-target", lambda: _task(y_train=np.full((4, 1), np.inf)),
         names=("y_train", "finite"), defect=4),
    Case("datasets/taskdata-string-inputs", lambda: _task(np.full((4, 3), "a")), names=("x_train", "dtype")),
    # ---- defect 8: odd cases accepted
    Case("datasets/load-unknown-keyword", lambda: datasets.load("parity", bits=4),
         names=("bits", "n_bits"), defect=8),
    Case("datasets/fashion-mnist-data-dir-is-a-file", _data_dir_is_a_file, names=("data_dir", "directory"),
         defect=8),
    # ---- wrong types, out-of-range values, unknown choices, NaN scalars, bools for numbers
    Case("datasets/parity-bits-float", lambda: datasets.parity(4.0), names=("n_bits", "4.0")),
    Case("datasets/parity-bits-bool", lambda: datasets.parity(True), names=("n_bits", "True")),
    Case("datasets/parity-bits-17", lambda: datasets.parity(17), names=("n_bits", "16")),
    Case("datasets/digits-test-fraction-nan", lambda: datasets.digits(test_fraction=float("nan")),
         names=("test_fraction", "nan")),
    Case("datasets/digits-split-seed-float", lambda: datasets.digits(split_seed=1.5), names=("split_seed", "1.5")),
    Case("datasets/mnist1d-seed-string", lambda: datasets.mnist1d(10, 10, seed="42"), names=("seed", "'42'")),
    Case("datasets/load-unknown-name", lambda: datasets.load("mnist"), names=("name", "parity", "mnist1d")),
    Case("datasets/read-idx-path-none", lambda: datasets.read_idx(None), names=("path", "None")),
]

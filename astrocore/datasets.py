"""Classification tasks used by the experiments, as :class:`TaskData`.

- :func:`parity`: the full truth table of n-bit parity (XOR), the task of the
  Multiplexed Gradient Descent papers; train and test are the same table.
- :func:`digits`: scikit-learn's bundled 8x8 handwritten digits (no network),
  with a fixed stratified train/test split.
- :func:`mnist1d`: MNIST-1D (Greydanus & Kobak, ICML 2024), generated offline
  by this module's own implementation of the published recipe.
- :func:`fashion_mnist`: Fashion-MNIST (Xiao, Rasul & Vollgraf 2017) from its
  IDX files, fetched through pooch and checked against SHA-256 hashes.

:func:`load` picks one by name, and :func:`read_idx` reads the IDX format.
Inputs are kept as described per task (no extra standardisation). Targets are
float64: one-hot columns for multiclass tasks, one 0/1 column for parity.
Every random draw comes from ``numpy.random.default_rng(seed)`` with a seed
given by the caller, never from global random state.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pooch
from scipy.ndimage import gaussian_filter1d

from .validation import (Array, Bool, Choice, InstanceOf, Integer, InvalidParameterError, Real, Seed,
                         check_memory, validate_params)

_PATH = InstanceOf(str, os.PathLike, example=lambda: "data/raw")


@dataclass(frozen=True, eq=False)
class TaskData:
    """A classification task: train and test inputs with their targets.

    ``x_*`` are ``(n, n_features)`` and ``y_*`` ``(n, n_outputs)`` float64
    arrays, finite and non-empty (integer input becomes float64); ``y`` is
    one-hot for multiclass tasks and a single 0/1 column for binary ones.
    ``meta`` records where the data came from.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    meta: dict

    @validate_params({"name": InstanceOf(str, example=lambda: "task"), "x_train": Array(2, dtype="float64"),
                      "y_train": Array(2, dtype="float64"), "x_test": Array(2, dtype="float64"),
                      "y_test": Array(2, dtype="float64"), "meta": InstanceOf(dict, example=dict)})
    def __init__(self, name: str, x_train, y_train, x_test, y_test, meta: dict):
        for key, value in (("name", name), ("x_train", x_train), ("y_train", y_train), ("x_test", x_test),
                           ("y_test", y_test), ("meta", meta)):
            object.__setattr__(self, key, value)
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
                raise InvalidParameterError(
                    f"x_{split} and y_{split} must be 2-D with the same number of "
                    f"rows, got shapes {x.shape} and {y.shape}"
                )
        if self.x_train.shape[1] != self.x_test.shape[1] or (
            self.y_train.shape[1] != self.y_test.shape[1]
        ):
            raise InvalidParameterError(
                "train and test must have the same number of columns, got "
                f"x {self.x_train.shape[1]}/{self.x_test.shape[1]} and "
                f"y {self.y_train.shape[1]}/{self.y_test.shape[1]}"
            )

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    @property
    def n_outputs(self) -> int:
        return self.y_train.shape[1]

    @property
    def n_classes(self) -> int:
        """Number of classes: 2 for a single 0/1 column, else ``n_outputs``."""
        return 2 if self.n_outputs == 1 else self.n_outputs

    @property
    def n_train(self) -> int:
        return self.x_train.shape[0]

    @property
    def n_test(self) -> int:
        return self.x_test.shape[0]


def _one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    return np.eye(n_classes)[labels]


# ---------------------------------------------------------------- parity
@validate_params({"n_bits": Integer(2, 16)})
def parity(n_bits: int) -> TaskData:
    """The n-bit parity task: all ``2**n_bits`` patterns, target = XOR of the bits.

    Inputs are 0/1 (row ``i`` is the binary expansion of ``i``, most significant
    bit first); the target is one 0/1 column, the sum of the bits mod 2. As in
    the Multiplexed Gradient Descent papers, train and test are both the full
    truth table (independent copies). ``n_bits`` must be in [2, 16].
    """
    patterns = np.arange(2**n_bits)[:, None] >> np.arange(n_bits - 1, -1, -1)
    x = (patterns & 1).astype(np.float64)
    y = (x.sum(axis=1, keepdims=True) % 2).astype(np.float64)
    meta = {"source": "generated: full truth table of n-bit parity", "n_bits": n_bits}
    return TaskData("parity", x, y, x.copy(), y.copy(), meta)


# ---------------------------------------------------------------- digits
@validate_params({"test_fraction": Real(0, 1, closed="neither"), "split_seed": Seed()})
def digits(test_fraction: float = 0.25, split_seed: int = 0) -> TaskData:
    """scikit-learn's bundled 8x8 digits (1797 images, 10 classes; no network).

    Pixels (0..16) are divided by 16, so inputs lie in [0, 1]; 64 features.
    The split is fixed and stratified by class:
    ``sklearn.model_selection.train_test_split(..., test_size=test_fraction,
    stratify=labels, random_state=split_seed)``. Targets are one-hot.
    ``test_fraction`` must leave at least one sample per class on each side.
    """
    from sklearn.datasets import load_digits  # noqa: PLC0415 - heavy import
    from sklearn.model_selection import train_test_split  # noqa: PLC0415

    images, labels = load_digits(return_X_y=True)
    n, n_classes = len(labels), 10
    n_test = math.ceil(test_fraction * n)
    if not n_classes <= n_test <= n - n_classes:
        raise InvalidParameterError(
            f"test_fraction must be a float in (0, 1) leaving at least {n_classes} of "
            f"the {n} samples (one per class) in each split, got {test_fraction!r}"
        )
    x_train, x_test, l_train, l_test = train_test_split(
        images / 16.0,
        labels,
        test_size=float(test_fraction),
        stratify=labels,
        random_state=split_seed,
    )
    meta = {
        "source": "sklearn.datasets.load_digits",
        "test_fraction": float(test_fraction),
        "split_seed": split_seed,
    }
    return TaskData(
        "digits",
        x_train.astype(np.float64),
        _one_hot(l_train, n_classes),
        x_test.astype(np.float64),
        _one_hot(l_test, n_classes),
        meta,
    )


# ---------------------------------------------------------------- MNIST-1D
# Hand-designed 1-D digit templates of Greydanus & Kobak (mnist1d/data.py).
_MNIST1D_TEMPLATES = np.array(
    [
        [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5],
        [5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5],
        [5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5],
        [5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5],
        [5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5],
        [5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5],
        [5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5],
        [5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5],
        [5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5],
        [5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5],
    ]
)

# The reference generator's default arguments (mnist1d.data.get_dataset_args).
MNIST1D_ARGS = {
    "template_len": 12,
    "padding": (36, 60),
    "scale_coeff": 0.4,
    "max_translation": 48,
    "corr_noise_scale": 0.25,
    "iid_noise_scale": 2e-2,
    "shear_scale": 0.75,
    "final_seq_length": 40,
}


def _resample(x: np.ndarray, lengths: np.ndarray, n_out: int) -> np.ndarray:
    """Linear interpolation of each row's first ``lengths[i]`` values onto
    ``n_out`` evenly spaced points (both ends kept), like ``interp1d``."""
    pos = np.linspace(0.0, 1.0, n_out) * (lengths[:, None] - 1)
    left = np.minimum(np.floor(pos).astype(int), lengths[:, None] - 2)
    frac = pos - left
    rows = np.arange(len(x))[:, None]
    return (1 - frac) * x[rows, left] + frac * x[rows, left + 1]


#: Bytes a generated MNIST-1D sample needs at the peak of :func:`mnist1d` (about a dozen
#: float64 work arrays of the 72-point signal, plus the 40 features and 10 targets kept).
MNIST1D_BYTES_PER_SAMPLE = 8 * (12 * 72 + 2 * 50)


@validate_params({"n_train": Integer(1), "n_test": Integer(1), "seed": Seed()})
def mnist1d(n_train: int = 4000, n_test: int = 1000, seed: int = 42) -> TaskData:
    """MNIST-1D, generated offline: 40-sample 1-D signals in 10 classes.

    Implements the recipe of Greydanus & Kobak, "Scaling down deep learning
    with MNIST-1D" (ICML 2024), following the reference generator
    github.com/greydanus/mnist1d (``mnist1d/data.py`` and
    ``mnist1d/transform.py``, Apache-2.0), rewritten here and vectorised.
    Each sample starts from one of the 10 hand-designed length-12 templates
    (centred, scaled to unit std, shifted to start at 0, divided by 6) and is

    1. padded with 36..60 zeros and linearly stretched to 72 points,
    2. scaled by a factor uniform in 1 +/- 0.2 (``scale_coeff`` 0.4),
    3. circularly translated by 0..47 points,
    4. given correlated noise (Gaussian, std 0.25, smoothed with a Gaussian
       filter of sigma 2) where the signal is zero, then iid Gaussian noise
       (std 0.02) everywhere,
    5. sheared by adding a line of slope uniform in +/- 0.375,
    6. linearly resampled to 40 points.

    Labels are balanced (``n % 10`` leftover samples go to the lowest digits)
    and shuffled; as in the reference, the whole generated set is then
    standardised by one scalar mean and std (so values are roughly zero-mean,
    unit-variance, unbounded) and split into the first ``n_train`` and last
    ``n_test`` samples. The defaults (5000 samples, 80/20 split, seed 42) are
    the reference's. Randomness comes from ``numpy.random.default_rng(seed)``
    instead of the reference's global ``np.random.seed``, so the numbers are
    not those of the published pickle, but the distribution is the same.
    Targets are one-hot.
    """
    name = "n_train" if n_train >= n_test else "n_test"
    check_memory(name, n_train if name == "n_train" else n_test,
                 float(n_train + n_test) * MNIST1D_BYTES_PER_SAMPLE,
                 f"{n_train + n_test:.3g} samples (n_train + n_test) x {MNIST1D_BYTES_PER_SAMPLE} bytes "
                 "of work arrays each")
    a = MNIST1D_ARGS
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    labels = rng.permutation(np.arange(n) % 10)

    templates = _MNIST1D_TEMPLATES - _MNIST1D_TEMPLATES.mean(axis=1, keepdims=True)
    templates /= templates.std(axis=1, keepdims=True)
    templates = (templates - templates[:, :1]) / 6.0

    # 1. pad and stretch; the tiny offset keeps the template itself non-zero,
    #    so that step 4 can tell signal from padding.
    low, high = a["padding"]
    width = a["template_len"] + high
    lengths = a["template_len"] + rng.integers(low, high + 1, size=n)
    x = np.zeros((n, width))
    x[:, : a["template_len"]] = templates[labels] + 1e-8
    x = _resample(x, lengths, width)
    # 2. scale
    x *= 1 + a["scale_coeff"] * (rng.random((n, 1)) - 0.5)
    # 3. translate (circular shift to the right)
    shift = rng.integers(0, a["max_translation"], size=(n, 1))
    x = x[np.arange(n)[:, None], (np.arange(width) - shift) % width]
    # 4. correlated noise on the padding, iid noise everywhere
    corr = gaussian_filter1d(a["corr_noise_scale"] * rng.standard_normal((n, width)), 2, axis=1)
    x = np.where(x != 0, x, corr)
    x += a["iid_noise_scale"] * rng.standard_normal((n, width))
    # 5. shear
    x -= a["shear_scale"] * (rng.random((n, 1)) - 0.5) * np.linspace(-0.5, 0.5, width)
    # 6. resample to the final length
    x = _resample(x, np.full(n, width), a["final_seq_length"])

    x = (x - x.mean()) / x.std()
    y = _one_hot(labels, 10)
    meta = {
        "source": "generated: MNIST-1D recipe (Greydanus & Kobak 2024, "
        "github.com/greydanus/mnist1d)",
        "seed": seed,
        **a,
    }
    return TaskData("mnist1d", x[:n_train], y[:n_train], x[n_train:], y[n_train:], meta)


# ---------------------------------------------------------------- IDX files
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


@validate_params({"path": _PATH})
def read_idx(path) -> np.ndarray:
    """Read an IDX file (the MNIST / Fashion-MNIST format), gzipped or plain.

    Format (yann.lecun.com/exdb/mnist): two zero bytes, a dtype code (0x08
    ubyte, 0x09 byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double), the
    number of dimensions, one big-endian uint32 per dimension, then the data,
    big-endian, row-major. Gzip is detected by its magic bytes. Returns a
    native-byte-order array of that dtype and shape.

    Raises FileNotFoundError when the file is missing and ValueError, naming
    the file, for a bad gzip stream, a bad magic number, an unknown dtype code,
    or data shorter or longer than the header promises.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file not found: {path}")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(f"{path}: corrupt gzip stream ({err})") from err
    if len(raw) < 4 or raw[:2] != b"\x00\x00":
        raise ValueError(
            f"{path}: bad IDX magic number {raw[:4].hex()!r}; expected two zero bytes, "
            "a dtype code and the number of dimensions"
        )
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        allowed = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise ValueError(f"{path}: unknown IDX dtype code 0x{code:02X}; allowed: {allowed}")
    dtype = _IDX_DTYPES[code]
    start = 4 + 4 * ndim
    if len(raw) < start:
        raise ValueError(
            f"{path}: truncated IDX header: {ndim} dimensions need {start} bytes, "
            f"file has {len(raw)}"
        )
    shape = struct.unpack(f">{ndim}I", raw[4:start])
    expected = math.prod(shape) * dtype.itemsize
    found = len(raw) - start
    if found != expected:
        what = "truncated IDX data" if found < expected else "trailing bytes after IDX data"
        raise ValueError(
            f"{path}: {what}: header promises shape {shape} of {dtype.name} "
            f"({expected} bytes), found {found} bytes"
        )
    data = np.frombuffer(raw, dtype=dtype, count=math.prod(shape), offset=start)
    return data.reshape(shape).astype(dtype.newbyteorder("="))


# ---------------------------------------------------------------- Fashion-MNIST
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"

# SHA-256 of the files served at FASHION_MNIST_URL, as recorded by
# torchvision (prototype/datasets/_builtin/mnist.py) and batchup
# (datasets/fashion_mnist.py); they belong to the files whose MD5s are
# published in the zalandoresearch/fashion-mnist README.
FASHION_MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}


def _fashion_mnist_paths(data_dir: Path, download: bool) -> dict[str, Path]:
    """Paths of the four verified files, downloading them only if allowed."""
    if download:
        fetcher = pooch.create(
            path=data_dir,
            base_url=FASHION_MNIST_URL,
            registry={name: f"sha256:{h}" for name, h in FASHION_MNIST_FILES.items()},
        )
        return {name: Path(fetcher.fetch(name)) for name in FASHION_MNIST_FILES}
    paths = {name: data_dir / name for name in FASHION_MNIST_FILES}
    missing = [name for name, p in paths.items() if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"Fashion-MNIST files missing from {data_dir}: {', '.join(missing)}. "
            "Run `snakemake fashion_mnist` (opt-in target) or call "
            "fashion_mnist(download=True) to fetch them."
        )
    for name, p in paths.items():
        found = pooch.file_hash(str(p), alg="sha256")
        if found != FASHION_MNIST_FILES[name]:
            raise ValueError(
                f"{p}: SHA-256 {found} does not match the expected "
                f"{FASHION_MNIST_FILES[name]}; the file is corrupt or not the "
                "published one. Delete it and run `snakemake fashion_mnist` or "
                "fashion_mnist(download=True)."
            )
    return paths


@validate_params({"data_dir": _PATH, "download": Bool()})
def fashion_mnist(data_dir="data/raw", download: bool = False) -> TaskData:
    """Fashion-MNIST: 60000 train / 10000 test 28x28 grey images, 10 classes.

    Reads the four gzipped IDX files (``train-images-idx3-ubyte.gz`` and so
    on) from ``data_dir``, each checked against its SHA-256 hash. With
    ``download=True`` missing or mismatching files are fetched through pooch
    from the Zalando Research bucket (``FASHION_MNIST_URL``); with
    ``download=False`` (the default) missing files raise FileNotFoundError and
    a hash mismatch raises ValueError, both naming the file. Pixels (0..255)
    are divided by 255, so inputs lie in [0, 1], flattened to 784 features;
    targets are one-hot. Source: Xiao, Rasul & Vollgraf (2017),
    github.com/zalandoresearch/fashion-mnist.
    """
    data_dir = Path(data_dir)
    if data_dir.exists() and not data_dir.is_dir():
        raise InvalidParameterError(f"data_dir must be a directory, got the file {data_dir}")
    paths = _fashion_mnist_paths(data_dir, download)

    def split(prefix: str) -> tuple[np.ndarray, np.ndarray]:
        images = read_idx(paths[f"{prefix}-images-idx3-ubyte.gz"])
        labels = read_idx(paths[f"{prefix}-labels-idx1-ubyte.gz"])
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"{data_dir}: {prefix} images {images.shape} and labels "
                f"{labels.shape} do not form a (n, rows, cols) / (n,) pair"
            )
        if labels.size and not 0 <= labels.min() <= labels.max() <= 9:
            raise ValueError(f"{data_dir}: {prefix} labels must lie in 0..9")
        x = images.reshape(len(images), -1).astype(np.float64) / 255.0
        return x, _one_hot(labels.astype(np.intp), 10)

    x_train, y_train = split("train")
    x_test, y_test = split("t10k")
    meta = {
        "source": FASHION_MNIST_URL,
        "data_dir": str(data_dir),
        "sha256": dict(FASHION_MNIST_FILES),
    }
    return TaskData("fashion_mnist", x_train, y_train, x_test, y_test, meta)


# ---------------------------------------------------------------- registry
_LOADERS = {
    "parity": parity,
    "digits": digits,
    "mnist1d": mnist1d,
    "fashion_mnist": fashion_mnist,
}


@validate_params({"name": Choice(tuple(_LOADERS))})
def load(name: str, **kwargs) -> TaskData:
    """The task called ``name`` (one of ``parity``, ``digits``, ``mnist1d``,
    ``fashion_mnist``), built with ``kwargs`` (the loader's own parameters; an
    unknown keyword is an error naming the ones it takes)."""
    loader = _LOADERS[name]
    import inspect  # noqa: PLC0415

    allowed = tuple(inspect.signature(loader).parameters)
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise InvalidParameterError(f"load({name!r}) got unknown keyword(s) {unknown}; {name} takes "
                                    f"{allowed if allowed else 'no keywords'}")
    return loader(**kwargs)

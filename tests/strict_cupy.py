"""A strict stand-in for CuPy on the CPU: device arrays that refuse to meet host arrays.

CuPy raises where code mixes host (NumPy) and device arrays: ``np.asarray(d)``
(implicit transfer to the host), a CuPy function or operator given a NumPy
array, a NumPy array written into a CuPy one. Code that runs on NumPy alone
hides every such mistake. This module imitates those refusals with NumPy
underneath, so the CuPy path of the library can be exercised on a machine
without a GPU:

- :class:`DeviceArray` wraps an ndarray; ``__array__`` raises (use ``.get()``
  or ``cupy.asnumpy``), operators and ``numpy`` ufuncs/functions accept device
  arrays and Python or NumPy scalars only, and return device arrays;
- :func:`module` builds the ``cupy`` / ``cupyx.scipy.sparse`` stand-ins:
  ``asarray``/``array`` move host data to the device, every other function
  refuses host arrays, ``random.default_rng`` gives a generator of device
  arrays, ``csr_matrix`` a device CSR matrix.

It checks where arrays live, not speed and not CuPy's numerics; the real
check runs on a GPU (``python -m astrocore.bench gpu``).
"""

from __future__ import annotations

import sys
import types

import numpy as np
import scipy.sparse as sp
from numpy.lib.mixins import NDArrayOperatorsMixin


class HostDeviceMixError(TypeError):
    """A host array met a device array where CuPy would refuse it."""


def _is_host(value) -> bool:
    return isinstance(value, np.ndarray) or sp.issparse(value)


def _unwrap(value, where: str, allow_host: bool = False):
    """Device arrays to their ndarrays (recursively in lists/tuples/dicts); host arrays refused."""
    if isinstance(value, DeviceArray):
        return value._a
    if isinstance(value, DeviceCSR):
        return value._m
    if _is_host(value) and not allow_host:
        raise HostDeviceMixError(f"{where}: a host (NumPy) array of shape {value.shape} where CuPy needs a device "
                                 "array (move it with xp.asarray, or keep it on the host)")
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v, where, allow_host) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v, where, allow_host) for k, v in value.items()}
    return value


def _wrap(value):
    if isinstance(value, np.ndarray):
        return DeviceArray(value)
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


class DeviceArray(NDArrayOperatorsMixin):
    """An ndarray standing in for a ``cupy.ndarray`` (module docstring)."""

    __slots__ = ("_a",)
    __module__ = "cupy"  # what astrocore.validation reads to pick the array namespace
    created = 0
    """Device arrays made so far (a test checks that the code under test ran on the device at all)."""

    def __init__(self, a):
        self._a = a
        DeviceArray.created += 1

    def __array__(self, dtype=None, copy=None):
        raise HostDeviceMixError("implicit conversion of a device array to a NumPy array (CuPy refuses it: "
                                 "use .get() or backend.to_host)")

    def get(self):
        return self._a.copy()

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        where = f"numpy.{ufunc.__name__}"
        args = _unwrap(inputs, where)
        if out is not None:
            kwargs["out"] = tuple(_unwrap(o, where) for o in out)
        result = getattr(ufunc, method)(*args, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func, types_, args, kwargs):
        where = f"numpy.{func.__name__}"
        return _wrap(func(*_unwrap(args, where), **_unwrap(kwargs, where)))

    def __getitem__(self, index):
        return _wrap(self._a[_unwrap(index, "indexing", allow_host=True)])

    def __setitem__(self, index, value):
        self._a[_unwrap(index, "indexing", allow_host=True)] = _unwrap(value, "assignment into a device array")

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (_wrap(row) for row in self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __index__(self):
        return self._a.__index__()

    def __bool__(self):
        return bool(self._a)

    def __repr__(self):
        return f"device({self._a!r})"

    def __matmul__(self, other):
        return _wrap(self._a @ _unwrap(other, "@"))

    def __rmatmul__(self, other):
        return _wrap(_unwrap(other, "@") @ self._a)

    def __getattr__(self, name):
        if name.startswith("__"):  # no __array_interface__ or __array_struct__: NumPy would read the memory
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if callable(attr):
            def method(*args, **kwargs):
                where = f"ndarray.{name}"
                return _wrap(attr(*_unwrap(args, where), **_unwrap(kwargs, where)))
            return method
        return _wrap(attr)


class DeviceCSR:
    """A ``cupyx.scipy.sparse.csr_matrix`` stand-in: a SciPy CSR matrix with device ``data``/``indices``."""

    def __init__(self, m):
        m = sp.csr_matrix(m)
        self._m = m
        self.shape, self.dtype, self.nnz = m.shape, m.dtype, m.nnz

    @property
    def data(self):
        return DeviceArray(self._m.data)

    @property
    def indices(self):
        return DeviceArray(self._m.indices)

    @property
    def indptr(self):
        return DeviceArray(self._m.indptr)

    def __matmul__(self, other):
        return _wrap(np.asarray(self._m @ _unwrap(other, "sparse @")))

    def dot(self, other):
        return self @ other

    @property
    def T(self):
        return DeviceCSR(self._m.T.tocsr())

    def get(self):
        return self._m.copy()


class _Generator:
    """``cupy.random.Generator`` stand-in: NumPy's generator, device results."""

    def __init__(self, seed):
        self._g = np.random.default_rng(seed)

    def __getattr__(self, name):
        attr = getattr(self._g, name)

        def draw(*args, out=None, **kwargs):
            args, kwargs = _unwrap(args, f"Generator.{name}"), _unwrap(kwargs, f"Generator.{name}")
            if out is not None:
                attr(*args, out=_unwrap(out, f"Generator.{name}"), **kwargs)
                return out
            return _wrap(attr(*args, **kwargs))
        return draw


def _asarray(a, dtype=None, **kwargs):
    if isinstance(a, DeviceArray):
        return a if dtype is None or a._a.dtype == np.dtype(dtype) else DeviceArray(a._a.astype(dtype))
    return DeviceArray(np.array(_unwrap(a, "asarray", allow_host=True), dtype=dtype, **kwargs))


def _array(a, dtype=None, copy=True, **kwargs):
    return DeviceArray(np.array(_unwrap(a, "array", allow_host=True), dtype=dtype, copy=True, **kwargs))


def _asnumpy(a):
    return a.get() if isinstance(a, (DeviceArray, DeviceCSR)) else np.asarray(a)


class _Namespace(types.ModuleType):
    """``cupy``: NumPy's functions with CuPy's refusals."""

    def __getattr__(self, name):
        attr = getattr(np, name)
        if isinstance(attr, type) or not callable(attr):
            return attr

        def function(*args, **kwargs):
            where = f"cupy.{name}"
            return _wrap(attr(*_unwrap(args, where), **_unwrap(kwargs, where)))
        function.__name__ = name
        return function


def module() -> dict[str, types.ModuleType]:
    """The stand-in modules by name, for ``sys.modules``: cupy, cupy.random, cupyx, cupyx.scipy(.sparse)."""
    cupy = _Namespace("cupy")
    cupy.ndarray = DeviceArray
    cupy.asarray, cupy.array, cupy.asnumpy = _asarray, _array, _asnumpy
    cupy.float32, cupy.float64, cupy.int8, cupy.int64, cupy.uint8 = (np.float32, np.float64, np.int8, np.int64,
                                                                     np.uint8)
    cupy.newaxis, cupy.pi, cupy.inf, cupy.nan = None, np.pi, np.inf, np.nan
    random = types.ModuleType("cupy.random")
    random.default_rng = _Generator
    random.Generator = _Generator
    cupy.random = random
    cuda = types.ModuleType("cupy.cuda")
    cuda.runtime = types.SimpleNamespace(
        getDeviceCount=lambda: 1, runtimeGetVersion=lambda: 0,
        getDeviceProperties=lambda i: {"name": "strict CuPy stand-in (CPU)", "totalGlobalMem": 0})
    cuda.Device = lambda *a: types.SimpleNamespace(synchronize=lambda: None)
    cupy.cuda = cuda
    cupy.__version__ = "13.0.0"  # what xarray and the GPU check read (a version string it can parse)
    cupyx = types.ModuleType("cupyx")
    scipy_ = types.ModuleType("cupyx.scipy")
    sparse = types.ModuleType("cupyx.scipy.sparse")
    sparse.csr_matrix = DeviceCSR
    sparse.issparse = lambda m: isinstance(m, DeviceCSR)
    cupyx.scipy, scipy_.sparse = scipy_, sparse
    return {"cupy": cupy, "cupy.random": random, "cupy.cuda": cuda, "cupyx": cupyx, "cupyx.scipy": scipy_,
            "cupyx.scipy.sparse": sparse}


def install(monkeypatch) -> types.ModuleType:
    """Put the stand-in in ``sys.modules`` for one test (pytest's monkeypatch); returns the ``cupy`` stand-in."""
    modules = module()
    for name, mod in modules.items():
        monkeypatch.setitem(sys.modules, name, mod)
    return modules["cupy"]

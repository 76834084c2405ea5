"""Bad inputs and faults of the data store (astrocore.store), issue 10 defect 6.

Every case builds its file in a fresh temporary folder (removed afterwards)
and uses only the store API that predates the fix (write_dataset,
read_dataset, DataFileError, provenance), so the same case classifies an
older checkout for the before/after count. Behaviours that are not errors
(file permissions, stale temporary files) are ``returns`` predicates.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import xarray as xr

from astrocore import store

from .case import Case

D = 6


@contextmanager
def _scratch():
    folder = Path(tempfile.mkdtemp(prefix="astrocore-store-case-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(n_seeds: int = 2, n_steps: int = 50, cost=None) -> xr.Dataset:
    """A run of the project's shape: seed and step coordinates, attrs with dicts and bools."""
    values = np.linspace(1.0, 0.1, n_seeds * n_steps).reshape(n_seeds, n_steps) if cost is None else cost
    return xr.Dataset(
        {"cost": (("seed", "step"), values, {"long_name": "training cost", "units": "1"}),
         "lyapunov_exponent": ((), 1234.5678, {"units": "1/time"})},
        coords={"seed": np.arange(n_seeds), "step": np.arange(0, 10 * n_steps, 10)},
        attrs={"mode": "code", "analog": False, "extra": {"a": 1}},
    )


def _flip(path: Path, name: str, nbytes: int = 8) -> None:
    """Invert ``nbytes`` stored bytes of variable ``name`` in place (disk corruption)."""
    import h5py  # noqa: PLC0415

    with h5py.File(path, "r") as handle:
        dataset = handle[name]
        if dataset.chunks is None:
            offset = dataset.id.get_offset()
        else:
            offset = dataset.id.get_chunk_info(0).byte_offset
    with open(path, "r+b") as handle:
        handle.seek(offset)
        data = handle.read(nbytes)
        handle.seek(offset)
        handle.write(bytes(b ^ 0xFF for b in data))


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ------------------------------------------------------------------ temporary files
_KILLED_WRITER = """
import sys
import numpy as np, xarray as xr
from astrocore import store
x = np.random.default_rng(0).random((2500, 2500))
store.write_dataset(xr.Dataset({"x": (("a", "b"), x)}), sys.argv[1], compression_level=1)
"""


def killed_write_then_next_write():
    """kill -9 a large write in mid-flight, write again: nothing but the target may remain."""
    with _scratch() as folder:
        target = folder / "run.nc"
        root = str(Path(store.__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
        proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(target)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline and proc.poll() is None:
                if any(p.name.endswith(".tmp") and p.stat().st_size > 0 for p in folder.iterdir()):
                    break
                time.sleep(0.01)
            time.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        killed_mid_write = not target.exists() and any(p.name.endswith(".tmp") for p in folder.iterdir())
        store.write_dataset(_run(), target)
        return killed_mid_write, _leftovers(folder)


def old_scheme_temp_file_from_a_killed_write():
    """A temporary file of an older astrocore's killed write (``.run.nc.<8 chars>.tmp``), two hours old."""
    with _scratch() as folder:
        stale = folder / ".run.nc.k3x9_a2q.tmp"
        stale.write_bytes(b"\x89HDF\r\n\x1a\n half a file")
        old = time.time() - 7200
        os.utime(stale, (old, old))
        store.write_dataset(_run(), folder / "run.nc")
        return _leftovers(folder)


# ------------------------------------------------------------------------ permissions
def _mode_with_umask(mask: int) -> tuple[int, int]:
    previous = os.umask(mask)
    try:
        with _scratch() as folder:
            path = store.write_dataset(_run(), folder / "run.nc")
            return os.stat(path).st_mode & 0o777, 0o666 & ~mask
    finally:
        os.umask(previous)


# -------------------------------------------------------------------------- checksums
def flipped_bytes_in_step_coordinate():
    with _scratch() as folder:
        path = store.write_dataset(_run(), folder / "run.nc")
        _flip(path, "step")
        return store.read_dataset(path, required=["cost"]).step.values


def flipped_bytes_in_uncompressed_data():
    with _scratch() as folder:
        path = store.write_dataset(_run(), folder / "run.nc", compression_level=0)
        _flip(path, "cost")
        return store.read_dataset(path, required=["cost"]).cost.values


def flipped_bytes_in_scalar_variable():
    with _scratch() as folder:
        path = store.write_dataset(_run(), folder / "run.nc")
        _flip(path, "lyapunov_exponent")
        return float(store.read_dataset(path).lyapunov_exponent)


def variable_without_checksum():
    """A file with astrocore's provenance whose variables carry no checksum (an older writer's)."""
    with _scratch() as folder:
        path = folder / "unchecked.nc"
        run = _run().drop_vars("lyapunov_exponent")
        run.attrs = {"mode": "code", **store.provenance()}
        run.to_netcdf(path, engine="h5netcdf")
        return store.read_dataset(path, required=["cost"])


# ---------------------------------------------------------------------- foreign files
def plain_hdf5_file():
    import h5py  # noqa: PLC0415

    with _scratch() as folder:
        path = folder / "plain.nc"
        with h5py.File(path, "w") as handle:
            handle["cost"] = np.arange(5.0)
        return store.read_dataset(path)


def netcdf3_file():
    with _scratch() as folder:
        path = folder / "classic.nc"
        run = _run().drop_vars("lyapunov_exponent")
        run.attrs = {"system": "thomas"}
        run.to_netcdf(path, engine="scipy", format="NETCDF3_64BIT")
        return store.read_dataset(path, required=["cost"])


def directory_as_data_file():
    with _scratch() as folder:
        (folder / "results.nc").mkdir()
        return store.read_dataset(folder / "results.nc")


# ---------------------------------------------------------------------------- NaN runs
def nan_filled_required_variable():
    with _scratch() as folder:
        cost = np.full((2, 50), np.nan)
        run = _run(cost=cost).assign(accuracy=(("seed", "step"), np.ones((2, 50))))
        path = store.write_dataset(run, folder / "run.nc")
        return store.read_dataset(path, required=["cost"])


def nan_filled_file():
    with _scratch() as folder:
        run = _run(cost=np.full((2, 50), np.nan)).drop_vars("lyapunov_exponent")
        path = store.write_dataset(run, folder / "run.nc")
        return store.read_dataset(path)


# --------------------------------------------------------------------------- required
def required_as_one_missing_name():
    with _scratch() as folder:
        path = store.write_dataset(_run(), folder / "run.nc")
        return store.read_dataset(path, required="theta")


def required_as_one_present_name():
    with _scratch() as folder:
        path = store.write_dataset(_run(), folder / "run.nc")
        return sorted(store.read_dataset(path, required="cost").data_vars)


# ------------------------------------------------------------- write_dataset's parameters
def _write(**kwargs):
    def call():
        with _scratch() as folder:
            args = {"ds": _run(), "path": folder / "run.nc", **kwargs}
            ds, path = args.pop("ds"), args.pop("path")
            return store.write_dataset(ds, path, **args)
    return call


def write_to_a_directory():
    with _scratch() as folder:
        (folder / "out").mkdir()
        return store.write_dataset(_run(), folder / "out")


CASES = [
    Case("store/killed-write-leaves-no-temp-after-next-write", killed_write_then_next_write,
         returns=lambda r: r == (True, ["run.nc"]), defect=D, timeout=90),
    Case("store/old-scheme-stale-temp-removed-by-next-write", old_scheme_temp_file_from_a_killed_write,
         returns=lambda r: r == ["run.nc"], defect=D),
    Case("store/file-mode-follows-umask-022", lambda: _mode_with_umask(0o022),
         returns=lambda r: r[0] == r[1], defect=D),
    Case("store/file-mode-follows-umask-002-shared-group", lambda: _mode_with_umask(0o002),
         returns=lambda r: r[0] == r[1], defect=D),
    Case("store/flipped-bytes-in-step-coordinate", flipped_bytes_in_step_coordinate,
         names=("run.nc", "step", "checksum mismatch"), exc=(store.DataFileError,), defect=D),
    Case("store/flipped-bytes-in-uncompressed-data-variable", flipped_bytes_in_uncompressed_data,
         names=("run.nc", "cost", "checksum mismatch"), exc=(store.DataFileError,), defect=D),
    Case("store/flipped-bytes-in-scalar-variable", flipped_bytes_in_scalar_variable,
         names=("run.nc", "lyapunov_exponent", "checksum mismatch"), exc=(store.DataFileError,), defect=D),
    Case("store/variable-without-checksum", variable_without_checksum,
         names=("unchecked.nc", "cost", "checksum"), exc=(store.DataFileError,), defect=D),
    Case("store/plain-hdf5-file-is-not-astrocores", plain_hdf5_file,
         names=("plain.nc", "provenance", "foreign=True"), exc=(store.DataFileError,), defect=D),
    Case("store/netcdf3-file-named-as-such", netcdf3_file,
         names=("classic.nc", "netCDF3", "foreign=True"), exc=(store.DataFileError,), defect=D),
    Case("store/directory-named-as-a-directory", directory_as_data_file,
         names=("results.nc", "is a directory"), exc=(store.DataFileError,), defect=D),
    Case("store/nan-filled-required-variable", nan_filled_required_variable,
         names=("run.nc", "cost", "NaN"), exc=(store.DataFileError,), defect=D),
    Case("store/nan-filled-file", nan_filled_file,
         names=("run.nc", "cost", "NaN"), exc=(store.DataFileError,), defect=D),
    Case("store/required-str-is-one-missing-name", required_as_one_missing_name,
         names=("run.nc", "['theta']"), exc=(store.DataFileError,), defect=D),
    Case("store/required-str-is-one-present-name", required_as_one_present_name,
         returns=lambda r: r == ["cost", "lyapunov_exponent"], defect=D),
    Case("store/compression-level-above-9", _write(compression_level=10),
         names=("compression_level", "10"), defect=D),
    Case("store/compression-level-float", _write(compression_level=2.5),
         names=("compression_level", "2.5"), defect=D),
    Case("store/compression-level-bool", _write(compression_level=True),
         names=("compression_level", "True"), defect=D),
    Case("store/compression-level-negative", _write(compression_level=-1),
         names=("compression_level", "-1"), defect=D),
    Case("store/ds-a-dict", _write(ds={"cost": [1.0, 2.0]}),
         names=("ds", "Dataset"), defect=D),
    Case("store/ds-a-dataarray", _write(ds=xr.DataArray(np.arange(3.0), dims="step")),
         names=("ds", "Dataset", "DataArray"), defect=D),
    Case("store/write-path-a-directory", write_to_a_directory,
         names=("path", "out", "is a directory"), defect=D),
    Case("store/write-path-none", _write(path=None),
         names=("path", "None"), defect=D),
]

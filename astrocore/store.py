"""netCDF storage of runs, with provenance.

:func:`write_dataset` writes an :class:`xarray.Dataset` to netCDF4 (h5netcdf
engine, zlib-compressed) atomically: the file is written next to its target
under a temporary name and renamed into place, so a crash never leaves a
half-written file. Every file carries provenance attributes (astrocore
version, git commit, config hash, seed, backend, package versions).

:func:`read_dataset` opens a file and checks it: a missing file, a corrupt or
truncated one, or one that lacks an expected variable raises
:class:`DataFileError` naming the file and the problem.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import xarray as xr

from . import __version__, backend

PROVENANCE_KEYS = (
    "astrocore_version",
    "git_commit",
    "config_hash",
    "seed",
    "backend",
    "numpy_version",
    "scipy_version",
    "xarray_version",
)


class DataFileError(ValueError):
    """A data file is missing, corrupt, or lacks what the reader expects."""


def config_hash(config: Mapping | None) -> str:
    """SHA-256 (first 16 hex digits) of the canonical JSON of ``config``."""
    if config is None:
        return "none"
    text = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def git_commit() -> str:
    """Commit of the astrocore checkout (``+dirty`` if modified), or ``unknown``."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
            timeout=10, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def provenance(config: Mapping | None = None, seed=None) -> dict:
    """The provenance attributes stamped on every file astrocore writes."""
    import scipy  # noqa: PLC0415

    return {
        "astrocore_version": __version__,
        "git_commit": git_commit(),
        "config_hash": config_hash(config),
        "seed": "none" if seed is None else json.dumps(seed, default=int),
        "backend": backend.get_backend(),
        "numpy_version": np.__version__,
        "scipy_version": scipy.__version__,
        "xarray_version": xr.__version__,
    }


def _netcdf_attr(value):
    """Coerce an attribute value to a type netCDF can hold."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if value is None:
        return "none"
    if isinstance(value, (str, int, float, np.integer, np.floating)):
        return value
    if isinstance(value, (list, tuple)) and value and all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
        for v in value
    ):
        return np.asarray(value)
    return json.dumps(value, default=str)


def write_dataset(ds: xr.Dataset, path, *, config: Mapping | None = None,
                  seed=None, compression_level: int = 4) -> Path:
    """Write ``ds`` to ``path`` (netCDF4) atomically, with provenance attrs.

    Attributes that netCDF cannot hold (bools, None, dicts) are stored as
    ints or JSON text. Returns the path written.
    """
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"write_dataset needs an xarray.Dataset, got {type(ds).__name__}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = ds.copy()
    out.attrs = {k: _netcdf_attr(v) for k, v in {**ds.attrs, **provenance(config, seed)}.items()}
    for name in list(out.variables):
        out[name].attrs = {k: _netcdf_attr(v) for k, v in out[name].attrs.items()}
    encoding = {
        name: {"zlib": True, "complevel": compression_level}
        for name, var in out.data_vars.items()
        if var.dtype.kind in "biuf" and var.ndim > 0
    }
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        out.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_dataset(path, required: Iterable[str] = (), rule: str | None = None) -> xr.Dataset:
    """Open a netCDF file written by :func:`write_dataset`, fully loaded.

    ``required`` names variables that must be present. ``rule`` names the
    snakemake rule that makes the file, for the error message.
    """
    path = Path(path)
    hint = f" (made by the snakemake rule '{rule}')" if rule else ""
    if not path.is_file():
        raise DataFileError(f"data file {path} does not exist{hint}")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as handle:
            ds = handle.load()
    except Exception as err:  # h5py/h5netcdf raise many types on bad files
        raise DataFileError(
            f"data file {path} is corrupt or truncated and cannot be read as netCDF4: "
            f"{type(err).__name__}: {err}; delete it and rerun{hint}"
        ) from err
    missing = [name for name in required if name not in ds.variables]
    if missing:
        raise DataFileError(
            f"data file {path} lacks the variable(s) {missing}; it has {sorted(ds.data_vars)}"
        )
    return ds

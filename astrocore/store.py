"""netCDF storage of runs, with provenance and checksums.

:func:`write_dataset` writes an :class:`xarray.Dataset` to netCDF4/HDF5
(h5netcdf engine, zlib-compressed):

- **atomically**: the file is written next to its target under a temporary
  name, ``.<name>.<pid>@<host>.<random>.tmp``, flushed to disk and renamed into
  place, so a reader sees the old file or the new one, never a part of one, and
  a crash never leaves a half-written file at the target. A write that fails
  removes its temporary file. A write killed outright (``kill -9``, a node
  lost) cannot, so every write to a target first removes the temporary files
  of earlier writes to the same target that can no longer finish: those of
  this host whose process is gone, those of another host (or of the older
  naming scheme ``.<name>.<random>.tmp``) untouched for an hour
  (:data:`STALE_TEMP_SECONDS`). Each removal is logged (logger
  ``astrocore.store``, level INFO);
- **with the umask's permissions** (``0o666 & ~umask``, as any new file), so
  collaborators on a shared file system can read it;
- **checksummed**: every variable, coordinates included, carries an HDF5
  Fletcher-32 checksum (text is stored as fixed-width characters, which HDF5
  can checksum; a scalar, which HDF5 cannot filter, carries a CRC-32 of its
  stored bytes in the attribute ``astrocore_crc32``);
- **with provenance** attributes (:data:`PROVENANCE_KEYS`: astrocore version,
  git commit, config hash, seed, backend, package versions).

:func:`read_dataset` opens a file and checks it, raising :class:`DataFileError`
naming the file and the problem: a missing file, a directory, a netCDF3 file,
a corrupt or truncated one, a checksum mismatch (naming the variable), a file
astrocore did not write (no provenance attributes) or a variable without a
checksum (unless ``foreign=True``), a missing required variable, and a
required variable that holds only NaN (or a file whose every floating data
variable does).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import socket
import subprocess
import tempfile
import time
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import xarray as xr

from . import __version__, backend
from .validation import (
    NO_VALIDATION,
    Bool,
    Constraint,
    InstanceOf,
    Integer,
    InvalidParameterError,
    Optional,
    Text,
    validate_params,
)

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

STALE_TEMP_SECONDS = 3600.0
"""A temporary file that cannot be proven abandoned (another host's, or of the old
naming scheme) is removed once it has not been modified for this long."""

CHECKSUM_ATTR = "astrocore_crc32"
"""Attribute holding the CRC-32 of a scalar variable's stored bytes (HDF5 cannot filter scalars)."""

_NETCDF3_MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05")
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_PHONY_DIMENSION = b"This is a netCDF dimension but not a netCDF variable"

log = logging.getLogger(__name__)


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


# ------------------------------------------------------------------ parameter constraints
class _FilePath(Constraint):
    """A file path (str or os.PathLike), converted to :class:`~pathlib.Path`.

    ``writing=True`` also refuses an existing directory (a target must be a file).
    """

    def __init__(self, writing: bool = False):
        self.writing = writing

    def check(self, name: str, value):
        text = None
        if isinstance(value, (str, os.PathLike)) and not isinstance(value, bytes):
            try:
                text = os.fspath(value)
            except TypeError:
                text = None
        if not isinstance(text, str) or not text.strip():
            self.fail(name, value)
        path = Path(text)
        if self.writing and path.is_dir():
            raise InvalidParameterError(
                f"{name} must be the path of a file to write, but {path} is a directory; "
                f"name a file inside it, e.g. {path / 'run.nc'}")
        return path

    def describe(self) -> str:
        what = "a file path (str or os.PathLike)"
        return what + ", not a directory" if self.writing else what

    def invalid_examples(self) -> list:
        bad = [None, 3, "", b"run.nc"]
        if self.writing:
            bad.append(tempfile.gettempdir())
        return bad

    def valid_example(self):
        return Path(tempfile.gettempdir()) / "astrocore-store-example.nc"


class _VariableNames(Constraint):
    """One variable name (a str) or an iterable of names; converted to a tuple of str.

    A str is one name, never iterated into its characters.
    """

    def check(self, name: str, value):
        if isinstance(value, str):
            return (value,)
        if isinstance(value, (bytes, Mapping)) or not isinstance(value, Iterable):
            self.fail(name, value)
        names = tuple(value)
        if not all(isinstance(n, str) for n in names):
            self.fail(name, value)
        return names

    def describe(self) -> str:
        return "a variable name (str) or a list of names"

    def invalid_examples(self) -> list:
        return [None, 3, [1, 2], b"theta"]

    def valid_example(self):
        return ()


def _example_dataset():
    return xr.Dataset({"x": ("i", np.arange(3.0))})


# ---------------------------------------------------------------------------- writing
def _is_text(var) -> bool:
    kind = var.dtype.kind
    if kind in "US":
        return True
    if kind == "O":
        values = np.asarray(var.values).ravel()
        return values.size > 0 and all(isinstance(v, (str, bytes)) or v is None for v in values)
    return False


def _encoding(var, compression_level: int) -> dict:
    """How one variable is stored: checksummed (and compressed) wherever HDF5 allows."""
    if _is_text(var):
        # Variable-length strings cannot be filtered by HDF5: store fixed-width characters.
        enc = {"dtype": "S1", "fletcher32": True}
    elif var.ndim == 0:
        return {}  # HDF5 cannot chunk or filter a scalar: it gets an astrocore_crc32 attribute
    else:
        enc = {"fletcher32": True}
    if compression_level > 0 and var.size > 0 and (enc.get("dtype") == "S1" or var.dtype.kind in "biufmM"):
        enc.update(zlib=True, complevel=compression_level)
    return enc


def _host_tag() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40] or "host"


def _temp_patterns(name: str):
    escaped = re.escape(name)
    current = re.compile(rf"^\.{escaped}\.(?P<pid>\d+)@(?P<host>[A-Za-z0-9-]*)\.[0-9a-f]+\.tmp$")
    old = re.compile(rf"^\.{escaped}\.[a-z0-9_]{{8}}\.tmp$")  # tempfile.mkstemp's, before pids were recorded
    return current, old


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's live process (or a pid beyond the platform's range)
    return True


def _remove_stale_temp_files(path: Path) -> list[Path]:
    """Remove temporary files of earlier writes to ``path`` that can no longer finish.

    Same host and the writer's process gone: removed. Another host's, or the old
    naming scheme's: removed once unmodified for :data:`STALE_TEMP_SECONDS`.
    A file that cannot be removed (another user's) is logged and left.
    """
    current, old = _temp_patterns(path.name)
    host, now = _host_tag(), time.time()
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        match = current.match(entry.name)
        if match is None and not old.match(entry.name):
            continue
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        if match is not None and match["host"] == host:
            stale = not _pid_alive(int(match["pid"]))
        else:
            stale = age > STALE_TEMP_SECONDS
        if not stale:
            continue
        try:
            os.unlink(entry.path)
        except FileNotFoundError:
            continue
        except OSError as err:
            log.info("could not remove the stale temporary file %s: %s", entry.path, err)
            continue
        log.info("removed the stale temporary file %s (of an earlier write that did not finish)", entry.path)
        removed.append(Path(entry.path))
    return removed


def _create_temp(path: Path) -> Path:
    """Create an empty temporary file next to ``path``; mode 0o666 less the umask, as any new file."""
    prefix = f".{path.name}.{os.getpid()}@{_host_tag()}."
    for _ in range(100):
        tmp = path.with_name(f"{prefix}{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"could not create a temporary file next to {path}")  # pragma: no cover


def _variables(handle):
    """(name, h5py dataset) of every netCDF variable at the root of an open h5py file."""
    import h5py  # noqa: PLC0415

    for key, obj in handle.items():
        if not isinstance(obj, h5py.Dataset):
            continue
        label = obj.attrs.get("NAME")
        if isinstance(label, bytes) and label.startswith(_PHONY_DIMENSION):
            continue  # a dimension without a coordinate: no data
        yield key.removeprefix("_nc4_non_coord_"), obj


def _crc(dataset) -> int:
    return zlib.crc32(np.ascontiguousarray(dataset[()]).tobytes())


def _stamp_scalar_checksums(tmp: Path) -> None:
    import h5py  # noqa: PLC0415

    with h5py.File(tmp, "r+") as handle:
        for _, dataset in list(_variables(handle)):
            if not dataset.fletcher32:
                dataset.attrs[CHECKSUM_ATTR] = np.int64(_crc(dataset))


def _fsync(path: Path, directory: bool = False) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a directory
    finally:
        os.close(fd)


@validate_params({
    "ds": InstanceOf(xr.Dataset, example=_example_dataset),
    "path": _FilePath(writing=True),
    "config": Optional(InstanceOf(Mapping, example=dict)),
    "seed": NO_VALIDATION,
    "compression_level": Integer(0, 9),
})
def write_dataset(ds: xr.Dataset, path, *, config: Mapping | None = None,
                  seed=None, compression_level: int = 4) -> Path:
    """Write ``ds`` to ``path`` (netCDF4/HDF5) atomically, checksummed, with provenance attrs.

    Parameters
    ----------
    ds : xarray.Dataset
        The run. Attributes that netCDF cannot hold (bools, None, dicts) are
        stored as ints or JSON text; text variables as fixed-width characters
        (read back as str).
    path : str or os.PathLike
        The file to write (not a directory); its folder is created if needed.
        An existing file is replaced atomically.
    config, seed
        Recorded in the provenance attributes (config as its hash).
    compression_level : int in [0, 9]
        zlib level of every array (0: uncompressed; checksums either way).

    Returns the path written. The file gets the umask's permissions; temporary
    files of earlier killed writes to the same target are removed first (see
    the module docstring).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    out = ds.copy()
    out.attrs = {k: _netcdf_attr(v) for k, v in {**ds.attrs, **provenance(config, seed)}.items()}
    for name in list(out.variables):
        out[name].attrs = {k: _netcdf_attr(v) for k, v in out[name].attrs.items() if k != CHECKSUM_ATTR}
    encoding = {name: _encoding(var, compression_level) for name, var in out.variables.items()}

    def write(tmp: Path) -> None:
        out.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
        _stamp_scalar_checksums(tmp)

    return atomic_write(path, write)


def atomic_write(path, write) -> Path:
    """Make ``path`` by ``write(tmp)`` on a temporary file beside it, then rename it into place.

    A crash or kill leaves either the old file or the new one, never half of
    one; temporary files of earlier writes to ``path`` that can no longer
    finish are removed first; the file gets the umask's permissions and is
    synced to disk before the rename. Every file astrocore writes (data,
    figures, tables) goes through here.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temp_files(path)
    tmp = _create_temp(path)
    try:
        write(tmp)
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync(path.parent, directory=True)
    return path


# ---------------------------------------------------------------------------- reading
def _sniff(path: Path, hint: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as err:
        raise DataFileError(f"data file {path} cannot be read: {err.strerror or err}{hint}") from err
    if head[:4] in _NETCDF3_MAGIC:
        return "netcdf3"
    if head == _HDF5_MAGIC:
        return "hdf5"
    import h5py  # noqa: PLC0415

    try:
        if h5py.is_hdf5(str(path)):  # an HDF5 file with a user block
            return "hdf5"
    except Exception:  # noqa: BLE001 - not HDF5 after all
        pass
    return None


def _corrupt(path: Path, hint: str, detail: str) -> DataFileError:
    return DataFileError(f"data file {path} is corrupt or truncated and cannot be read as netCDF4: "
                         f"{detail}; delete it and rerun{hint}")


def _mismatch(path: Path, name: str, hint: str) -> DataFileError:
    return DataFileError(
        f"data file {path}: checksum mismatch in variable '{name}': its stored bytes changed after "
        f"it was written (disk, copy or transfer corruption); delete it and rerun{hint}")


def _check_hdf5(path: Path, foreign: bool, hint: str) -> None:
    """Provenance and per-variable checksums, from the HDF5 metadata (scalars verified here)."""
    import h5py  # noqa: PLC0415

    try:
        handle = h5py.File(path, "r")
    except Exception as err:  # noqa: BLE001 - h5py raises many types on bad files
        raise _corrupt(path, hint, f"{type(err).__name__}: {err}") from err
    with handle:
        if not foreign:
            missing = [key for key in PROVENANCE_KEYS if key not in handle.attrs]
            if missing:
                raise DataFileError(
                    f"data file {path} was not written by astrocore: it lacks the provenance "
                    f"attribute(s) {missing} that write_dataset stamps on every file; to read a "
                    f"file from elsewhere anyway, pass foreign=True{hint}")
        unchecked = []
        for name, dataset in _variables(handle):
            if dataset.fletcher32:
                continue
            if CHECKSUM_ATTR in dataset.attrs:
                try:
                    ok = int(dataset.attrs[CHECKSUM_ATTR]) == _crc(dataset)
                except Exception as err:  # noqa: BLE001
                    raise _corrupt(path, hint, f"variable '{name}' cannot be read: {err}") from err
                if not ok:
                    raise _mismatch(path, name, hint)
            else:
                unchecked.append(name)
        if unchecked and not foreign:
            raise DataFileError(
                f"data file {path}: variable(s) {unchecked} carry no checksum, so corruption would go "
                f"unnoticed (astrocore checksums every variable; the file is from an older astrocore "
                f"or was modified): rerun the step that makes it{hint}, or pass foreign=True to read "
                f"it unchecked")


def _find_unreadable(path: Path):
    """The first variable whose data HDF5 cannot read: (name, error, has a checksum)."""
    import h5py  # noqa: PLC0415

    try:
        with h5py.File(path, "r") as handle:
            for name, dataset in _variables(handle):
                try:
                    dataset[()]
                except Exception as err:  # noqa: BLE001
                    return name, err, bool(dataset.fletcher32)
    except Exception:  # noqa: BLE001
        return None
    return None


def _load(path: Path, engine: str, hint: str) -> xr.Dataset:
    try:
        options = {"phony_dims": "sort"} if engine == "h5netcdf" else {}  # plain HDF5 (foreign) has no dims
        with xr.open_dataset(path, engine=engine, **options) as handle:
            return handle.load()
    except Exception as err:  # h5py/h5netcdf raise many types on bad files
        bad = _find_unreadable(path) if engine == "h5netcdf" else None
        if bad is not None and bad[2]:
            raise _mismatch(path, bad[0], hint) from err
        if bad is not None:
            raise _corrupt(path, hint, f"variable '{bad[0]}' cannot be read: {bad[1]}") from err
        raise _corrupt(path, hint, f"{type(err).__name__}: {err}") from err


def _all_nan(var) -> bool:
    return var.dtype.kind in "fc" and var.size > 0 and bool(np.isnan(var.values).all())


@validate_params({
    "path": _FilePath(),
    "required": _VariableNames(),
    "rule": Optional(Text("rule")),
    "foreign": Bool(),
})
def read_dataset(path, required: Iterable[str] | str = (), rule: str | None = None, *,
                 foreign: bool = False) -> xr.Dataset:
    """Open a netCDF file written by :func:`write_dataset`, fully loaded and checked.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    required : str or iterable of str
        Variables that must be present and hold at least one value that is
        not NaN (a str is one name).
    rule : str, optional
        The snakemake rule that makes the file, for the error message.
    foreign : bool
        False (default): the file must be one astrocore wrote, with its
        provenance attributes and a checksum on every variable. True: read a
        netCDF4/HDF5 or netCDF3 file from elsewhere; checksums it carries are
        still verified.

    Raises :class:`DataFileError` naming the file (and the variable) when the
    file is missing, a directory, netCDF3 (unless ``foreign``), corrupt or
    truncated, fails a checksum, is not astrocore's, lacks a required
    variable, holds only NaN in a required variable, or only NaN in every
    floating data variable.
    """
    hint = f" (made by the snakemake rule '{rule}')" if rule else ""
    if path.is_dir():
        raise DataFileError(f"data file {path} is a directory, not a netCDF file; "
                            f"name a file inside it{hint}")
    if not path.exists():
        raise DataFileError(f"data file {path} does not exist{hint}")
    if not path.is_file():
        raise DataFileError(f"data file {path} is not a regular file (a device, socket or pipe){hint}")
    kind = _sniff(path, hint)
    if kind == "netcdf3":
        if not foreign:
            raise DataFileError(
                f"data file {path} is a netCDF3 (classic) file, but astrocore writes netCDF4/HDF5 "
                f"files (with provenance and checksums), so write_dataset did not make it; to read "
                f"it anyway, pass foreign=True (read_dataset(path, foreign=True)) or use "
                f"xarray.open_dataset(path){hint}")
        ds = _load(path, "scipy", hint)
    elif kind == "hdf5":
        _check_hdf5(path, foreign, hint)
        ds = _load(path, "h5netcdf", hint)
    else:
        size = path.stat().st_size
        detail = "the file is empty" if size == 0 else "it is neither netCDF4/HDF5 nor netCDF3"
        raise _corrupt(path, hint, detail)
    for var in ds.variables.values():
        var.attrs.pop(CHECKSUM_ATTR, None)

    missing = [name for name in required if name not in ds.variables]
    if missing:
        raise DataFileError(
            f"data file {path} lacks the variable(s) {missing}; it has {sorted(ds.data_vars)}{hint}"
        )
    empty = [name for name in required if _all_nan(ds[name].variable)]
    if empty:
        raise DataFileError(
            f"data file {path}: the required variable(s) {empty} hold only NaN (no value); the run "
            f"that wrote them produced nothing: check it and rerun{hint}")
    floating = [name for name, var in ds.data_vars.items() if var.dtype.kind in "fc" and var.size > 0]
    if floating and all(_all_nan(ds[name].variable) for name in floating):
        raise DataFileError(
            f"data file {path}: every floating data variable {floating} holds only NaN (no value); "
            f"the run that wrote it produced nothing: check it and rerun{hint}")
    return ds

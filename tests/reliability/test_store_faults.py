"""Faults during writes of the data store (issue 10, defect 6): kill -9, umask, concurrent readers.

A write killed outright (SIGKILL, a lost node) cannot clean up after itself:
the target must still be absent (first write) or the old file intact
(overwrite), and the next write to the same target removes the orphaned
temporary file. Files get the umask's permissions. A reader running while a
writer replaces the file again and again always reads a whole file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from astrocore import store

ROOT = Path(store.__file__).resolve().parent.parent

# Writes a large dataset (2500 x 2500 float64, 50 MB, zlib): about a second or more here.
LARGE_WRITER = """
import sys
import numpy as np, xarray as xr
from astrocore import store
x = np.random.default_rng(0).random((2500, 2500))
store.write_dataset(xr.Dataset({"x": (("a", "b"), x)}, coords={"a": np.arange(2500)}), sys.argv[1],
                    compression_level=1)
"""

# Replaces the target again and again, alternating two datasets, then prints how many writes it made.
REPEATED_WRITER = """
import sys
import numpy as np, xarray as xr
from astrocore import store
n = int(sys.argv[2])
for i in range(n):
    value = float(i % 2)
    ds = xr.Dataset({"x": (("a", "b"), np.full((300, 300), value))}, coords={"a": np.arange(300)},
                    attrs={"value": value})
    store.write_dataset(ds, sys.argv[1])
print(n)
"""


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _small(value: float = 1.0) -> xr.Dataset:
    return xr.Dataset({"cost": (("seed", "step"), np.full((2, 4), value), {"units": "1"})},
                      coords={"seed": [0, 1], "step": [0, 10, 20, 30]},
                      attrs={"analog": False, "extra": {"a": 1}})


def _temps(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def _kill_mid_write(target: Path) -> int:
    """Start a large write to ``target`` in a subprocess and SIGKILL it once its temporary file has data."""
    proc = subprocess.Popen([sys.executable, "-c", LARGE_WRITER, str(target)], env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if any(p.stat().st_size > 0 for p in _temps(target.parent)):
                break
            time.sleep(0.005)
        time.sleep(0.05)
        finished = proc.poll() is not None
    finally:
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate()
    assert not finished, f"the writer ended before it could be killed (rc {proc.returncode}): {err[-2000:]}"
    assert proc.returncode == -signal.SIGKILL
    assert _temps(target.parent), "the kill did not land during the write"
    return proc.pid


def test_kill_9_during_a_first_write_leaves_no_target_and_the_next_write_cleans_up(tmp_path):
    target = tmp_path / "run.nc"
    pid = _kill_mid_write(target)
    assert not target.exists()
    (orphan,) = _temps(tmp_path)
    assert orphan.name.startswith(f".run.nc.{pid}@"), orphan.name  # the writer's pid: provably orphaned
    store.write_dataset(_small(), target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.nc"]
    np.testing.assert_array_equal(store.read_dataset(target, required="cost").cost.values, 1.0)


def test_kill_9_during_an_overwrite_keeps_the_old_file_intact_and_readable(tmp_path):
    target = tmp_path / "run.nc"
    store.write_dataset(_small(7.0), target)
    before = target.read_bytes()
    _kill_mid_write(target)
    assert target.read_bytes() == before
    np.testing.assert_array_equal(store.read_dataset(target, required="cost").cost.values, 7.0)
    store.write_dataset(_small(8.0), target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.nc"]
    np.testing.assert_array_equal(store.read_dataset(target, required="cost").cost.values, 8.0)


def test_a_write_removes_only_the_temporary_files_that_can_no_longer_finish(tmp_path):
    target = tmp_path / "run.nc"
    host = store._host_tag()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    hour_ago = time.time() - 2 * store.STALE_TEMP_SECONDS
    try:
        files = {
            "dead_here": (f".run.nc.{dead.pid}@{host}.0123abcd.tmp", None),
            "alive_here": (f".run.nc.{alive.pid}@{host}.0123abcd.tmp", None),
            "other_host_fresh": (".run.nc.1234@elsewhere.0123abcd.tmp", None),
            "other_host_old": (".run.nc.1234@elsewhere.4567abcd.tmp", hour_ago),
            "old_scheme_fresh": (".run.nc.ab_cd123.tmp", None),
            "old_scheme_old": (".run.nc.xy_zw789.tmp", hour_ago),
            "other_target_dead": (f".other.nc.{dead.pid}@{host}.0123abcd.tmp", None),
        }
        for name, mtime in files.values():
            (tmp_path / name).write_bytes(b"partial")
            if mtime is not None:
                os.utime(tmp_path / name, (mtime, mtime))
        store.write_dataset(_small(), target)
        left = {p.name for p in tmp_path.iterdir()}
    finally:
        alive.kill()
        alive.wait()
    kept = {"alive_here", "other_host_fresh", "old_scheme_fresh", "other_target_dead"}
    assert left == {"run.nc"} | {files[k][0] for k in kept}


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077, 0o027])
def test_file_mode_follows_the_umask(tmp_path, mask):
    previous = os.umask(mask)
    try:
        path = store.write_dataset(_small(), tmp_path / "run.nc")
        store.write_dataset(_small(2.0), path)  # an overwrite gets the umask's mode too
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_a_concurrent_reader_never_sees_a_partial_file(tmp_path):
    target = tmp_path / "run.nc"
    store.write_dataset(xr.Dataset({"x": (("a", "b"), np.zeros((300, 300)))}, coords={"a": np.arange(300)},
                                   attrs={"value": 0.0}), target)
    writer = subprocess.Popen([sys.executable, "-c", REPEATED_WRITER, str(target), "40"], env=_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reads = 0
    seen = set()
    try:
        while writer.poll() is None:
            ds = store.read_dataset(target, required="x")
            value = float(ds.attrs["value"])
            assert ds.x.shape == (300, 300) and bool((ds.x.values == value).all())
            seen.add(value)
            reads += 1
    finally:
        out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err[-2000:]
    assert reads > 5 and seen == {0.0, 1.0}, (reads, seen)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.nc"]

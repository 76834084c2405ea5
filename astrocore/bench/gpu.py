"""The GPU check: the CuPy path's tests, then batched workloads timed on NumPy and CuPy side by side.

``python -m astrocore.bench gpu [--out FILE.csv] [--quick] [--skip-tests]``

Needs CuPy (``pip install 'astrocore[gpu]'``; ``make gpu-check`` installs that
extra and runs this) and a CUDA device; installs nothing itself and reaches no
network. Without CuPy or a device it says so and exits with status 2.

1. Tests: ``tests/test_cupy_path.py`` with pytest, where every kernel runs on
   the real CuPy backend and is compared with NumPy on the same inputs (on a
   CPU-only machine the same file runs on a strict stand-in instead).
2. Batched workloads, the same batch on both backends, in one process:

   - MGD: one gradient estimate with K code perturbations (K = 64, 256, 1024)
     for S seeds in lockstep (S = 1, 4) on 784-256-10 (tanh, cross-entropy,
     float32, batch 100): :func:`astrocore.mgd.estimate_gradient`;
   - reservoirs: ``ESN`` and ``RhythmicSharing`` (``domains``) with N = 300
     nodes, B = 16, 64, 256 reservoirs driven in one batched run
     (:meth:`astrocore.reservoir.ESN.run`), T steps.

   Each time is the median of ``--repeats`` runs after one warm-up run (CUDA
   kernels compile and caches fill on first use); the device is synchronised
   before every clock read. Printed: milliseconds on each backend and the
   speed-up (NumPy time / CuPy time; the issue's target is >= 20x on these
   batched workloads). The whole check is sized to finish in under 5 minutes.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .. import backend, mgd
from ..nets import MLP
from . import positive_int

ROOT = Path(__file__).resolve().parents[2]


def _cupy_device():
    """(cupy, device description) or (None, why not)."""
    try:
        import cupy  # noqa: PLC0415
    except ImportError:
        return None, "CuPy is not installed (pip install 'astrocore[gpu]', or make gpu-check)"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as err:  # noqa: BLE001 - no driver, no device: CuPy raises its own CUDA errors
        return None, f"CuPy found no CUDA device ({type(err).__name__}: {err})"
    if count == 0:
        return None, "CuPy found no CUDA device"
    props = cupy.cuda.runtime.getDeviceProperties(0)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    runtime = cupy.cuda.runtime.runtimeGetVersion()
    return cupy, f"{name}, {props['totalGlobalMem'] / 2**30:.0f} GiB, CUDA runtime {runtime}"


def _timed(run, sync, repeats: int) -> float:
    """Median seconds of ``run()`` over ``repeats`` calls after one warm-up call."""
    run()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _mgd_workload(K: int, n_seeds: int, batch: int = 100):
    model = MLP([784, 256, 10], activation="tanh", loss="cross_entropy", dtype="float32", seed=0)
    gen = np.random.default_rng(0)
    X = gen.random((batch, 784)).astype(np.float32)
    Y = np.eye(10, dtype=np.float32)[gen.integers(0, 10, batch)]
    with backend.use_backend("numpy"):
        theta = model.init_params()
    seeds = list(range(n_seeds)) if n_seeds > 1 else 0

    def make():
        xp = backend.xp()
        t, x, y = xp.asarray(theta), xp.asarray(X), xp.asarray(Y)
        return lambda: mgd.estimate_gradient(model, t, x, y, direction="code", n_perturbations=K,
                                             amplitude=1e-3, seed=seeds)
    return make


def _reservoir_workload(kind: str, batch: int, steps: int, n_nodes: int = 300):
    from ..reservoir import ESN, RhythmicSharing  # noqa: PLC0415

    u = 0.5 * np.random.default_rng(0).normal(size=(steps, batch, 3))

    def make():
        net = (ESN(n_nodes, seed=0, washout=0) if kind == "esn"
               else RhythmicSharing(n_nodes, astro_graph="domains", seed=0, washout=0))
        return lambda: net.run(u)
    return make


def workloads(quick: bool) -> list[tuple[str, str, object]]:
    """(workload, size, factory of a callable on the active backend)."""
    out = []
    for K in (64, 256) if quick else (64, 256, 1024):
        for S in (1, 4):
            out.append(("mgd_estimate", f"K={K} S={S}", _mgd_workload(K, S)))
    for kind in ("esn", "rhythmic_domains"):
        for B in (16, 256) if quick else (16, 64, 256):
            out.append((kind, f"N=300 B={B} T=200", _reservoir_workload(kind, B, 200)))
    return out


def run_tests() -> int:
    """The CuPy-path tests on this machine's CuPy (pytest's exit status)."""
    command = [sys.executable, "-m", "pytest", str(ROOT / "tests" / "test_cupy_path.py"), "-q", "-rs",
               "-p", "no:cacheprovider", "-o", "addopts="]
    print("$ " + " ".join(command), flush=True)
    return subprocess.call(command, cwd=ROOT)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m astrocore.bench gpu", description=__doc__.split("\n")[0])
    parser.add_argument("--out", help="also write the timings as CSV")
    parser.add_argument("--quick", action="store_true", help="fewer sizes (a smoke run)")
    parser.add_argument("--skip-tests", action="store_true", help="timings only")
    parser.add_argument("--repeats", type=positive_int, default=5)
    args = parser.parse_args(argv)
    cupy, device = _cupy_device()
    if cupy is None:
        print(f"no GPU check on this machine: {device}", file=sys.stderr)
        return 2
    print(f"GPU: {device}; CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"numpy {np.__version__}, cupy {cupy.__version__}", flush=True)
    status = 0 if args.skip_tests else run_tests()

    def sync_cupy():
        cupy.cuda.Device().synchronize()

    rows = []
    print(f"\n{'workload':<18}{'size':<20}{'numpy_ms':>11}{'cupy_ms':>11}{'speedup':>9}", flush=True)
    for name, size, make in workloads(args.quick):
        with backend.use_backend("numpy"):
            t_np = _timed(make(), lambda: None, max(1, args.repeats // 2))
        with backend.use_backend("cupy"):
            t_cp = _timed(make(), sync_cupy, args.repeats)
        rows.append({"workload": name, "size": size, "numpy_ms": round(t_np * 1e3, 3),
                     "cupy_ms": round(t_cp * 1e3, 3), "speedup": round(t_np / t_cp, 2)})
        print(f"{name:<18}{size:<20}{t_np * 1e3:>11.2f}{t_cp * 1e3:>11.2f}{t_np / t_cp:>9.1f}", flush=True)
    met = [r for r in rows if r["speedup"] >= 20]
    print(f"\n{len(met)} of {len(rows)} batched workloads at least 20x NumPy on the same batch")
    if args.out:
        with open(args.out, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        print(f"wrote {args.out}")
    return status


if __name__ == "__main__":
    sys.exit(main())

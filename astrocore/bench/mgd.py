"""Benchmark: cost of one MGD step against its floor of K + 1 forward passes.

``python -m astrocore.bench mgd [--out FILE.csv] [--batch B] [--repeats R]``

For each network (64-64-10 and 784-256-10, tanh, softmax cross-entropy),
dtype (float32, float64) and K (1, 8, 64) it times, interleaved in one run,

- one MGD step: draw K code-mode perturbations, evaluate the K perturbed
  costs and C0 on one batch in batched forward passes, form G_int and apply
  the update (:func:`astrocore.mgd.estimate_gradient` plus an SGD step);
- one plain forward pass and cost on the same batch,

and prints ``ratio = t_step / ((K + 1) t_forward)``, the median over repeats
(1.0 is the floor). Also reports the thread count of the BLAS in use and the
machine's load average before and after (on a shared machine, a load above
about zero means other processes took cores from the run: its times are noisy).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import time

import numpy as np

from .. import mgd
from ..nets import MLP
from . import positive_int

NETWORKS = {"64-64-10": [64, 64, 10], "784-256-10": [784, 256, 10]}
KS = (1, 8, 64)
DTYPES = ("float32", "float64")


def _per_call(fn, min_seconds=0.02):
    """Seconds per call of ``fn``, timed over enough calls to last ``min_seconds``."""
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed / calls
        calls *= 2


def measure(sizes, dtype, K, batch=100, repeats=15, seed=0):
    """Median step time, median forward time and their ratio for one setting."""
    model = MLP(sizes, activation="tanh", loss="cross_entropy", dtype=dtype, seed=seed)
    gen = np.random.default_rng(seed)
    X = gen.random((batch, sizes[0])).astype(dtype)
    Y = np.eye(sizes[-1], dtype=dtype)[gen.integers(0, sizes[-1], batch)]
    theta = model.init_params()
    counter = iter(range(1 << 62))

    def step():
        g = mgd.estimate_gradient(model, theta, X, Y, direction="code", n_perturbations=K,
                                  amplitude=1e-3, seed=next(counter))
        theta.__isub__(1e-9 * g)

    def forward():
        model.loss(theta, X, Y)

    steps, forwards = [], []
    for _ in range(repeats):
        forwards.append(_per_call(forward))
        steps.append(_per_call(step))
    t_step, t_fwd = float(np.median(steps)), float(np.median(forwards))
    ratios = np.asarray(steps) / ((K + 1) * np.asarray(forwards))
    return t_step, t_fwd, float(np.median(ratios))


def _blas_summary() -> str:
    try:
        from threadpoolctl import threadpool_info  # noqa: PLC0415
    except ImportError:  # pragma: no cover
        return "unknown BLAS"
    return "; ".join(f"{i.get('internal_api')} {i.get('architecture', '')} threads={i.get('num_threads')}"
                     for i in threadpool_info() if i.get("user_api") == "blas") or "no BLAS found"


def _load() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return "unknown"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m astrocore.bench mgd", description=__doc__.split("\n")[0])
    parser.add_argument("--out", help="also write the table as CSV (network, dtype, K, ratio)")
    parser.add_argument("--batch", type=positive_int, default=100, help="samples per batch (default 100)")
    parser.add_argument("--repeats", type=positive_int, default=15, help="timed repeats per setting (default 15)")
    args = parser.parse_args(argv)
    print(f"MGD step vs (K+1) forward passes; batch {args.batch}; median of {args.repeats} repeats")
    print(f"machine: {platform.machine()} {os.cpu_count()} cores; {_blas_summary()}; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}")
    load_before = _load()
    print(f"{'network':<12} {'dtype':<8} {'K':>3} {'step_ms':>9} {'fwd_ms':>8} {'ratio':>6}")
    # one untimed pass over every setting first: the first settings measured in a fresh process
    # ran up to 2x slower than the same settings measured again (64-64-10 float32 at batch 1000:
    # 1.55, then 0.73 in one process)
    for sizes in NETWORKS.values():
        for dtype in DTYPES:
            for K in KS:
                measure(sizes, dtype, K, args.batch, 1)
    rows = []
    for name, sizes in NETWORKS.items():
        for dtype in DTYPES:
            for K in KS:
                t_step, t_fwd, ratio = measure(sizes, dtype, K, args.batch, args.repeats)
                rows.append({"network": name, "dtype": dtype, "K": K, "ratio": round(ratio, 4)})
                print(f"{name:<12} {dtype:<8} {K:>3} {t_step * 1e3:>9.3f} {t_fwd * 1e3:>8.3f} {ratio:>6.2f}",
                      flush=True)
    print(f"load average (1, 5, 15 min): {load_before} before, {_load()} after")
    if args.out:
        tmp = f"{args.out}.tmp"
        with open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["network", "dtype", "K", "ratio"])
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, args.out)
        print(f"wrote {args.out}")
    return 0

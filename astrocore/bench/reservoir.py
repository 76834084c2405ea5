"""Step rate of the reservoir kernels against reservoirpy 0.4.2.

``python -m astrocore.bench reservoir [--out FILE.csv] [--sizes 100 300 1000]
[--batches 1 16] [--repeats 5] [--seconds 0.2]``

For each model, node count N and batch B, one network is built (not timed),
warmed up, and driven by random 3-D input for T steps, T chosen so one run
lasts about ``--seconds``; ``steps_per_second = T / median(run time)`` over
``--repeats`` runs, all in this one process. A step advances all B reservoirs
(B reservoirs x T steps per run), and every run records all node states.

Models (same size and density: mean degree 10, spectral radius 0.6, input
scaling 1.2, no leak): ``esn`` (:class:`astrocore.reservoir.ESN`; a batch
shares the network, one sparse matrix-matrix product per step),
``rhythmic_links`` and ``rhythmic_domains``
(:class:`astrocore.reservoir.RhythmicSharing`, the authors' defaults),
``reservoirpy`` (``reservoirpy.nodes.Reservoir(units=N, sr=0.6,
rc_connectivity=10/N, input_scaling=1.2)``; a batch is its multi-series run, one
series after another). Targets (printed, never asserted): ``esn`` at least as
fast as ``reservoirpy`` at every N and batch; ``rhythmic_links`` >= 30,000 steps/s at
N = 100; ``rhythmic_domains`` within 3x of the ``esn`` step time.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
import warnings

import numpy as np

from . import positive_float, positive_int

MODELS = ("esn", "rhythmic_links", "rhythmic_domains", "reservoirpy")
DEGREE, RADIUS, SCALING = 10, 0.6, 1.2


def _factory(model: str, n_nodes: int):
    """A callable ``run(u (T, B, 3))`` for one built and warmed-up model."""
    if model == "reservoirpy":
        try:
            from reservoirpy.nodes import Reservoir  # noqa: PLC0415
        except ImportError:
            return None
        import reservoirpy  # noqa: PLC0415

        reservoirpy.verbosity(0) if hasattr(reservoirpy, "verbosity") else None
        res = Reservoir(units=n_nodes, sr=RADIUS, rc_connectivity=DEGREE / n_nodes,
                        input_scaling=SCALING, lr=1.0, seed=0)

        def run(u):
            return res.run(np.ascontiguousarray(u.transpose(1, 0, 2)) if u.shape[1] > 1 else u[:, 0])
        return run
    from astrocore.reservoir import ESN, RhythmicSharing  # noqa: PLC0415

    common = dict(degree=DEGREE, spectral_radius=RADIUS, input_scaling=SCALING, seed=0)
    if model == "esn":
        net = ESN(n_nodes, **common)
    else:
        net = RhythmicSharing(n_nodes, astro_graph=model.split("_")[1], **common)
    return lambda u: net.run(u)


def _time(run, u) -> float:
    t0 = time.perf_counter()
    run(u)
    return time.perf_counter() - t0


def measure(model: str, n_nodes: int, batch: int, *, repeats: int = 5, seconds: float = 0.2,
            seed: int = 0) -> float | None:
    """Median steps per second of ``model`` (None if unavailable)."""
    run = _factory(model, n_nodes)
    if run is None:
        return None
    rng = np.random.default_rng(seed)
    probe = 0.5 * rng.normal(size=(20, batch, 3))
    run(probe)                                    # build lazily created parts, warm caches
    rate = 20 / max(_time(run, probe), 1e-9)
    steps = int(np.clip(rate * seconds, 50, 50_000))
    u = 0.5 * rng.normal(size=(steps, batch, 3))
    times = [_time(run, u) for _ in range(repeats)]
    return steps / statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m astrocore.bench reservoir",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="write the table as CSV (model, n_nodes, batch, steps_per_second)")
    parser.add_argument("--sizes", type=positive_int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--batches", type=positive_int, nargs="+", default=[1, 16])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--repeats", type=positive_int, default=5)
    parser.add_argument("--seconds", type=positive_float, default=0.2, help="target duration of one timed run")
    args = parser.parse_args(argv)

    rows = []
    print("steps_per_second: time steps per second; one step advances all `batch` reservoirs")
    print(f"{'model':<18}{'n_nodes':>8}{'batch':>7}{'steps_per_second':>18}", flush=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n in args.sizes:
            for b in args.batches:
                for model in args.models:
                    sps = measure(model, n, b, repeats=args.repeats, seconds=args.seconds)
                    if sps is None:
                        print(f"{model:<18}{n:>8}{b:>7}{'unavailable':>18}", flush=True)
                        continue
                    rows.append({"model": model, "n_nodes": n, "batch": b, "steps_per_second": sps})
                    print(f"{model:<18}{n:>8}{b:>7}{sps:>18,.0f}", flush=True)
    _summary(rows)
    if args.out:
        with open(args.out, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["model", "n_nodes", "batch", "steps_per_second"])
            writer.writeheader()
            for row in rows:
                writer.writerow({**row, "steps_per_second": f"{row['steps_per_second']:.1f}"})
        print(f"wrote {args.out}")
    return 0


def _summary(rows) -> None:
    """Print the issue's targets against the measurements (no assertion)."""
    table = {(r["model"], r["n_nodes"], r["batch"]): r["steps_per_second"] for r in rows}
    print("\ntargets:")
    for (model, n, b), sps in sorted(table.items()):
        if model == "esn" and ("reservoirpy", n, b) in table:
            ref = table["reservoirpy", n, b]
            print(f"  esn >= reservoirpy at N={n}, B={b}: {sps / ref:.1f}x "
                  f"({'met' if sps >= ref else 'MISSED'})")
        if model == "rhythmic_links" and n == 100 and b == 1:
            print(f"  rhythmic_links >= 30,000 steps/s at N=100 (one reservoir): {sps:,.0f} "
                  f"({'met' if sps >= 30_000 else 'MISSED'})")
        if model == "rhythmic_domains" and ("esn", n, b) in table:
            ratio = table["esn", n, b] / sps
            print(f"  rhythmic_domains step time within 3x of esn at N={n}, B={b}: {ratio:.1f}x "
                  f"({'met' if ratio <= 3 else 'MISSED'})")


if __name__ == "__main__":
    sys.exit(main())

"""Where `make figures` spends its time: per-rule wall time of the workflow's jobs.

    python -m astrocore.workflow.profile [--logs logs] [--out FILE.csv]

Every generated rule records its job's wall time with snakemake's ``benchmark:``
directive (``<log>.benchmark.tsv`` beside the job's executed notebook, column
``s``); a job without one (run before the directive existed) is timed by the
``duration`` papermill wrote into its executed notebook. Each job is matched to
its rule by the rule's log pattern (config/experiments.yaml). Printed per rule:
jobs, total job-minutes (the sum of the jobs' wall times: what the rule costs
one core when it has the machine to itself), the job-minutes spent outside the
notebook's cells (a benchmarked job's wall time less the durations papermill
wrote into its cells: starting Python, papermill and the kernel, writing the
log; the part of the study that grows with the number of jobs, not their
size), the longest job (the rule's floor with unlimited cores), and where each
time came from.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from pathlib import Path

import yaml

from .registry import REGISTRY_FILE, Registry

ROOT = Path(__file__).resolve().parents[2]


def _pattern(log: str) -> re.Pattern:
    """The regex of a rule's log path, every ``{wildcard}`` one path-free field."""
    parts = re.split(r"(\{[^}]+\})", log.removesuffix(".ipynb"))
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + r"$")


def _papermill_seconds(notebook: Path) -> float | None:
    try:
        return float(json.loads(notebook.read_text())["metadata"]["papermill"]["duration"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _cell_seconds(notebook: Path) -> float | None:
    """The sum of the durations papermill wrote into the executed notebook's cells."""
    try:
        cells = json.loads(notebook.read_text())["cells"]
        return float(sum(c.get("metadata", {}).get("papermill", {}).get("duration") or 0.0 for c in cells))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _benchmark_seconds(tsv: Path) -> float | None:
    try:
        rows = list(csv.DictReader(tsv.read_text().splitlines(), delimiter="\t"))
        return float(rows[-1]["s"])
    except (OSError, ValueError, KeyError, IndexError):
        return None


def job_times(logs: Path, registry: Registry) -> list[dict]:
    """One row per job found under ``logs``: rule, job (its log stem), seconds, source, and
    ``outside_seconds`` (benchmarked wall time less the cells' durations; None without both)."""
    patterns = [(name, _pattern(spec.log)) for name, spec in registry.rules.items()]
    stems = {p.parent / p.name.removesuffix(".ipynb") for p in logs.rglob("*.ipynb")}
    stems |= {p.parent / p.name.removesuffix(".benchmark.tsv") for p in logs.rglob("*.benchmark.tsv")}
    rows = []
    for stem in sorted(stems):
        relative = f"logs/{stem.relative_to(logs).as_posix()}"
        rule = next((name for name, pattern in patterns if pattern.match(relative)), None)
        if rule is None:
            continue
        notebook = stem.parent / f"{stem.name}.ipynb"
        seconds, source = _benchmark_seconds(stem.parent / f"{stem.name}.benchmark.tsv"), "benchmark"
        cells = _cell_seconds(notebook) if seconds is not None else None
        if seconds is None:
            seconds, source = _papermill_seconds(notebook), "papermill"
        if seconds is not None:
            rows.append({"rule": rule, "job": relative, "seconds": seconds, "source": source,
                         "outside_seconds": None if cells is None else max(seconds - cells, 0.0)})
    return rows


def per_rule(jobs: list[dict]) -> list[dict]:
    """Jobs, total, outside-the-cells and longest job-minutes per rule, most expensive first."""
    table: dict[str, dict] = {}
    for job in jobs:
        row = table.setdefault(job["rule"], {"rule": job["rule"], "jobs": 0, "total_min": 0.0, "outside_min": 0.0,
                                             "longest_min": 0.0, "sources": set()})
        row["jobs"] += 1
        row["total_min"] += job["seconds"] / 60
        row["outside_min"] += (job.get("outside_seconds") or 0.0) / 60
        row["longest_min"] = max(row["longest_min"], job["seconds"] / 60)
        row["sources"].add(job["source"])
    rows = sorted(table.values(), key=lambda r: -r["total_min"])
    for row in rows:
        row["sources"] = "+".join(sorted(row["sources"]))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m astrocore.workflow.profile", description=__doc__.split("\n")[0])
    parser.add_argument("--logs", default=str(ROOT / "logs"), help="the workflow's log folder (default: logs/)")
    parser.add_argument("--out", help="also write the per-rule table as CSV")
    args = parser.parse_args(argv)
    logs = Path(args.logs)
    if not logs.is_dir():
        print(f"--logs must be the workflow's log folder, got {logs} (no such folder)", file=sys.stderr)
        return 2
    registry = Registry.load(REGISTRY_FILE, yaml.safe_load((ROOT / "config" / "schema.yaml").read_text()))
    rows = per_rule(job_times(logs, registry))
    total, outside = sum(r["total_min"] for r in rows), sum(r["outside_min"] for r in rows)
    print(f"{'rule':<28}{'jobs':>6}{'total job-min':>15}{'outside cells':>15}{'longest min':>13}  source")
    for r in rows:
        print(f"{r['rule']:<28}{r['jobs']:>6}{r['total_min']:>15.1f}{r['outside_min']:>15.1f}"
              f"{r['longest_min']:>13.1f}  {r['sources']}")
    print(f"{'all':<28}{sum(r['jobs'] for r in rows):>6}{total:>15.1f}{outside:>15.1f}")
    if args.out:
        fields = ["rule", "jobs", "total_min", "outside_min", "longest_min", "sources"]
        with open(args.out, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows({**r, **{k: round(r[k], 2) for k in ("total_min", "outside_min", "longest_min")}}
                             for r in rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())

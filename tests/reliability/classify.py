"""Count the catalogue's outcomes (clear / unclear / silent / hang) for the astrocore on sys.path.

    python -m tests.reliability.classify [--memory-gib 8] [--out FILE.csv]

Runs every case in this one process, each under its own time limit, with the
address space capped (so a request that would swap the machine fails fast as
numpy's MemoryError, which counts as unclear). To measure another checkout's
library, put it first on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import collections
import csv
import os
import resource
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory-gib", type=float, default=8.0)
    parser.add_argument("--out")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    limit = int(args.memory_gib * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.environ.setdefault("ASTROCORE_PROGRESS", "0")
    from .case import OUTCOMES, classify  # noqa: PLC0415
    from .catalogue import CASES  # noqa: PLC0415

    import astrocore  # noqa: PLC0415

    rows = []
    for case in CASES:
        outcome, detail = classify(case)
        rows.append({"id": case.id, "defect": case.defect or "", "outcome": outcome, "detail": detail})
        if args.verbose or outcome != "clear":
            print(f"{outcome:8s} {case.id}: {detail}"[:400], flush=True)
    counts = collections.Counter(r["outcome"] for r in rows)
    print(f"astrocore from {os.path.dirname(astrocore.__file__)}: {len(rows)} cases: "
          + ", ".join(f"{o} {counts.get(o, 0)}" for o in OUTCOMES))
    if args.out:
        with open(args.out, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Dispatch ``python -m astrocore.bench <name> ...`` to a benchmark module."""

import importlib
import sys

BENCHMARKS = {"mgd": "astrocore.bench.mgd", "reservoir": "astrocore.bench.reservoir", "gpu": "astrocore.bench.gpu"}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in BENCHMARKS:
        print(f"usage: python -m astrocore.bench {{{','.join(BENCHMARKS)}}} [--out FILE.csv]",
              file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    return importlib.import_module(BENCHMARKS[argv[0]]).main(argv[1:]) or 0


if __name__ == "__main__":
    sys.exit(main())

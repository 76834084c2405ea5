"""One workflow job's papermill, without the slowest import of its start-up.

``python -m astrocore.workflow.run_notebook ARGS`` is ``python -m papermill ARGS``
(:func:`astrocore.config.papermill_command` writes it into every rule), except
that jsonschema's optional IRI format checker is not loaded: jsonschema imports
``rfc3987_syntax`` when present (it comes with ``jsonschema[format-nongpl]``,
which jupyter-events requires), and that module builds a Lark grammar at import,
1.5 s of every job's start on an idle 2-core machine and 3 s while the workflow
runs two jobs, more than the rest of papermill's imports together (measured with
``python -X importtime -c "import papermill"``). Papermill validates notebooks
with nbformat's schema, which uses no format checker, so nothing it checks
changes; the notebook's own kernel never imported the module.
"""

from __future__ import annotations

import sys

SKIPPED_IMPORTS = ("rfc3987_syntax",)
"""Modules this process treats as absent (their importers catch the ImportError)."""


def main(argv: list[str] | None = None) -> None:
    for name in SKIPPED_IMPORTS:
        sys.modules.setdefault(name, None)
    from papermill.cli import papermill  # noqa: PLC0415 - after the modules above are marked absent

    papermill.main(args=sys.argv[1:] if argv is None else argv, prog_name="papermill")


if __name__ == "__main__":  # pragma: no cover - the workflow's entry point
    main()

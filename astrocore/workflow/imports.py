"""The library modules a notebook runs: its ``astrocore`` imports, followed transitively.

Each rule of the workflow takes these files as inputs (:func:`library_files`), so
editing a kernel makes exactly the results computed with it out of date, and
nothing else. The imports are read with :mod:`ast`, never executed:

- a notebook's code cells (IPython magics and shell escapes left out);
- every ``import`` and ``from ... import`` anywhere in a module, function bodies
  included (a lazy import may run), relative ones resolved against the module's
  package; ``from astrocore import store`` imports the submodule ``store``;
- the ``__init__.py`` of every package on the way (``astrocore.reservoir.esn``
  runs ``astrocore/__init__.py`` and ``astrocore/reservoir/__init__.py``).

Only files of this checkout's ``astrocore/`` count; other packages are pinned by
the lock file, not tracked here.
"""

from __future__ import annotations

import ast
import functools
import json
from collections.abc import Iterable
from pathlib import Path

PACKAGE = "astrocore"
ROOT = Path(__file__).absolute().parents[2]  # not resolved: a linked library stays in its checkout
"""The checkout: ``astrocore/`` and ``notebooks/`` lie in it."""


def module_file(name: str, root: Path = ROOT) -> Path | None:
    """The file of module ``name`` (``astrocore.reservoir.esn``) in ``root``, or None if it is not
    a module of the library (another package, or a name that is no module, e.g. a class)."""
    parts = name.split(".")
    if parts[0] != PACKAGE or not all(p.isidentifier() for p in parts):
        return None
    path = root.joinpath(*parts)
    if (path / "__init__.py").is_file():  # a package wins over a module of the same name, as in Python
        return path / "__init__.py"
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    return None


def imported_names(tree: ast.AST, package: str = "") -> list[str]:
    """Every module name ``tree`` may import: ``import a.b`` gives ``a.b``; ``from a import b``
    gives ``a`` and ``a.b`` (``b`` may be a submodule); relative imports resolved in ``package``."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                if node.level - 1 > len(parts):
                    continue  # beyond the top package: Python refuses it too
                base = parts[:len(parts) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.append(module)
            names += [f"{module}.{alias.name}" for alias in node.names if alias.name != "*"]
    return [n for n in names if n]


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


@functools.lru_cache(maxsize=None)
def _module_imports(path: Path, package: str, mtime: float) -> tuple[str, ...]:
    return tuple(imported_names(ast.parse(path.read_text(encoding="utf-8"), str(path)), package))


def closure(names: Iterable[str], root: Path = ROOT) -> dict[str, Path]:
    """Module name -> file of every library module that importing ``names`` runs, transitively."""
    found: dict[str, Path] = {}
    todo = [parent for name in names for parent in _with_parents(name)]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        path = module_file(name, root)
        if path is None:
            continue
        found[name] = path
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        todo += [p for imported in _module_imports(path, package, path.stat().st_mtime)
                 for p in _with_parents(imported)]
    return dict(sorted(found.items()))


def notebook_source(path: Path) -> str:
    """The code of a notebook's code cells, one after another; lines of IPython magics (``%``) and
    shell escapes (``!``) left out, so :mod:`ast` reads the rest."""
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    lines = []
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        lines += ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
        lines.append("")
    return "\n".join(lines)


@functools.lru_cache(maxsize=None)
def _notebook_imports(path: Path, mtime: float) -> tuple[str, ...]:
    return tuple(imported_names(ast.parse(notebook_source(path), str(path))))


def notebook_modules(path: str | Path, root: Path = ROOT) -> dict[str, Path]:
    """Module name -> file of every library module the notebook at ``path`` runs."""
    path = Path(path)
    return closure(_notebook_imports(path, path.stat().st_mtime), root)


def library_files(path: str | Path, root: Path = ROOT) -> list[str]:
    """The files of :func:`notebook_modules`, as absolute paths (a rule's inputs)."""
    return [str(p) for p in notebook_modules(path, root).values()]

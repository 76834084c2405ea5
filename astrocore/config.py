"""The workflow's configuration: loaded and checked with the file and line of every error.

    python -m astrocore.config check config/quick.yaml     # what `make figures` runs before snakemake
    python -m astrocore.config unlock-stale --configfile config/quick.yaml

A config file given to the workflow (``snakemake --configfile F``) is merged over
config/default.yaml, key by key (lists replace lists), as snakemake merges it.
:func:`check` then finds every problem at once and raises one :class:`ConfigError`
naming, for each, the file and line the value came from, the key path
(``mgd_parity.steps``), the value and what is allowed:

- every number finite (YAML's ``.nan`` and ``.inf`` are floats JSON schema cannot refuse);
- config/schema.yaml, with integers meaning Python ints (``1.0e+5`` is not a count);
- relations between fields (:func:`cross_field_problems`): evaluation intervals within
  the run, windows shorter than the series, switch times inside it, a sizes entry for
  every dataset, ...

The Snakefile calls :func:`check` on the config snakemake merged, so direct snakemake
users get the same messages; a YAML *syntax* error in a ``--configfile`` stops snakemake
itself before the Snakefile runs ("Config file is not valid JSON or YAML", no line), which
is why `make figures` runs ``python -m astrocore.config check`` first.

Also here, because the Snakefile builds its shell commands from the config: :func:`quote`
and :func:`papermill_command` (every value that reaches a shell is quoted), and
:func:`stale_lock` / ``unlock-stale``, the recovery `make figures` runs after an
interrupted run (a snakemake process killed with -9 leaves its lock behind).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import yaml

ROOT = Path(__file__).absolute().parent.parent  # the checkout (not resolved: a linked library stays in it)
DEFAULT = ROOT / "config" / "default.yaml"
SCHEMA = ROOT / "config" / "schema.yaml"

#: The largest count any config key may hold (steps, evaluations, windows): a run of 10^9 steps
#: already takes days; 10^12 is a typo, not a plan.
MAX_COUNT = 10**9


class ConfigError(ValueError):
    """A config file cannot be read, or its values are not allowed; the message names each
    problem's file, line and key path."""


# ---------------------------------------------------------------------------------------- loading
class _Source:
    """One config file: its data and the line of every key path in it."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{self.path}: config file not found") from None
        except IsADirectoryError:
            raise ConfigError(f"{self.path}: is a directory, not a config file") from None
        except UnicodeDecodeError as err:
            raise ConfigError(f"{self.path}: not a text (UTF-8) file: {err}") from None
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.MarkedYAMLError as err:
            mark, context = err.problem_mark or err.context_mark, err.context_mark
            where = f"{self.path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(self.path)
            what = err.problem or err.context or "not valid YAML"
            if err.context and context is not None and context is not mark:
                what += f" ({err.context} at line {context.line + 1}, column {context.column + 1})"
            raise ConfigError(f"{where}: YAML syntax error: {what}") from None
        except yaml.YAMLError as err:
            raise ConfigError(f"{self.path}: YAML error: {err}") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{self.path}, line 1: a config file must be a mapping of keys to values "
                              f"(experiment blocks), got a {type(data).__name__}")
        self.data = data
        self.lines: dict[tuple, int] = {}
        if node is not None:
            self._index(node, ())

    def _index(self, node, prefix: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                path = (*prefix, key.value)
                if path in self.lines:  # PyYAML would silently keep the last one
                    raise ConfigError(f"{self.path}, line {key.start_mark.line + 1}: duplicate key {key_path(path)} "
                                      f"(first given at line {self.lines[path]})")
                self.lines[path] = key.start_mark.line + 1
                self._index(value, path)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.lines[(*prefix, i)] = item.start_mark.line + 1
                self._index(item, (*prefix, i))


def merge(base: dict, override: Mapping) -> dict:
    """``override`` merged into a copy of ``base`` key by key, as snakemake merges config files
    (nested mappings merged, everything else, lists included, replaced)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load(*files: str | os.PathLike, default: str | os.PathLike | None = DEFAULT) -> tuple[dict, list[_Source]]:
    """The config the workflow sees for ``--configfile files``: ``default`` with each file merged
    over it in order; and the sources, for :func:`check` to name where a value came from."""
    paths = ([default] if default is not None else []) + [f for f in files if default is None
                                                          or Path(f).resolve() != Path(default).resolve()]
    sources = [_Source(p) for p in paths]
    config: dict = {}
    for source in sources:
        config = merge(config, source.data)
    return config, sources


# ---------------------------------------------------------------------------------------- checking
def key_path(path: Iterable) -> str:
    """``('mgd_parity', 'bits', 0)`` -> ``mgd_parity.bits[0]``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _where(path: tuple, sources: Sequence[_Source]) -> str:
    """The file and line the value at ``path`` came from (the last file that sets it)."""
    for k in range(len(path), 0, -1):
        for source in reversed(sources):
            if path[:k] in source.lines:
                return f"{source.path}, line {source.lines[path[:k]]}"
    if sources:
        return f"{sources[-1].path}" if len(sources) == 1 else "the merged config (" + ", ".join(
            str(s.path) for s in sources) + ")"
    return "config"


def _nonfinite(value, path=()) -> Iterable[tuple[tuple, object]]:
    if isinstance(value, float) and not math.isfinite(value):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _nonfinite(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _nonfinite(item, (*path, i))


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def allowed(schema: Mapping) -> str:
    """What a (sub)schema allows, in words."""
    if "enum" in schema:
        return "one of " + ", ".join("null" if v is None else str(v) for v in schema["enum"])
    if "const" in schema:
        return repr(schema["const"])
    kind = schema.get("type")
    if kind in ("integer", "number"):
        noun = "an integer" if kind == "integer" else "a finite number"
        lo = [f">= {_number(schema['minimum'])}"] if "minimum" in schema else []
        lo += [f"> {_number(schema['exclusiveMinimum'])}"] if "exclusiveMinimum" in schema else []
        hi = [f"<= {_number(schema['maximum'])}"] if "maximum" in schema else []
        hi += [f"< {_number(schema['exclusiveMaximum'])}"] if "exclusiveMaximum" in schema else []
        return " ".join([noun, " and ".join(lo + hi)]).strip()
    if kind == "boolean":
        return "true or false"
    if kind == "array":
        sizes = []
        if "minItems" in schema:
            sizes.append(f"at least {schema['minItems']}")
        if "maxItems" in schema:
            sizes.append(f"at most {schema['maxItems']}")
        text = "a list" + (f" of {' and '.join(sizes)} items" if sizes else "")
        if schema.get("uniqueItems"):
            text += ", no repeats"
        if isinstance(schema.get("items"), Mapping) and "$ref" not in schema["items"]:
            text += f", each {allowed(schema['items'])}"
        if "contains" in schema:
            text += f", including {allowed(schema['contains'])}"
        return text
    if kind == "object":
        keys = list(schema.get("properties", {}))
        text = "a mapping"
        if schema.get("additionalProperties") is False and keys:
            text += " with keys from: " + ", ".join(keys)
        if schema.get("required"):
            text += "; required: " + ", ".join(schema["required"])
        return text
    return json.dumps(schema)[:200]


def _validator(schema: Mapping):
    """A JSON-schema validator for ``schema`` whose integers are Python ints (not 1.0, not True)."""
    import jsonschema  # noqa: PLC0415

    base = jsonschema.validators.validator_for(schema)
    checker = base.TYPE_CHECKER.redefine(
        "integer", lambda checker, value: isinstance(value, int) and not isinstance(value, bool))
    return jsonschema.validators.extend(base, type_checker=checker)(schema)


def schema_problems(config: Mapping, schema: Mapping, skip: Iterable[tuple] = ()) -> list[tuple[tuple, str]]:
    """``(key path, message)`` for each schema violation (not below a path in ``skip``)."""
    skip = set(skip)
    out = []
    for error in sorted(_validator(schema).iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path]):
        path = tuple(error.absolute_path)
        if any(path[:len(s)] == s for s in skip):
            continue
        if error.validator == "additionalProperties":
            extra = [k for k in error.instance if k not in error.schema.get("properties", {})]
            for key in extra:
                out.append(((*path, key), f"{key_path((*path, key))}: unknown key {key!r}; "
                            f"{key_path(path) if path else 'the config'} allows: "
                            f"{', '.join(error.schema.get('properties', {}))}"))
            continue
        if error.validator == "required":
            out.append((path, f"{key_path(path)}: {error.message}"))
            continue
        if error.validator in ("additionalProperties", "properties"):
            continue
        out.append((path, f"{key_path(path)}: {error.message}; allowed: {allowed(error.schema)}"))
    return out


def _get(config: Mapping, *path):
    for key in path:
        if not isinstance(config, Mapping) or key not in config:
            return None
        config = config[key]
    return config


def cross_field_problems(config: Mapping) -> list[tuple[tuple, str]]:
    """``(key path, message)`` for each relation between fields that does not hold.

    Assumes the config passed the schema (types are right)."""
    out: list[tuple[tuple, str]] = []

    def at_most(block, key, limit_key, value=None, limit=None, note=""):
        value = _get(config, *block, key) if value is None else value
        limit = _get(config, *block, limit_key) if limit is None else limit
        if value is not None and limit is not None and value > limit:
            out.append(((*block, key), f"{key_path((*block, key))} = {_number(value)} must be at most "
                        f"{key_path((*block, limit_key)) if isinstance(limit_key, str) else limit_key} = "
                        f"{_number(limit)}{note}"))

    def below(block, key, series_key, value=None, note=" (a window or offset must be shorter than the series)"):
        value = _get(config, *block, key) if value is None else value
        length = _get(config, *block, series_key)
        if value is not None and length is not None and value >= length:
            out.append(((*block, key), f"{key_path((*block, key))} = {_number(value)} must be less than "
                        f"{key_path((*block, series_key))} = {_number(length)}{note}"))

    def increasing_within(block, key, end_key):
        times = _get(config, *block, key)
        end = _get(config, *block, end_key)
        if times is None or end is None:
            return
        if any(b <= a for a, b in zip(times, times[1:])):
            out.append(((*block, key), f"{key_path((*block, key))} = {times} must be increasing"))
        outside = [t for t in times if not 0 < t < end]
        if outside:
            out.append(((*block, key), f"{key_path((*block, key))}: {outside} must lie within "
                        f"(0, {key_path((*block, end_key))} = {_number(end)})"))

    def entries(block, key, names, what, listed):
        table = _get(config, *block, key)
        if table is None:
            return
        for name in names or ():
            if name not in table:
                out.append((listed, f"{key_path((*block, key))} has no entry for {what} {name!r} "
                            f"(listed in {key_path(listed)})"))

    # MGD on parity: evaluations inside the run
    at_most(("mgd_parity",), "eval_every", "steps")
    at_most(("mgd_parity",), "tau_theta", "steps")
    # MGD against backprop
    block = ("mgd_vs_backprop",)
    entries(block, "sizes", _get(config, *block, "datasets"), "dataset", (*block, "datasets"))
    at_most(block, "eval_points", "mgd_steps")
    at_most(block, "eval_points", "bp_steps")
    at_most(block, "mgd_tau_theta", "mgd_steps")
    # MGD sweep: one window costs tau_theta + 1 cost evaluations
    block = ("mgd_sweep",)
    evaluations = _get(config, *block, "evaluations")
    for i, tau in enumerate(_get(config, *block, "tau_theta") or ()):
        if evaluations is not None and tau + 1 > evaluations:
            out.append(((*block, "tau_theta", i), f"{key_path((*block, 'tau_theta', i))} = {tau}: one window "
                        f"costs tau_theta + 1 = {tau + 1} evaluations, more than {key_path((*block, 'evaluations'))}"
                        f" = {evaluations}"))
    at_most(block, "eval_points", "evaluations")
    # regime series: switches inside, windows shorter than the series
    for name in ("rhythmic_regimes", "hardware_reservoir"):
        block = (name,)
        increasing_within(block, "switch_times", "t_end")
        for key in ("warmup", "transition", "std_window", "norm_window", "smooth_window", "persist"):
            below(block, key, "t_end")
    block = ("rhythmic_regimes",)
    end = _get(config, *block, "t_end")
    late = [t for t in _get(config, *block, "snapshot_times") or () if end is not None and t > end]
    if late:
        out.append(((*block, "snapshot_times"), f"{key_path((*block, 'snapshot_times'))}: {late} must be at most "
                    f"{key_path((*block, 't_end'))} = {end}"))
    # reservoir benchmark data, per system
    for name in ("rhythmic_systems", "rhythmic_inference"):
        for system in _get(config, name, "systems") or ():
            if not isinstance(_get(config, name, system), Mapping):
                out.append(((name, "systems"), f"{key_path((name, 'systems'))} lists {system!r} but "
                            f"{key_path((name, system))} is not given (its data: "
                            f"{', '.join(_get(config, name, 'thomas') or {}) or 'see config/default.yaml'})"))
    for system in ("thomas", "lorenz"):
        block = ("rhythmic_systems", system)
        if isinstance(_get(config, *block), Mapping):
            increasing_within(block, "train_switches", "train_steps")
            at_most(block, "lyap_t_renorm", "lyap_t_total")
        block = ("rhythmic_inference", system)
        if isinstance(_get(config, *block), Mapping):
            below(block, "washout", "steps")
    # validation forecasts run inside the validation windows (rhythmic_systems.horizon steps long)
    val, horizon = _get(config, "rhythmic_adaptation", "val_horizon"), _get(config, "rhythmic_systems", "horizon")
    if val is not None and horizon is not None and val > horizon:
        out.append((("rhythmic_adaptation", "val_horizon"), f"rhythmic_adaptation.val_horizon = {val} must be at most "
                    f"rhythmic_systems.horizon = {horizon} (the validation windows' length after warm-up)"))
    # smart perturbations: one entry per dataset (and direction) of every per-dataset table
    block = ("smart_perturbations",)
    datasets = _get(config, *block, "datasets") or ()
    directions = _get(config, *block, "directions") or ()
    entries(block, "sizes", datasets, "dataset", (*block, "datasets"))
    for key in ("eta", "evaluations"):
        entries(block, key, datasets, "dataset", (*block, "datasets"))
        for dataset in datasets:
            table = _get(config, *block, key, dataset)
            if isinstance(table, Mapping):
                entries((*block, key), dataset, directions, "direction", (*block, "directions"))
                for direction in directions:
                    n = table.get(direction)
                    if key == "evaluations" and isinstance(n, int):
                        at_most(block, "eval_points", f"evaluations.{dataset}.{direction}", limit=n)
    # hardware MGD: evaluations inside each run
    block = ("hardware_mgd",)
    at_most(block, "eval_points", "steps")
    at_most(block, "eval_points", "bp_steps")
    at_most(block, "tau_theta", "steps")
    return out


def problems(config: Mapping, schema: Mapping | None = None) -> list[tuple[tuple, str]]:
    """Every problem of ``config``: non-finite numbers, schema violations, then (if the schema
    holds) the cross-field relations; ``(key path, message)`` each."""
    if schema is None:
        schema = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))
    found = [(path, f"{key_path(path)}: {value!r} is not allowed: numbers must be finite (no .nan or .inf)")
             for path, value in _nonfinite(config)]
    found += schema_problems(config, schema, skip=[p for p, _ in found])
    if not found:
        found += cross_field_problems(config)
    return found


def check(config: Mapping, sources: Sequence[_Source | str | os.PathLike] = (),
          schema: Mapping | None = None) -> None:
    """Raise :class:`ConfigError` naming every problem of ``config`` with the file and line it
    came from (``sources``: the files merged into it, in order, or their paths)."""
    sources = [s if isinstance(s, _Source) else _Source(s) for s in sources]
    found = problems(config, schema)
    if found:
        where = [_where(path, sources) for path, _ in found]
        order = {str(s.path): i for i, s in enumerate(reversed(sources))}

        def position(text):  # the files the user gave first (last merged), then by line
            file, _, line = text.rpartition(", line ")
            return (order.get(file, len(order)), int(line) if line.isdigit() else 0)

        lines = [f"{w}: {message}" for w, (_, message) in sorted(zip(where, found), key=lambda x: position(x[0]))]
        head = "invalid config" + (f" ({len(found)} problems)" if len(found) > 1 else "")
        raise ConfigError(head + ":\n  " + "\n  ".join(lines))


def check_files(*files: str | os.PathLike, default: str | os.PathLike | None = DEFAULT) -> dict:
    """Load ``files`` over ``default`` as the workflow does, check the result, return it."""
    config, sources = load(*files, default=default)
    check(config, sources)
    return config


# ---------------------------------------------------------------------------------------- shell commands
def quote(value) -> str:
    """``value`` as one POSIX shell word, always in single quotes (a quote inside becomes ``'\\''``)."""
    return "'" + str(value).replace("'", "'\\''") + "'"


def papermill_command(python: str | os.PathLike, notebooks: str | os.PathLike, notebook: str,
                      parameters: Mapping, threads: int) -> str:
    """Shell command executing ``notebooks/notebook`` with ``parameters`` (the caller appends the
    output notebook); every path and the parameters are quoted, so any checkout path works."""
    threads = int(threads)
    return (f"OMP_NUM_THREADS={threads} OPENBLAS_NUM_THREADS={threads} MKL_NUM_THREADS={threads} "
            f"ASTROCORE_PROGRESS=0 {quote(python)} -m astrocore.workflow.run_notebook --no-progress-bar -k python3 "
            f"--cwd {quote(notebooks)} -y {quote(json.dumps(parameters))} {quote(Path(notebooks) / notebook)}")


# ---------------------------------------------------------------------------------------- recovery
def _snakemake_dir(proc) -> Path | None:
    """The working directory of a snakemake process (its --directory, else its cwd); None if it
    is not a snakemake process."""
    try:
        args = proc.cmdline()
    except Exception:  # noqa: BLE001 - gone, or not ours to read
        return None
    names = [os.path.basename(a) for a in args[:3]]
    is_snakemake = any(n == "snakemake" for n in names) or any(
        a == "-m" and b == "snakemake" for a, b in zip(args, args[1:]))
    if not is_snakemake:
        return None
    try:
        cwd = Path(proc.cwd())
    except Exception:  # noqa: BLE001 - another user's process: assume it may work here
        return Path("/")
    for i, arg in enumerate(args):
        if arg in ("--directory", "-d") and i + 1 < len(args):
            return (cwd / args[i + 1]).resolve()
        if arg.startswith("--directory="):
            return (cwd / arg.split("=", 1)[1]).resolve()
    return cwd.resolve()


def running_snakemake(directory: str | os.PathLike = ".") -> list[int]:
    """PIDs of snakemake processes on this machine that may be working in ``directory`` (a process
    whose directory cannot be read counts as one)."""
    import psutil  # noqa: PLC0415 - a snakemake dependency

    directory = Path(directory).resolve()
    own = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
    out = []
    for proc in psutil.process_iter():
        if proc.pid in own:
            continue
        where = _snakemake_dir(proc)
        if where is not None and (where == Path("/") or where == directory):
            out.append(proc.pid)
    return out


def stale_lock(directory: str | os.PathLike = ".") -> bool | list[int]:
    """True if ``directory`` holds a snakemake lock and no snakemake process works there (the lock
    of a killed run); a list of PIDs if one may (the lock is theirs); False if there is no lock."""
    locks = Path(directory) / ".snakemake" / "locks"
    if not locks.is_dir() or not any(locks.iterdir()):
        return False
    running = running_snakemake(directory)
    return running or True


def unlock_stale(directory: str | os.PathLike = ".", snakefile: str | os.PathLike | None = None,
                 configfiles: Sequence[str] = ()) -> str:
    """Remove a stale lock (``snakemake --unlock``) when no snakemake process works in
    ``directory``; a line saying what was done."""
    state = stale_lock(directory)
    if state is False:
        return "no snakemake lock"
    if state is not True:
        return (f"a snakemake process (pid {', '.join(map(str, state))}) may be running in {Path(directory).resolve()};"
                " its lock is left alone")
    command = [sys.executable, "-m", "snakemake", "--unlock", "--directory", str(directory)]
    if snakefile is not None:
        command += ["--snakefile", str(snakefile)]
    for file in configfiles:
        command += ["--configfile", str(file)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=directory)
    if result.returncode:
        raise RuntimeError(f"snakemake --unlock failed (exit {result.returncode}):\n"
                           + (result.stdout + result.stderr)[-3000:])
    return (f"removed the stale lock of an interrupted run in {Path(directory).resolve()} "
            "(no snakemake process runs there); incomplete outputs are rerun")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m astrocore.config", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    check_parser = sub.add_parser("check", help="check config files (merged over config/default.yaml)")
    check_parser.add_argument("files", nargs="*", help="config files, merged in order over --default")
    check_parser.add_argument("--default", default=str(DEFAULT),
                              help="the workflow's own config file ('' for none); default: %(default)s")
    unlock = sub.add_parser("unlock-stale", help="remove the lock of an interrupted snakemake run, if no "
                                                 "snakemake process works in the directory")
    unlock.add_argument("--directory", default=".")
    unlock.add_argument("--snakefile")
    unlock.add_argument("--configfile", action="append", default=[])
    args = parser.parse_args(argv)
    if args.command == "check":
        try:
            check_files(*args.files, default=args.default or None)
        except ConfigError as err:
            print(f"ConfigError: {err}", file=sys.stderr)
            return 1
        print(f"config ok: {', '.join([args.default] * bool(args.default) + args.files)}")
        return 0
    print(unlock_stale(args.directory, args.snakefile, args.configfile))
    return 0


if __name__ == "__main__":
    sys.exit(main())

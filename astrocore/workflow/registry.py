"""The experiment registry (``config/experiments.yaml``) and the rules generated from it.

Each experiment of the study is declared once: its config block (same name), its run
notebooks with their sweep axes and point file names, its figure notebooks with the
figures and tables they make. ``rules/experiments.smk`` generates one snakemake rule per
registered notebook from it; the tests read it instead of keeping their own lists.

A registry entry::

    mgd_vs_backprop:                          # the config block of the same name
      runs:
        mgd_vs_backprop_run:                  # the rule (notebook: the same name unless given)
          sweep: {dataset: datasets, method: methods}
          point: dataset-{dataset}_method-{method}
          derive: {sizes: "sizes.{dataset}"}
          resources: {runtime: 60, mem_mb: 4000}
      figures:
        mgd_vs_backprop_figure:
          notebook: mgd_vs_backprop_figures
          makes: [mgd_vs_backprop]

Run rules (``runs``) write ``data/<experiment>/<point>.nc`` (or ``output:``, for a run
without sweep), logged to ``logs/<notebook>/<point>.ipynb``; figure rules (``figures``)
write, for each name in ``makes``, ``figures/<name>.png``, ``.pdf`` and
``figures/tables/<name>.csv``, ``.md`` (``tables``: further tables), logged to
``logs/<rule>.ipynb``. Fields:

- ``sweep``: ``{wildcard: key path}``, the config key listing the wildcard's values;
  ``{wildcard: {over: key path, type: integer | number | name}}`` where the schema cannot
  tell the type; ``{wildcard: {hook: name}}`` for points a key cannot list (:data:`HOOKS`).
  An integer is spelled ``2``, a number as :func:`number` spells it (``0.001``, ``28``), a
  name as it is; each wildcard is constrained to its spelling (a name: to the schema's enum).
- ``derive``: ``{parameter: key path}`` for a parameter not named in the block
  (``"sizes.{dataset}"``: the block's ``sizes`` entry of the point's dataset), ``null`` for
  None, ``{hook: name}`` for a computed value.
- ``lookup``: key paths (``"{system}"``) searched by name before the block itself.
- ``reads``: ``{parameter: rule}`` or ``{parameter: {rule: [rules], where: {wildcard: value}}}``:
  the points of other rules, as input files (a list; one path for a rule without sweep).
  Figure notebooks taking ``inputs`` read the experiment's one run by default.
- ``needs``: ``{hand-written rule: {wildcard: value}}``: that rule's outputs, as inputs of
  the points matching the condition.
- ``not_parameters``: names in the notebook's parameters cell that are not parameters
  (left to the notebook); each one is a defect of the notebook, listed so that it shows.

Key paths are dotted, from the experiment's block (``config.<block>.<key>`` from the
top); ``{wildcard}`` is replaced by the point's value.

A job passes every name of its notebook's ``parameters`` cell (papermill's parameters, so
the notebook's :func:`astrocore.workflow.run_config` hashes the full configuration):
the sweep values, the derived ones, the input files, the paths of :data:`PATHS` and ``out``,
and every other name from the lookup paths, the block, then the config's top level (e.g.
``reference``). A name found nowhere is an error before anything runs (:meth:`Registry.check`).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import parameter_names
from .imports import library_files

ROOT = Path(__file__).absolute().parents[2]
REGISTRY_FILE = ROOT / "config" / "experiments.yaml"
NOTEBOOK_DIR = ROOT / "notebooks"

PATHS = {"raw_dir": "data/raw", "fig_dir": "figures", "table_dir": "figures/tables"}
"""Folder parameters, relative to the working directory (passed as absolute paths)."""
FIGURE_RESOURCES = {"runtime": 10, "mem_mb": 2000}
"""Resources of a figure rule that declares none."""

INTEGER = r"[0-9]+"
NUMBER = r"-?[0-9]+(\.[0-9]+)?(e[-+][0-9]+)?"  # number(): 10, 0.001, 1e-05
TYPES = ("integer", "number", "name")


class RegistryError(ValueError):
    """The registry, a notebook or the config disagree; the message names the rule and the field."""


def number(value) -> str:
    """A number as it appears in a file name (``0.001``, ``10``, ``28``)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def one_of(names: Iterable) -> str:
    """Wildcard constraint: exactly one of ``names`` (no name: matches nothing)."""
    return "|".join(re.escape(str(n)) for n in names) or "(?!)"


# ---------------------------------------------------------------------------------------- key paths
def _fill(text: str, values: Mapping) -> str:
    try:
        return text.format(**values)
    except KeyError as err:
        raise RegistryError(f"{text!r} names the wildcard {err.args[0]!r}, which this rule does not have") from None


def lookup(path: str, block: Mapping, config: Mapping, values: Mapping = {}):  # noqa: B006 - read only
    """The value at dotted key ``path`` (``{wildcard}`` filled from ``values``), from the
    experiment's ``block``, or from the config's top level for ``config.<block>.<key>``."""
    keys = _fill(path, values).split(".")
    node, where = (config, keys[1:]) if keys[0] == "config" else (block, keys)
    for key in where:
        if not isinstance(node, Mapping) or key not in node:
            raise KeyError(path)
        node = node[key]
    return node


def _schema_node(schema: Mapping, node: Mapping) -> Mapping:
    while isinstance(node, Mapping) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise RegistryError(f"schema reference {ref!r}: only local references are followed")
        node = schema
        for part in ref[2:].split("/"):
            node = node[part]
    return node


def schema_at(schema: Mapping, experiment: str, path: str) -> Mapping | None:
    """The schema of the config value at key ``path`` of ``experiment``'s block (None where it
    cannot be told, e.g. a path through a wildcard)."""
    keys = path.split(".")
    keys = keys[1:] if keys[0] == "config" else [experiment, *keys]
    node = schema
    for key in keys:
        node = _schema_node(schema, node)
        if "{" in key or key not in node.get("properties", {}):
            return None
        node = node["properties"][key]
    return _schema_node(schema, node)


# ---------------------------------------------------------------------------------------- hooks
NOISE_KINDS = {"programming": ("programming_noise",), "read": ("read_noise",),
               "both": ("programming_noise", "read_noise")}
"""hardware_mgd's ``noise_kind``: the HardwareModel fields its heatmap's noise axis sets."""
EFFECT_FIELDS = {"activation_variation": ("activation_offset", "activation_slope", "activation_gain")}
"""hardware_mgd's effects that set several HardwareModel fields at once (any other effect: its own field)."""


def _hardware_grid_model(block: Mapping, bits, noise) -> dict:
    """The heatmap point: weight_bits levels over +-weight_clip, stochastic rounding of the in-loop
    writes, and the proportional noise of ``noise_kind`` at level ``noise``."""
    model = {"weight_bits": int(bits), "weight_clip": block["weight_clip"], "stochastic_rounding": True}
    return {**model, **{kind: float(noise) for kind in NOISE_KINDS[block["noise_kind"]]}}


def _hardware_effect_model(effect: str, level) -> dict:
    """One non-ideality on float weights (activation_variation: offset, slope and gain alike)."""
    if effect in EFFECT_FIELDS:
        return {name: float(level) for name in EFFECT_FIELDS[effect]}
    return {effect: int(level) if effect.endswith("_bits") else float(level)}


def _hardware_preset_model(block: Mapping, name: str) -> dict:
    """A named preset (astrocore.hardware.model_from) with the experiment's weight range and
    stochastic rounding of in-loop writes."""
    return {"preset": name, "weight_clip": block["weight_clip"], "stochastic_rounding": True}


def _hardware_points(block: Mapping) -> tuple[list[dict], list[dict], list[dict], list[dict]]:
    ideal = [dict(kind="ideal", file="ideal", hardware={})]
    grid = [dict(kind="grid", weight_bits=int(b), noise=float(n), file=f"bits-{b}_noise-{number(float(n))}",
                 hardware=_hardware_grid_model(block, b, n)) for b in block["weight_bits"] for n in block["noise"]]
    effects = [dict(kind="effect", effect=e, level=float(v), file=f"effect-{e}_level-{number(v)}",
                    hardware=_hardware_effect_model(e, v))
               for e, levels in block["effects"].items() if levels for v in levels]
    presets = [dict(kind="preset", preset=name, hardware=_hardware_preset_model(block, name))
               for name in block["presets"]]
    return ideal, grid, effects, presets


def hardware_mgd_points(block: Mapping, config: Mapping) -> dict[str, dict]:
    """MGD on simulated hardware, one run per point: file name -> the point (its HardwareModel
    whole, so the run notebook receives it): the ideal device, the heatmap (weight bits x the
    proportional noise of ``noise_kind``), one non-ideality at a time on float weights, and each
    preset at each perturbation amplitude (a device's converters and noise set the smallest cost
    change it can see)."""
    ideal, grid, effects, presets = _hardware_points(block)
    runs = [dict(p, amplitude=float(a), file=f"preset-{p['preset']}_amplitude-{number(float(a))}")
            for p in presets for a in block["preset_amplitudes"]]
    return {p["file"]: {k: v for k, v in p.items() if k != "file"} for p in ideal + grid + effects + runs}


def hardware_mgd_deployed(block: Mapping, config: Mapping, wildcards: Mapping) -> list[dict]:
    """Backprop deployed on every device of the sweep (deployment does not depend on MGD's amplitude)."""
    ideal, grid, effects, presets = _hardware_points(block)
    return [{k: v for k, v in p.items() if k != "file"} for p in ideal + grid + effects + presets]


HOOKS: dict[str, Callable] = {"hardware_mgd_points": hardware_mgd_points,
                              "hardware_mgd_deployed": hardware_mgd_deployed}
"""Computed sweeps (``hook(block, config) -> {file name: value}``) and derived values
(``hook(block, config, wildcards) -> value``) a key path cannot express."""
HOOK_KEYS: dict[str, tuple[str, ...]] = {
    name: ("weight_bits", "noise", "noise_kind", "effects", "weight_clip", "presets", "preset_amplitudes")
    for name in HOOKS}
"""The keys of its block each hook reads."""


# ---------------------------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class Axis:
    """One sweep wildcard: where its values are listed, and how they are spelled and passed."""

    wildcard: str
    type: str  # integer, number, name or hook
    over: str | None = None  # key path
    hook: str | None = None
    names: tuple = ()  # a name's allowed values (the schema's enum)

    @classmethod
    def declared(cls, experiment: str, wildcard: str, spec, schema: Mapping) -> Axis:
        """The axis of registry entry ``spec``, its type and names taken from ``schema``."""
        spec = {"over": spec} if isinstance(spec, str) else spec
        if "hook" in spec:
            return cls(wildcard, "hook", hook=_hook(spec["hook"]))
        over = spec["over"]
        node = schema_at(schema, experiment, over)
        items = _schema_node(schema, node.get("items", {})) if node else {}
        kind = spec.get("type") or ("name" if "enum" in items else items.get("type"))
        if kind not in TYPES:
            raise RegistryError(f"sweep {wildcard!r} over {over!r} ({experiment}): config/schema.yaml gives no enum or "
                                "number type for its items; give one (type: integer, number or name)")
        if kind == "name" and "enum" not in items:
            raise RegistryError(f"sweep {wildcard!r} over {over!r} ({experiment}): a name needs an enum in "
                                "config/schema.yaml, so that only the allowed names reach a shell command")
        return cls(wildcard, kind, over=over, names=tuple(items.get("enum", ())))

    def spell(self, value) -> str:
        if self.type == "integer":
            return str(int(value))
        return number(float(value)) if self.type == "number" else str(value)

    def values(self, block: Mapping, config: Mapping, bound: Mapping) -> list[str]:
        """The spelling of every value of this axis in ``config``."""
        if self.hook:
            return list(HOOKS[self.hook](block, config))
        return [self.spell(v) for v in lookup(self.over, block, config, bound)]

    def value(self, spelled: str, block: Mapping, config: Mapping):
        """The value passed to the notebook for the spelling ``spelled`` (a point outside the
        config, asked for by name, is parsed as the wildcard's type)."""
        if self.hook:
            return HOOKS[self.hook](block, config)[spelled]
        return int(spelled) if self.type == "integer" else float(spelled) if self.type == "number" else spelled

    def constraint(self, block: Mapping, config: Mapping) -> str:
        """The wildcard's constraint: an integer, a number as :func:`number` spells it, one of the
        schema's names, or one of the config's points (a hook)."""
        if self.hook:
            return one_of(HOOKS[self.hook](block, config))
        return {"integer": INTEGER, "number": NUMBER}.get(self.type) or one_of(self.names)


@dataclass(frozen=True)
class Reads:
    """Input files of a parameter: the points of ``rules`` matching ``where``."""

    rules: tuple[str, ...]
    where: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True)
class Rule:
    """One generated rule: a run notebook (one job per point) or a figure notebook."""

    name: str
    kind: str  # "run" or "figure"
    experiment: str
    notebook: str
    sweep: tuple[Axis, ...] = ()
    point: str | None = None
    output: str | None = None
    derive: tuple[tuple[str, object], ...] = ()
    lookup: tuple[str, ...] = ()
    reads: tuple[tuple[str, Reads], ...] = ()
    needs: tuple[tuple[str, tuple[tuple[str, object], ...]], ...] = ()
    makes: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    not_parameters: tuple[str, ...] = ()
    resources: tuple[tuple[str, int], ...] = ()

    # ------------------------------------------------------------------ files
    @property
    def notebook_path(self) -> Path:
        return NOTEBOOK_DIR / f"{self.notebook}.ipynb"

    @property
    def outputs(self) -> list[str]:
        """The rule's output patterns (with ``{wildcard}`` for a run's point)."""
        if self.kind == "run":
            return [self.output or f"data/{self.experiment}/{self.point}.nc"]
        return [*(path for name in self.makes for path in figure_files(name)),
                *(path for name in self.tables for path in table_files(name))]

    @property
    def log(self) -> str:
        if self.kind == "figure":
            return f"logs/{self.name}.ipynb"
        return f"logs/{self.notebook}/{self.point}.ipynb" if self.sweep else f"logs/{self.notebook}.ipynb"

    @property
    def benchmark(self) -> str:
        """The job's wall time, memory and CPU time as snakemake's ``benchmark:`` records them (a TSV
        beside the log; ``python -m astrocore.workflow.profile`` sums them per rule)."""
        return f"{self.log.removesuffix('.ipynb')}.benchmark.tsv"

    def library(self, root: Path = ROOT) -> list[str]:
        """The library modules the notebook runs (astrocore.workflow.imports), as absolute paths."""
        return library_files(root / "notebooks" / f"{self.notebook}.ipynb", root)

    # ------------------------------------------------------------------ points
    def points(self, config: Mapping, **override: Sequence) -> list[dict]:
        """Every point of the config (``{wildcard: spelling}``, in sweep order); ``override``
        replaces the values of an axis (e.g. ``dataset=["fashion_mnist"]``)."""
        block = config.get(self.experiment, {})
        points = [{}]
        for axis in self.sweep:
            if axis.wildcard in override:
                points = [{**p, axis.wildcard: axis.spell(v)} for p in points for v in override[axis.wildcard]]
            else:
                points = [{**p, axis.wildcard: s} for p in points for s in axis.values(block, config, p)]
        return points

    def files(self, config: Mapping, where: Mapping = {}, **override) -> list[str]:  # noqa: B006 - read only
        """The output files of the points matching ``where`` (``{wildcard: value or list}``)."""
        out = []
        for point in self.points(config, **override):
            if all((point.get(k) in v) if isinstance(v, list) else point.get(k) == str(v) for k, v in where.items()):
                out += [_fill(path, point) for path in self.outputs]
        return out

    # ------------------------------------------------------------------ parameters
    def parameters(self, config: Mapping, wildcards: Mapping, inputs: Mapping[str, list[str] | str],
                   out: str | None, paths: Mapping[str, str] = PATHS) -> dict:
        """The parameters the job of ``wildcards`` passes to its notebook: every name of the
        notebook's parameters cell (see the module docstring), in a fixed order: for a run the
        config's values, the sweep's, the derived ones, the input files, the folders and ``out``;
        for a figure the input files first."""
        parts = self.sources(config, wildcards, inputs, out, paths)
        if self.kind == "run":
            return {**parts["config"], **parts["sweep"], **parts["derive"], **parts["reads"], **parts["paths"]}
        return {**parts["reads"], **parts["config"], **parts["derive"], **parts["paths"]}

    def sources(self, config: Mapping, wildcards: Mapping, inputs: Mapping[str, list[str] | str],
                out: str | None, paths: Mapping[str, str] = PATHS) -> dict[str, dict]:
        """:meth:`parameters` by where each comes from: ``sweep``, ``derive``, ``reads``,
        ``paths`` (folders and ``out``) and ``config`` (by name: lookup paths, block, top level)."""
        names = [n for n in parameter_names(self.notebook) if n not in self.not_parameters]
        block = config.get(self.experiment, {})
        bound = {axis.wildcard: wildcards[axis.wildcard] for axis in self.sweep}
        parts = {"sweep": {axis.wildcard: axis.value(bound[axis.wildcard], block, config) for axis in self.sweep},
                 "derive": {name: self._derived(spec, block, config, bound) for name, spec in self.derive},
                 "reads": {name: inputs[name] for name, _ in self.reads},
                 "paths": {name: path for name, path in paths.items() if name in names}}
        if self.kind == "run" and "out" in names:
            parts["paths"]["out"] = out
        given = {name for part in parts.values() for name in part}
        extra = sorted(given - set(names))
        if extra:
            raise RegistryError(f"rule {self.name}: notebooks/{self.notebook}.ipynb has no parameter "
                                f"{', '.join(extra)} in its parameters cell (the registry passes it)")
        named: dict = {}
        for scope in [lookup(path, block, config, bound) for path in self.lookup] + [block, config]:
            named.update({k: v for k, v in scope.items() if k in names and k not in given and k not in named})
        missing = [n for n in names if n not in given and n not in named]
        if missing:
            raise RegistryError(
                f"rule {self.name}: the parameter(s) {', '.join(missing)} of notebooks/{self.notebook}.ipynb "
                f"are in neither the config block {self.experiment!r} nor the registry (config/experiments.yaml): "
                "add them to the block (config/default.yaml and config/schema.yaml) or derive them")
        return {"config": named, **parts}

    def _derived(self, spec, block, config, bound):
        if isinstance(spec, Mapping):
            return HOOKS[spec["hook"]](block, config, bound)
        if isinstance(spec, str):
            try:
                return lookup(spec, block, config, bound)
            except KeyError:
                raise RegistryError(f"rule {self.name}: derive {spec!r} finds nothing in the config for "
                                    f"{dict(bound)}") from None
        return spec


def figure_files(name: str) -> list[str]:
    """A figure's files: PNG and PDF, and its table as CSV and Markdown."""
    return [f"figures/{name}.png", f"figures/{name}.pdf", *table_files(name)]


def table_files(name: str) -> list[str]:
    return [f"figures/tables/{name}.csv", f"figures/tables/{name}.md"]


# ---------------------------------------------------------------------------------------- loading
_KEY = {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"}
_PATH = {"type": "string", "minLength": 1}
_WHERE = {"type": "object", "additionalProperties": {"type": ["string", "number", "array"]}}
_READS = {"type": "object", "propertyNames": _KEY, "additionalProperties": {"oneOf": [
    _KEY, {"type": "object", "additionalProperties": False, "required": ["rule"],
           "properties": {"rule": {"oneOf": [_KEY, {"type": "array", "items": _KEY, "minItems": 1}]},
                          "where": _WHERE}}]}}
_RESOURCES = {"type": "object", "additionalProperties": False,
              "properties": {"runtime": {"type": "integer", "minimum": 1}, "mem_mb": {"type": "integer", "minimum": 1}}}
_COMMON = {"notebook": _KEY, "reads": _READS, "resources": _RESOURCES,
           "derive": {"type": "object", "propertyNames": _KEY, "additionalProperties": {"oneOf": [
               _PATH, {"type": "null"}, {"type": "object", "additionalProperties": False, "required": ["hook"],
                                         "properties": {"hook": _KEY}}]}},
           "lookup": {"type": "array", "items": _PATH},
           "not_parameters": {"type": "array", "items": _KEY}}
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "description": "config/experiments.yaml: the experiment registry (astrocore.workflow.registry)",
    "type": "object", "propertyNames": _KEY,
    "additionalProperties": {
        "type": "object", "additionalProperties": False, "properties": {
            "runs": {"type": "object", "propertyNames": _KEY, "additionalProperties": {
                "type": "object", "additionalProperties": False,
                "properties": {**_COMMON, "point": _PATH, "output": _PATH,
                               "sweep": {"type": "object", "propertyNames": _KEY, "additionalProperties": {"oneOf": [
                                   _PATH,
                                   {"type": "object", "additionalProperties": False, "required": ["over"],
                                    "properties": {"over": _PATH, "type": {"enum": list(TYPES)}}},
                                   {"type": "object", "additionalProperties": False, "required": ["hook"],
                                    "properties": {"hook": _KEY}}]}},
                               "needs": {"type": "object", "propertyNames": _KEY, "additionalProperties": _WHERE}}}},
            "figures": {"type": "object", "propertyNames": _KEY, "additionalProperties": {
                "type": "object", "additionalProperties": False, "required": ["makes"],
                "properties": {**_COMMON, "makes": {"type": "array", "items": _KEY, "minItems": 1},
                               "tables": {"type": "array", "items": _KEY}}}}}}}
"""JSON schema of the registry file."""


def _hook(name: str) -> str:
    if name not in HOOKS:
        raise RegistryError(f"hook {name!r} is not one of astrocore.workflow.registry.HOOKS: {', '.join(HOOKS)}")
    return name


def _pairs(mapping: Mapping | None) -> tuple:
    return tuple((mapping or {}).items())


def _reads(spec) -> Reads:
    if isinstance(spec, str):
        return Reads((spec,))
    rules = spec["rule"]
    return Reads(tuple([rules] if isinstance(rules, str) else rules), _pairs(spec.get("where")))


class Registry:
    """Every registered experiment and its rules (:meth:`load` reads ``config/experiments.yaml``;
    ``schema``: the config's schema, which gives each sweep axis its type and names)."""

    def __init__(self, data: Mapping, schema: Mapping, source: str | Path = "<registry>"):
        self.source = str(source)
        self.data = data
        self.schema = schema
        errors = sorted(_schema_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            raise RegistryError(f"{self.source}: " + "; ".join(
                f"{'.'.join(map(str, e.absolute_path)) or '(top level)'}: {e.message}" for e in errors))
        self.rules: dict[str, Rule] = {}
        for experiment, entry in data.items():
            for kind, group in (("run", entry.get("runs") or {}), ("figure", entry.get("figures") or {})):
                for name, spec in group.items():
                    if name in self.rules:
                        raise RegistryError(f"{self.source}: rule {name} is declared twice")
                    self.rules[name] = self._rule(name, kind, experiment, spec, entry)

    def _rule(self, name, kind, experiment, spec, entry) -> Rule:
        sweep = tuple(Axis.declared(experiment, wildcard, axis, self.schema)
                      for wildcard, axis in (spec.get("sweep") or {}).items())
        if kind == "run" and (bool(sweep) != ("point" in spec) or (not sweep and "output" not in spec)):
            raise RegistryError(f"{self.source}: run {name}: a sweep needs a point (its file name), a run without "
                                "sweep an output")
        reads = {param: _reads(r) for param, r in (spec.get("reads") or {}).items()}
        for derived in (spec.get("derive") or {}).values():
            if isinstance(derived, Mapping):
                _hook(derived["hook"])
        notebook = spec.get("notebook", name)
        if kind == "figure" and not reads and "inputs" in _names_or_empty(notebook):
            runs = list(entry.get("runs") or {})
            if len(runs) != 1:
                raise RegistryError(f"{self.source}: figure {name} takes inputs: say which run it reads (reads:)")
            reads = {"inputs": Reads((runs[0],))}
        return Rule(name=name, kind=kind, experiment=experiment, notebook=notebook, sweep=sweep,
                    point=spec.get("point"), output=spec.get("output"), derive=_pairs(spec.get("derive")),
                    lookup=tuple(spec.get("lookup") or ()), reads=_pairs(reads),
                    needs=tuple((r, _pairs(w)) for r, w in (spec.get("needs") or {}).items()),
                    makes=tuple(spec.get("makes") or ()), tables=tuple(spec.get("tables") or ()),
                    not_parameters=tuple(spec.get("not_parameters") or ()),
                    resources=_pairs(spec.get("resources") or (FIGURE_RESOURCES if kind == "figure" else {})))

    @classmethod
    def load(cls, path: str | Path = REGISTRY_FILE, schema: Mapping | str | Path | None = None) -> Registry:
        """The registry in ``path``, with the config schema ``schema`` (a mapping or a file;
        default: config/schema.yaml beside the registry)."""
        path = Path(path)
        if not isinstance(schema, Mapping):
            schema = yaml.safe_load(Path(schema or path.parent / "schema.yaml").read_text(encoding="utf-8"))
        return cls(yaml.safe_load(path.read_text(encoding="utf-8")) or {}, schema, path)

    # ------------------------------------------------------------------ views
    @property
    def experiments(self) -> list[str]:
        return list(self.data)

    def runs(self) -> list[Rule]:
        return [r for r in self.rules.values() if r.kind == "run"]

    def figure_rules(self) -> list[Rule]:
        return [r for r in self.rules.values() if r.kind == "figure"]

    def figures(self) -> dict[str, list[str]]:
        """Figure name -> its files (``makes``), in registry order."""
        return {name: figure_files(name) for rule in self.figure_rules() for name in rule.makes}

    def outputs(self) -> list[str]:
        """Every file the figure rules write: the workflow's default target."""
        return [path for rule in self.figure_rules() for path in rule.outputs]

    # ------------------------------------------------------------------ a job
    def read_files(self, rule: Rule, parameter: str, config: Mapping, wildcards: Mapping) -> list[str]:
        """The input files of ``parameter`` for the job of ``wildcards``."""
        reads = dict(rule.reads)[parameter]
        where = {k: (v if isinstance(v, list) else _fill(str(v), wildcards)) for k, v in reads.where}
        return [f for name in reads.rules for f in self.rules[name].files(config, where)]

    def single(self, rule: Rule, parameter: str) -> bool:
        """Whether ``parameter`` of ``rule`` is one path (it reads one rule without sweep)."""
        reads = dict(rule.reads)[parameter]
        return len(reads.rules) == 1 and not self.rules[reads.rules[0]].sweep

    def job_parameters(self, rule: Rule, config: Mapping, wildcards: Mapping, inputs: Mapping[str, Sequence[str]],
                       out: str | None, absolute: Callable[[Sequence[str]], list[str]] | None = None) -> dict:
        """The parameters of one job, input files and paths made absolute (``absolute``; default:
        resolved against the working directory)."""
        absolute = absolute or (lambda paths: [str(Path(p).resolve()) for p in paths])
        files = {}
        for name, _ in rule.reads:
            paths = absolute([inputs[name]] if isinstance(inputs[name], str) else list(inputs[name]))
            files[name] = paths[0] if self.single(rule, name) else paths
        folders = dict(zip(PATHS, absolute(list(PATHS.values()))))
        return rule.parameters(config, wildcards, files, absolute([out])[0] if out else None, folders)

    def priority(self, rule: Rule) -> int:
        """The scheduling priority of ``rule``'s jobs: the declared minutes (``resources: runtime``)
        of the longest chain of rules from ``rule`` to a figure, its own included. Snakemake starts
        ready jobs of higher priority first, so the chain that would finish last (rhythmic_systems,
        then rhythmic_adaptation, then integration_phase) starts early and the many short jobs fill
        the other cores, instead of its long last jobs running alone at the end of the study."""
        return self._priorities[rule.name]

    @functools.cached_property
    def _priorities(self) -> dict[str, int]:
        readers: dict[str, list[str]] = {name: [] for name in self.rules}
        for name, other in self.rules.items():
            for _, reads in other.reads:
                for source in reads.rules:
                    readers[source].append(name)

        @functools.cache
        def chain(name: str) -> int:
            own = int(dict(self.rules[name].resources).get("runtime", 0))
            return own + max((chain(r) for r in readers[name]), default=0)

        return {name: chain(name) for name in self.rules}

    def constraints(self, rule: Rule, config: Mapping) -> dict[str, str]:
        """Wildcard -> constraint, for every wildcard of ``rule``."""
        block = config.get(rule.experiment, {})
        return {axis.wildcard: axis.constraint(block, config) for axis in rule.sweep}

    # ------------------------------------------------------------------ checks
    def check(self, config: Mapping) -> None:
        """Raise :class:`RegistryError` naming every problem: an unknown rule or notebook, a
        block missing from the config, and, for every point of ``config``, a parameter of the
        notebook that no source gives (or one the registry gives that the notebook lacks)."""
        problems = []
        for rule in self.rules.values():
            if not rule.notebook_path.is_file():
                problems.append(f"rule {rule.name}: notebook {rule.notebook_path} does not exist")
                continue
            if rule.experiment not in config:
                problems.append(f"rule {rule.name}: the config has no block {rule.experiment!r}")
                continue
            bad = [r for _, reads in rule.reads for r in reads.rules
                   if r not in self.rules or self.rules[r].kind != "run"]
            if bad:
                problems.append(f"rule {rule.name}: reads {', '.join(bad)}, not a registered run")
                continue
            cell = parameter_names(rule.notebook)
            problems += [f"rule {rule.name}: not_parameters lists {n!r}, which is not in the parameters cell of "
                         f"notebooks/{rule.notebook}.ipynb: remove it from config/experiments.yaml"
                         for n in rule.not_parameters if n not in cell]
            try:
                self.constraints(rule, config)
                for point in rule.points(config):
                    inputs = {name: self.read_files(rule, name, config, point) for name, _ in rule.reads}
                    rule.parameters(config, point, inputs, _fill(rule.outputs[0], point) if rule.kind == "run" else None)
            except RegistryError as err:
                problems.append(str(err))
            except KeyError as err:
                problems.append(f"rule {rule.name}: the config has no key {err.args[0]!r} in block {rule.experiment!r}")
        if problems:
            raise RegistryError(f"{self.source} (experiment registry):\n  " + "\n  ".join(dict.fromkeys(problems)))


@functools.lru_cache(maxsize=1)
def _schema_validator():
    import jsonschema  # noqa: PLC0415

    return jsonschema.Draft202012Validator(SCHEMA)


def _names_or_empty(notebook: str) -> tuple[str, ...]:
    try:
        return parameter_names(notebook)
    except Exception:  # noqa: BLE001 - a missing notebook is reported by Registry.check
        return ()


# ---------------------------------------------------------------------------------------- captions
VERDICT = re.compile(r"^#+\s*Verdict\b(.*)$", re.IGNORECASE)


def _markdown(cell: Mapping) -> str:
    source = cell.get("source", "")
    return (source if isinstance(source, str) else "".join(source)).strip()


def question_and_verdict(notebook: str | Path) -> tuple[str, str]:
    """The question (the first markdown cell) and the verdict (the markdown after a heading
    ``Verdict``: the rest of that cell and the markdown cells that follow, up to the next
    heading) of a figure notebook, as Markdown; the verdict is empty where the notebook has none."""
    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    markdown = [(i, _markdown(c)) for i, c in enumerate(cells) if c.get("cell_type") == "markdown"]
    question = markdown[0][1] if markdown else ""
    verdict, inside = [], False
    for _, text in markdown[1:]:
        first, _, rest = text.partition("\n")
        heading = VERDICT.match(first.strip())
        if heading:
            inside = True
            note = heading.group(1).strip(" :()")
            verdict += [f"*{note}*"] if note else []
            verdict += [rest.strip()] if rest.strip() else []
        elif inside and text.startswith("#"):
            break
        elif inside:
            verdict.append(text)
    return question, "\n\n".join(v for v in verdict if v)


_MATH = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$", re.S)
_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def _role(text: str, start: int, end: int, body: str) -> str:
    before = "\\ " if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_*") else ""
    after = "\\ " if end < len(text) and (text[end].isalnum() or text[end] in "_*") else ""
    return before + body + after


def markdown_to_rst(text: str) -> str:
    """The few Markdown constructs the notebooks' prose uses, in reStructuredText (the caption
    language of snakemake reports): headings, inline math, inline code, links."""
    held: list[str] = []

    def hold(body: str) -> str:
        held.append(body)
        return f"\x00{len(held) - 1}\x00"

    def replace(pattern, make):
        nonlocal text
        out, last = [], 0
        for m in pattern.finditer(text):
            out += [text[last:m.start()], hold(_role(text, m.start(), m.end(), make(m)))]
            last = m.end()
        text = "".join(out) + text[last:]

    replace(_CODE, lambda m: f"``{m.group(1)}``")
    replace(_MATH, lambda m: f":math:`{(m.group(1) or m.group(2)).strip()}`")
    replace(_LINK, lambda m: f"`{m.group(1)} <{m.group(2)}>`__")
    lines = []
    for line in text.splitlines():
        heading = re.match(r"^#+\s+(.*)$", line)
        lines.append(f"**{heading.group(1).strip()}**" if heading else line)
    text = "\n".join(lines)
    return re.sub("\x00(\\d+)\x00", lambda m: held[int(m.group(1))], text)


def caption(notebook: str | Path) -> str:
    """The report caption of a figure notebook's figures (reStructuredText): its question and its
    verdict, and where they come from."""
    path = Path(notebook)
    if path.suffix != ".ipynb":
        path = NOTEBOOK_DIR / f"{path}.ipynb"
    question, verdict = question_and_verdict(path)
    parts = [markdown_to_rst(question)]
    if verdict:
        parts += ["**Verdict**", markdown_to_rst(verdict)]
    parts.append(f"From ``notebooks/{path.name}`` (question and verdict as written there, for the default profile).")
    return "\n\n".join(p for p in parts if p)

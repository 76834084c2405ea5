"""Every declared constraint of every public entry point refuses what it must (generated).

As scikit-learn's ``test_function_param_validation``: for each function in
``astrocore.validation.REGISTRY`` and each parameter it declares, every value
the parameter's constraint generates as invalid is passed, the other
parameters valid, and the call must raise an InvalidParameterError naming
the parameter before the body runs.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import astrocore
from astrocore import validation
from astrocore.hardware import effects as hardware_effects


def _import_all():
    for info in pkgutil.walk_packages(astrocore.__path__, "astrocore."):
        if ".bench" in info.name or info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)


_import_all()


class _Placeholder:
    """Stands for an argument the decorator does not check (never reached: validation fails first)."""

    def __repr__(self):
        return "<placeholder>"


def _base_arguments(func, constraints):
    arguments = {}
    for name, parameter in inspect.signature(func).parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.default is not inspect.Parameter.empty:
            continue
        if name in constraints:
            arguments[name] = constraints[name].valid_example()
        else:
            arguments[name] = _Placeholder()
    return arguments


CASES = [
    pytest.param(qualname, name, index, id=f"{qualname.removeprefix('astrocore.')}:{name}[{index}]")
    for qualname, (func, constraints) in sorted(validation.REGISTRY.items())
    if qualname.startswith("astrocore.")
    for name, constraint in constraints.items()
    for index, _ in enumerate(constraint.invalid_examples())
]


def test_the_registry_declares_the_public_entry_points():
    declared = {q for q in validation.REGISTRY if q.startswith("astrocore.")}
    assert len(declared) >= 40, sorted(declared)
    assert len(CASES) >= 300


def _call(func, arguments):
    positional_only = [n for n, p in inspect.signature(func).parameters.items()
                       if p.kind is p.POSITIONAL_ONLY]
    args = [arguments.pop(n) for n in positional_only]
    return func(*args, **arguments)


@pytest.mark.parametrize("qualname, name, index", CASES)
def test_an_invalid_value_is_refused_naming_the_parameter(qualname, name, index):
    func, constraints = validation.REGISTRY[qualname]
    bad = constraints[name].invalid_examples()[index]
    arguments = _base_arguments(func, constraints)
    arguments[name] = bad
    with pytest.raises(validation.InvalidParameterError) as info:
        _call(func, arguments)
    assert str(info.value).startswith(f"{name} ") or f"{name}=" in str(info.value), (
        f"{qualname}({name}={bad!r}) raised a message that does not name {name!r}: {info.value}")


@pytest.mark.parametrize("qualname", sorted(q for q in validation.REGISTRY if q.startswith("astrocore.")))
def test_every_default_satisfies_its_declared_constraint(qualname):
    func, constraints = validation.REGISTRY[qualname]
    for name, parameter in inspect.signature(func).parameters.items():
        if name in constraints and parameter.default is not inspect.Parameter.empty:
            constraints[name].check(name, parameter.default)


# Modules whose public functions and methods are the library's entry points: each must be
# declared (validate_params) or named below as an inner-loop kernel that a declared entry
# point calls with values it has already checked.
ENTRY_MODULES = (
    "astrocore.nets", "astrocore.mgd.perturbations", "astrocore.mgd.directions", "astrocore.mgd.kernel",
    "astrocore.mgd.train", "astrocore.optim", "astrocore.training", "astrocore.metrics",
    "astrocore.hardware.model", "astrocore.hardware.device", "astrocore.hardware.energy",
    "astrocore.hardware.effects", "astrocore.hardware.quantizer", "astrocore.hardware.noise",
    "astrocore.reservoir.esn", "astrocore.reservoir.rhythmic", "astrocore.reservoir.readout",
    "astrocore.reservoir.steering", "astrocore.reservoir.topology", "astrocore.reservoir.results",
    "astrocore.systems", "astrocore.datasets", "astrocore.store", "astrocore.plotting", "astrocore.reporting",
    "astrocore.analysis.regimes", "astrocore.analysis.forecasts", "astrocore.analysis.inference",
    "astrocore.analysis.tuning", "astrocore.analysis.learning", "astrocore.analysis.gradients",
    "astrocore.analysis.hardware_mgd", "astrocore.analysis.energy", "astrocore.analysis.climate",
    "astrocore.analysis.adaptation", "astrocore.analysis.series", "astrocore.analysis.synchrony",
    "astrocore.analysis.hardware_reservoir", "astrocore.reservoir.parameter_aware", "astrocore.diagrams",
    "astrocore.backend", "astrocore.workflow", "astrocore.online.learners", "astrocore.online.loop",
    "astrocore.online.chip",
    "astrocore.analysis.streams", "astrocore.analysis.online", "astrocore.reservoir.controller",
    "astrocore.reservoir.phase_control", "astrocore.online.adapt", "astrocore.analysis.phase_control",
)
KERNELS = {
    # called once per step or window by a declared trainer, reservoir or device
    "astrocore.reservoir.controller.PhaseController.scored_steps",
    "astrocore.reservoir.phase_control.window_cost", "astrocore.reservoir.phase_control.PhaseCost.__init__",
    "astrocore.reservoir.phase_control.PhaseCost.phases", "astrocore.reservoir.phase_control.PhaseCost.cost",
    "astrocore.online.learners.Learner.update",
    "astrocore.online.learners.RLS.update", "astrocore.online.learners.LMS.update",
    "astrocore.online.learners.MGDReadout.update", "astrocore.online.learners.MGDReadout.estimate",
    "astrocore.online.learners.WindowRidge.update", "astrocore.online.loop.OnlineRun.__init__",
    *(f"astrocore.online.chip.ReadoutChip.{m}" for m in ("program", "update", "hold", "read", "dac", "perturbation",
                                                         "measure", "outputs", "forward")),
    "astrocore.backend.asarray", "astrocore.backend.to_host", "astrocore.hardware.effects.Chips.through",
    "astrocore.hardware.device.Device.update", "astrocore.hardware.device.Device.read",
    "astrocore.hardware.device.Device.dac", "astrocore.hardware.device.Device.adc",
    "astrocore.hardware.device.Device.activate", "astrocore.hardware.device.Device.measure",
    "astrocore.hardware.device.Device.quantize_perturbations", "astrocore.hardware.device.Device.bind",
    "astrocore.hardware.device.OnDevice.__init__", "astrocore.hardware.device.OnDevice.forward",
    "astrocore.hardware.device.OnDevice.loss", "astrocore.hardware.device.OnDevice.predict",
    "astrocore.hardware.model.HardwareModel.replace", "astrocore.hardware.model.HardwareModel.write_once",
    "astrocore.mgd.perturbations.random_signs", "astrocore.mgd.perturbations.register",
    "astrocore.mgd.perturbations.check_options", "astrocore.mgd.perturbations.Perturbations.__init__",
    "astrocore.mgd.perturbations.Perturbations.draw", "astrocore.mgd.perturbations.Perturbations.prepare",
    "astrocore.mgd.perturbations.Perturbations.draw_params", "astrocore.mgd.perturbations.CodePerturbations.__init__",
    "astrocore.mgd.perturbations.CodePerturbations.draw_params",
    "astrocore.mgd.perturbations.TimePerturbations.__init__", "astrocore.mgd.perturbations.WalshPerturbations.__init__",
    "astrocore.mgd.perturbations.FrequencyPerturbations.__init__",
    # the directions' window protocol, called by the kernel with what a declared entry point checked
    "astrocore.mgd.directions.register", "astrocore.mgd.directions.as_direction",
    "astrocore.mgd.directions.check_highpass", "astrocore.mgd.directions.Direction.init",
    *(f"astrocore.mgd.directions.Direction.{m}" for m in ("pair_bytes", "begin", "draw", "step", "end", "hold",
                                                          "resume", "applied")),
    *(f"astrocore.mgd.directions.Weight.{m}" for m in ("pair_bytes", "begin", "draw", "step", "end", "hold",
                                                       "resume", "applied")),
    *(f"astrocore.mgd.directions.Node.{m}" for m in ("pair_bytes", "begin", "draw", "step", "end")),
    "astrocore.mgd.directions.Activity.pair_bytes",
    "astrocore.mgd.kernel.Pairs.__init__", "astrocore.mgd.kernel.Kernel.__init__", "astrocore.mgd.kernel.Kernel.measure",
    "astrocore.mgd.kernel.Kernel.window", "astrocore.mgd.kernel.work_array",
    "astrocore.nets.check_memory_estimate",
    "astrocore.reservoir.readout.n_features",
    "astrocore.reservoir.readout.make_features", "astrocore.reservoir.readout.solve_ridge",
    "astrocore.reservoir.rhythmic.RhythmicSharing.astro_adjacency", "astrocore.reservoir.topology.check_degree",
    "astrocore.systems.System.rhs", "astrocore.systems.System.jvp",
    "astrocore.training.MinibatchStream.indices", "astrocore.training.TrajectoryRecorder.record",
    "astrocore.training.TrajectoryRecorder.dataset",
    # plain records (results handed out, or checked where they are used: check_state)
    "astrocore.reservoir.results.ReservoirState.__init__", "astrocore.reservoir.results.ReservoirRun.__init__",
    "astrocore.systems.SystemRun.__init__",
    # the store's helpers take anything JSON can hold, and any writer
    "astrocore.store.config_hash", "astrocore.store.provenance", "astrocore.store.atomic_write",
}

# the hardware parts' hook methods (every device calls them with checked values), the site
# they receive, and the two helpers a part is declared with
KERNELS |= {f"astrocore.hardware.effects.{cls.__name__}.{name}"
            for cls in (hardware_effects.Effect, *hardware_effects.PARTS)
            for name in (*hardware_effects.HOOKS, "uses", "replace") if name in vars(cls)}
KERNELS |= {f"astrocore.hardware.effects.{name}" for name in (
    "param", "effect", "Chips.__init__", "Chips.memo", "Chips.rows", "Chips.per_chip", "Chips.normal",
    "Chips.uniform")}


def _public_callables():
    for module_name in ENTRY_MODULES:
        module = importlib.import_module(module_name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module_name:
                continue
            if inspect.isfunction(obj):
                yield f"{module_name}.{obj.__qualname__}", obj
            elif inspect.isclass(obj) and not issubclass(obj, (BaseException, validation.Constraint)):
                for method_name, method in vars(obj).items():
                    if inspect.isfunction(method) and (method_name == "__init__" or not method_name.startswith("_")):
                        yield f"{module_name}.{method.__qualname__}", method


def test_every_public_entry_point_is_declared_or_a_named_kernel():
    undeclared = sorted(q for q, f in _public_callables()
                        if q not in validation.REGISTRY and q not in KERNELS
                        and [p for p in inspect.signature(f).parameters if p != "self"])
    assert not undeclared, f"declare these with validate_params (or name them as kernels): {undeclared}"
    stale = sorted(KERNELS - {q for q, _ in _public_callables()})
    assert not stale, f"KERNELS names callables that no longer exist: {stale}"

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

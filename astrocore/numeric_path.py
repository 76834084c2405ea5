"""A second numeric path on the same machine: results must hold beyond the CPU they were made on.

Chaotic runs (reservoirs, Thomas and Lorenz trajectories) amplify last-bit
differences between CPUs (numpy's SIMD transcendental functions, BLAS
kernels) into different trajectories. To see that on one machine, the test
suite runs the reservoir experiments a second time with numpy's dispatched
SIMD features switched off (``NPY_DISABLE_CPU_FEATURES`` naming every
feature numpy found above its baseline on this CPU, found at run time), so
``exp``, ``tanh``, ``log1p`` and friends take other kernels that differ in the
last bit. Both runs must pass the same tolerance checks
(:mod:`astrocore.reference`).

Where that switch changes nothing (a CPU with no dispatched features above
numpy's baseline), the test-only perturbation ``ASTROCORE_LAST_BIT=1`` serves
instead: every reservoir's initial link phases and every simulated system's
initial state move by one unit in the last place (``numpy.nextafter`` towards
+inf), which a chaotic run amplifies the same way. It is read from the
environment only, never set by the library, and never used to make figures.

The second path also switches the fused kernels off (``ASTROCORE_JIT=0``,
:mod:`astrocore.jit`): the numba loops of path 1 (the MGD code draw, the Rhythmic
Sharing step) give way to the NumPy references they replace, so every check
holds with either implementation of every kernel.

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are left as the environment sets them.

    python -m astrocore.numeric_path                 # describe the second path on this machine
    python -m astrocore.numeric_path -- CMD ARGS...  # run CMD on it
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

LAST_BIT = "ASTROCORE_LAST_BIT"
JIT = "ASTROCORE_JIT"
DISABLE = "NPY_DISABLE_CPU_FEATURES"

_PROBE = """
import hashlib, numpy as np
x = np.random.default_rng(0).standard_normal(1 << 16) * 10
h = hashlib.sha256()
for f in (np.exp, np.tanh, np.sin, np.cos, np.log1p, np.expm1):
    with np.errstate(all="ignore"):
        h.update(f(x).tobytes())
print(h.hexdigest())
"""


def simd_features() -> list[str]:
    """numpy's dispatched SIMD targets that this CPU supports (above numpy's compiled baseline)."""
    try:
        from numpy._core import _multiarray_umath as umath  # noqa: PLC0415
    except ImportError:  # numpy < 2
        from numpy.core import _multiarray_umath as umath  # noqa: PLC0415
    found = {name for name, on in umath.__cpu_features__.items() if on}
    return [name for name in umath.__cpu_dispatch__ if name in found]


def last_bit_perturbation() -> bool:
    """True when the test-only last-bit perturbation of initial states is switched on."""
    value = os.environ.get(LAST_BIT, "")
    if value not in ("", "0", "1"):
        raise ValueError(f"{LAST_BIT} must be unset, 0 or 1, got {value!r}")
    return value == "1"


def nudge(x):
    """``x`` moved one unit in the last place towards +inf when :func:`last_bit_perturbation` is on."""
    return np.nextafter(x, np.inf) if last_bit_perturbation() else x


def _probe(env: dict) -> str:
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def second_path_environment(environ: dict | None = None) -> dict:
    """The environment of the second numeric path: SIMD features off, else the last-bit perturbation;
    and the fused kernels off (their NumPy references run).

    The switch counts as changing the numbers only if a probe (transcendental
    functions over 65,536 values) gives other bits under it than without it.
    """
    base = dict(os.environ if environ is None else environ)
    base.pop(DISABLE, None)
    base.pop(LAST_BIT, None)
    base.pop(JIT, None)
    features = simd_features()
    env = dict(base, **{JIT: "0"})
    if features:
        env[DISABLE] = " ".join(features)
        if _probe(env) != _probe(base):
            return env
        env.pop(DISABLE)
    env[LAST_BIT] = "1"
    return env


def describe(env: dict) -> str:
    kernels = f"; {JIT}=0 (the fused kernels' NumPy references)"
    if DISABLE in env:
        return (f"{DISABLE}={env[DISABLE]!r} (numpy {np.__version__}; changes exp/tanh/log1p results on this "
                f"CPU){kernels}")
    return (f"{LAST_BIT}=1 (no dispatched SIMD feature changes numpy's results on this CPU: last-bit "
            f"perturbation){kernels}")


def main(argv: list[str]) -> int:
    env = second_path_environment()
    print(f"second numeric path: {describe(env)}", file=sys.stderr, flush=True)
    if not argv:
        return 0
    if argv[0] == "--":
        argv = argv[1:]
    return subprocess.run(argv, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

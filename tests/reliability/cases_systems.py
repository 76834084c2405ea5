"""Bad inputs of the chaotic flows (astrocore.systems): simulate, Schedule, lyapunov_exponent.

Only the API that predates issue 10 is called (simulate, lyapunov_exponent,
Schedule, get_system), so the same case classifies an older checkout. The
requests that ran for ever before are refused by the fixed code after a
short measurement (about half a second of processor time), hence their
time limits of a few seconds.
"""

from __future__ import annotations

import numpy as np

from astrocore import systems
from astrocore.systems import Schedule, lyapunov_exponent, simulate

from .case import Case

CASES = [
    # ---- defect 5: requests that cannot be met
    Case("systems/simulate-t-end-1e12", lambda: simulate(t_end=1e12), names=("t_end", "needs about"), defect=5,
         timeout=10),
    Case("systems/simulate-dt-1e-12", lambda: simulate(t_end=100.0, dt=1e-12),
         names=("t_end", "dt=1e-12", "needs about"), defect=5, timeout=10),
    Case("systems/simulate-span-that-overflows", lambda: simulate(t_end=1e308, t_start=-1e308, dt=1e-300),
         names=("t_end", "needs about"), defect=5, timeout=10),
    Case("systems/simulate-for-years", lambda: simulate("lorenz", t_end=1e9, dt=1e5),
         names=("t_end", "would take about", "max_duration"), defect=5, timeout=15),
    Case("systems/lyapunov-t-total-1e12", lambda: lyapunov_exponent(t_total=1e12),
         names=("t_total", "would take about", "max_duration"), defect=5, timeout=15),
    Case("systems/lyapunov-t-renorm-1e-9", lambda: lyapunov_exponent(t_renorm=1e-9),
         names=("t_total", "t_renorm", "would take about"), defect=5, timeout=15),
    Case("systems/lyapunov-ten-billion-trajectories", lambda: lyapunov_exponent(n_trajectories=10**10),
         names=("n_trajectories", "needs about"), defect=5, timeout=10),
    # ---- defect 8: odd cases accepted
    Case("systems/simulate-unknown-constant", lambda: simulate(t_end=1.0, constants={"bogus": 1}),
         names=("constants", "bogus", "sigma", "beta"), defect=8),
    Case("systems/lyapunov-constant-of-a-system-without-any",
         lambda: lyapunov_exponent("thomas", constants={"a": 1.0}), names=("constants", "no constants"), defect=8),
    Case("systems/simulate-context-given-as-a-constant", lambda: simulate(t_end=1.0, constants={"rho": 30.0}),
         names=("rho", "schedule"), defect=8),
    Case("systems/lyapunov-t-renorm-beyond-t-total", lambda: lyapunov_exponent(t_renorm=300.0, t_total=200.0),
         names=("t_renorm", "t_total"), defect=8),
    Case("systems/lyapunov-negative-transient", lambda: lyapunov_exponent(transient=-5.0),
         names=("transient", "-5"), defect=8, timeout=10),
    Case("systems/simulate-constant-nan", lambda: simulate(t_end=1.0, constants={"sigma": float("nan")}),
         names=("constants",), defect=8, timeout=10),
    # ---- defect 3: bool flags
    Case("systems/lyapunov-return-stderr-string",
         lambda: lyapunov_exponent(t_total=2.0, transient=0.0, n_trajectories=2, return_stderr="no"),
         names=("return_stderr", "'no'"), defect=3),
    # ---- defect 4: NaN and empty data
    Case("systems/simulate-x0-nan", lambda: simulate(t_end=1.0, x0=[1.0, np.nan, 1.0]),
         names=("x0", "finite"), defect=4),
    Case("systems/schedule-empty", lambda: Schedule([], []), names=("times",), defect=4),
    Case("systems/schedule-nan-value", lambda: Schedule([0.0, 1.0], [28.0, np.nan]),
         names=("values", "finite"), defect=4),
    # ---- wrong types, out-of-range values, unknown choices, inf scalars, bools for numbers
    Case("systems/simulate-unknown-system", lambda: simulate("duffing"), names=("system", "lorenz")),
    Case("systems/simulate-dt-bool", lambda: simulate(t_end=1.0, dt=True), names=("dt", "True")),
    Case("systems/simulate-schedule-string", lambda: simulate(t_end=1.0, schedule="28"),
         names=("schedule", "'28'")),
    Case("systems/simulate-atol-inf", lambda: simulate(t_end=1.0, atol=float("inf")), names=("atol", "inf")),
    Case("systems/simulate-method-unknown", lambda: simulate(t_end=1.0, method="Euler"),
         names=("method", "DOP853")),
    Case("systems/simulate-t-end-before-t-start", lambda: simulate(t_end=-1.0), names=("t_end", "t_start")),
    Case("systems/lyapunov-seed-negative", lambda: lyapunov_exponent(seed=-1), names=("seed", "-1")),
    Case("systems/lyapunov-rtol-nan", lambda: lyapunov_exponent(rtol=float("nan")), names=("rtol", "nan"), timeout=10),
    Case("systems/lyapunov-n-trajectories-float", lambda: lyapunov_exponent(n_trajectories=4.0),
         names=("n_trajectories", "4.0")),
    Case("systems/schedule-constant-string", lambda: Schedule.constant("28"), names=("value", "'28'")),
    Case("systems/get-system-number", lambda: systems.get_system(3), names=("system", "3")),
]

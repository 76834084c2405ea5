"""Reservoir computing: an ESN core and Rhythmic Sharing (Kang & Losert).

- :class:`ESN`: sparse echo state network, ridge readout, closed-loop forecast;
- :class:`RhythmicSharing`: the same core with oscillating links, an astrocyte
  graph (``"links"`` or ``"domains"``), order parameter ``(R, <Phi>)``, and
  test-time steering (``forecast(..., steering="authors" | "sweep")``);
- :class:`ParameterAwareESN`: an ESN told the context parameter as an extra input
  channel (Kong et al. 2021), with its own closed loop;
- :class:`RidgeReadout`, :func:`to_dataset` (an :class:`xarray.Dataset` of a run),
  :class:`ReservoirRun`, :class:`ReservoirState`, :class:`ReservoirDivergenceError`;
- :mod:`~astrocore.reservoir.topology`: the random structures.
"""

from .esn import ESN
from .parameter_aware import ParameterAwareESN
from .readout import RidgeReadout
from .results import ReservoirDivergenceError, ReservoirRun, ReservoirState, to_dataset
from .rhythmic import RhythmicSharing

__all__ = ["ESN", "ParameterAwareESN", "RhythmicSharing", "RidgeReadout", "ReservoirRun", "ReservoirState",
           "ReservoirDivergenceError", "to_dataset"]

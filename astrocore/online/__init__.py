"""Online readout learning for non-stationary streams, strictly causal (ARCHITECTURE.md: ``online``).

- :mod:`.learners`: RLS, LMS, MGD on the readout (weight and node perturbation)
  and a sliding-window ridge reference, each an ``init``/``update`` pair
  batched over columns.
- :mod:`.loop`: :func:`run_online`, predict with the past, learn from a
  revealed label every ``k`` steps.
- :mod:`.chip`: :class:`ReadoutChip`, an MGD readout's weights on simulated
  chips (``MGDReadout(hardware=...)``), one per batch column.
"""

from .chip import ReadoutChip
from .learners import DIRECTIONS, LEARNERS, LMS, RLS, Learner, MGDReadout, WindowRidge, make_learner
from .loop import OnlineRun, run_online

__all__ = ["DIRECTIONS", "LEARNERS", "LMS", "RLS", "Learner", "MGDReadout", "OnlineRun", "ReadoutChip",
           "WindowRidge", "make_learner", "run_online"]

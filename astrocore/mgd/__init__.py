"""Multiplexed Gradient Descent (MGD): zero-order training from one global cost.

McCaughan, Buckley, Dienstfrey, Shainline et al., APL Machine Learning 1,
026118 (2023), arXiv 2303.03986; ALGORITHMS.md sections 2 and 3. The package,
one module a concern:

- :mod:`~astrocore.mgd.perturbations`: the multiplexing schemes of weight
  perturbation (time, frequency, code, Walsh), one registered class each;
- :mod:`~astrocore.mgd.directions`: the perturbation directions, classes that
  own their options and state: :class:`Weight` (weight perturbation by a
  multiplexing scheme, the default) and the smart directions :class:`Node`,
  :class:`Activity`, :class:`Astrocyte`;
- :mod:`~astrocore.mgd.kernel`: the one batched evaluation kernel (a window of
  steps, all seeds at once);
- :mod:`~astrocore.mgd.train`: :func:`train` and :func:`estimate_gradient`.

Use::

    from astrocore import mgd
    run = mgd.train(model, data, direction="walsh", tau_theta=30, seed=[0, 1, 2])
    run = mgd.train(model, data, direction=mgd.Astrocyte(guide=0.5, tau_d=10), tau_theta=10)
    g = mgd.estimate_gradient(model, theta, X, Y, direction=mgd.Node(layerwise=True), n_perturbations=64)
"""

from ..training import MinibatchStream
from .directions import (
                         DIRECTIONS,
                         MODES,
                         Activity,
                         Astrocyte,
                         Direction,
                         Node,
                         Weight,
                         as_direction,
                         from_options,
                         register,
)
from .kernel import CHUNK_BYTES, Kernel, Pairs
from .perturbations import (
                         MULTIPLEXING,
                         PERTURBATIONS,
                         CodePerturbations,
                         FrequencyPerturbations,
                         Perturbations,
                         TimePerturbations,
                         WalshPerturbations,
                         make_perturbations,
                         random_signs,
)
from .perturbations import register as register_multiplexing
from .train import AMPLITUDE, estimate_gradient, train

__all__ = ["AMPLITUDE", "CHUNK_BYTES", "DIRECTIONS", "MODES", "MULTIPLEXING", "PERTURBATIONS", "Activity",
           "Astrocyte", "CodePerturbations", "Direction", "FrequencyPerturbations", "Kernel", "MinibatchStream",
           "Node", "Pairs", "Perturbations", "TimePerturbations", "WalshPerturbations", "Weight", "as_direction",
           "estimate_gradient", "from_options", "make_perturbations", "random_signs", "register", "register_multiplexing", "train"]

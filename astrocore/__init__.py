"""astrocore: astrocyte-inspired learning, as a reproducible compendium.

Modules, one concern each (see ARCHITECTURE.md in the design notes):

- :mod:`astrocore.backend`  NumPy/CuPy switch and seeded random streams
- :mod:`astrocore.nets`     multilayer perceptrons, losses, backprop reference
- :mod:`astrocore.mgd`      Multiplexed Gradient Descent
- :mod:`astrocore.datasets` parity, digits, MNIST-1D, Fashion-MNIST
- :mod:`astrocore.metrics`  accuracy, gradient cosine
- :mod:`astrocore.store`    netCDF I/O with provenance
- :mod:`astrocore.plotting` one theme, one palette, reproducible figure files
"""

__version__ = "0.1.0"

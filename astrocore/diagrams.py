"""Schematic figures drawn from code (no data): the tripartite synapse of the seed paper's figure 1.

:func:`tripartite_synapse` draws a synapse between a presynaptic and a
postsynaptic neuron with an astrocyte wrapped around it, labelled with the
local values the astrocyte can use to choose "smart" perturbation directions
(presynaptic activation ``a_i``, postsynaptic error ``d_j``, the global cost
``C``); :func:`local_values_panel` lists which direction of
:mod:`astrocore.mgd.directions` uses which value, and :func:`local_values_table`
is the same as a table. :func:`star` and :func:`arrow` are the drawing
primitives.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Circle, Ellipse, FancyArrowPatch, FancyBboxPatch, Polygon

from . import plotting
from .validation import InstanceOf, Integer, Real, validate_params


@functools.lru_cache(maxsize=1)
def _axes():
    """One Axes for the declared example (the generated invalid-value tests never draw on it)."""
    from matplotlib.figure import Figure

    return Figure().add_subplot()


AXES = InstanceOf(Axes, example=_axes)
POINT = InstanceOf(tuple, list, np.ndarray, example=lambda: (0.0, 0.0))

LOCAL_VALUES = [
    ("a_i", "presynaptic activation (input to the synapse)", "node, activity, astrocyte",
     "outer product a_i e_j forms the weight update"),
    ("d_j", "postsynaptic gradient: running estimate of unit j's error", "astrocyte",
     "P(s_j = sgn d_j) = (1 + guide) / 2"),
    ("C", "global cost or reward, one scalar for the network", "all modes", "C~ = C(theta + theta~) - C(theta)"),
    ("s_j", "random sign per unit and sample", "node, activity, astrocyte",
     "node: z_j + sigma s_j; activity: w~_ij = rho u_i s_j"),
]
"""(symbol, meaning, directions, role) of each local value an astrocyte can use."""

_PANEL = [
    ("$a_i$", "presynaptic activation", "node, activity, astrocyte: $G_{ij} = \\sum_b a_{bi} e_{bj}$"),
    ("$d_j$", "postsynaptic error, running estimate", "astrocyte: signs biased toward sgn $d_j$"),
    ("$C$", "global cost (one scalar)", "all: $\\tilde C$ correlates with the perturbation"),
    ("$s_j$", "random sign per unit and sample", "node: $z_j + \\sigma s_j$; activity: $\\tilde w_{ij} = \\rho u_i s_j$"),
]


@validate_params({"center": POINT, "r_out": Real(0, closed="neither"), "r_in": Real(0, closed="neither"),
                  "points": Integer(2), "phase": Real()})
def star(center, r_out: float, r_in: float, points: int = 7, phase: float = 0.3) -> np.ndarray:
    """Vertices (2 points, 2) of a star with ``points`` tips at radius ``r_out`` and notches at ``r_in``."""
    angles = phase + np.arange(2 * points) * np.pi / points
    radii = np.where(np.arange(2 * points) % 2 == 0, r_out, r_in)
    return np.c_[center[0] + radii * np.cos(angles), center[1] + radii * np.sin(angles)]


@validate_params({"ax": AXES, "start": POINT, "end": POINT})
def arrow(ax, start, end, color, style: str = "-|>", ls: str = "-", lw: float = 1.6, rad: float = 0.0):
    """An arrow (a :class:`~matplotlib.patches.FancyArrowPatch`, arc of curvature ``rad``) added to ``ax``."""
    return ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=14, color=color, lw=lw, ls=ls,
                                        connectionstyle=f"arc3,rad={rad}"))


@validate_params({"ax": AXES})
def tripartite_synapse(ax) -> None:
    """Draw the synapse ``i -> j``, the astrocyte around it, the local values it sees, the global cost it
    receives and the perturbation and update it sends back (colours from :mod:`astrocore.plotting`)."""
    pre, post, astro = plotting.color("activity"), plotting.color("backprop"), plotting.color("astrocyte")
    cost, pert = plotting.color("theory"), plotting.color("code")
    ax.set(xlim=(0, 10), ylim=(0, 7.4), aspect="equal")
    ax.axis("off")
    # neurons: soma, axon and terminal (pre); spine, dendrite and soma (post)
    ax.add_patch(Circle((1.1, 2.6), 0.75, color=pre, alpha=0.85))
    ax.plot([1.85, 4.05], [2.6, 2.6], color=pre, lw=5, solid_capstyle="round")
    ax.add_patch(Ellipse((4.3, 2.6), 0.75, 1.1, color=pre, alpha=0.9))
    for y in (2.35, 2.6, 2.85):
        ax.add_patch(Circle((4.5, y), 0.06, color="white"))  # vesicles
    ax.add_patch(Ellipse((5.2, 2.6), 0.75, 1.1, color=post, alpha=0.9))
    ax.plot([5.45, 8.2], [2.6, 2.6], color=post, lw=5, solid_capstyle="round")
    ax.add_patch(Circle((8.9, 2.6), 0.75, color=post, alpha=0.85))
    ax.text(1.1, 1.45, "presynaptic\nneuron $i$", ha="center", va="top")
    ax.text(8.9, 1.45, "postsynaptic\nneuron $j$", ha="center", va="top")
    ax.text(4.75, 1.75, r"weight $w_{ij}$", ha="center", va="top", fontsize=10)
    # astrocyte: star-shaped body with a process wrapping the synaptic cleft
    body = (4.75, 5.0)
    ax.add_patch(Polygon(star(body, 0.95, 0.45), closed=True, color=astro, alpha=0.9))
    ax.plot([4.75, 4.75], [4.4, 3.45], color=astro, lw=6, solid_capstyle="round")
    ax.add_patch(Ellipse((4.75, 2.6), 1.9, 1.75, fill=False, ec=astro, lw=4, alpha=0.9))
    ax.text(body[0] + 1.05, body[1] + 0.35, "astrocyte", color=tuple(0.75 * np.asarray(astro)), fontsize=12,
            weight="bold")
    # the local values it sees, and the global cost
    arrow(ax, (4.15, 3.2), (4.35, 4.55), pre, rad=-0.2)
    ax.text(2.2, 4.05, "presynaptic activation $a_i$", color=pre, ha="center", fontsize=11)
    arrow(ax, (5.35, 3.2), (5.15, 4.55), post, rad=0.2)
    ax.text(7.4, 4.05, "postsynaptic gradient $d_j$\n(running error estimate)", color=post, ha="center", fontsize=11)
    ax.add_patch(FancyBboxPatch((3.0, 6.55), 3.5, 0.6, boxstyle="round,pad=0.08", fc="white", ec=cost, lw=1.4))
    ax.text(4.75, 6.85, "global cost / reward $C$", ha="center", va="center", fontsize=11)
    arrow(ax, (4.75, 6.45), (4.75, 5.95), cost)
    ax.text(4.9, 6.2, r"$\tilde C = C(\theta + \tilde\theta) - C(\theta)$", fontsize=9, va="center")
    # what it sends back: the perturbation of this synapse, and the update
    arrow(ax, (4.75, 3.55), (4.75, 2.2), pert, ls="--", lw=2.0)
    arrow(ax, (2.3, 5.35), (4.55, 3.95), pert, style="-", lw=1.0, rad=-0.25)
    ax.text(0.15, 5.5, "perturbation of this synapse\n" + r"$\tilde w_{ij} \propto a_i\, s_j$,  $s_j$ leaning to sgn $d_j$",
            color=pert, fontsize=10)
    ax.text(0.15, 0.35, r"update: $\Delta w_{ij} \propto -\,a_i\, \tilde C\, s_j$  (local values $\times$ one global "
            "signal)", fontsize=10)


@validate_params({"ax": AXES})
def local_values_panel(ax) -> None:
    """A side panel: each local value, what it means, and the directions that use it."""
    ax.axis("off")
    ax.set(xlim=(0, 1), ylim=(0, 1))
    ax.text(0.0, 0.97, "local values and the directions that use them", weight="bold", fontsize=11, va="top")
    for n, (symbol, meaning, use) in enumerate(_PANEL):
        y = 0.82 - 0.2 * n
        ax.text(0.0, y, symbol, fontsize=14, va="top")
        ax.text(0.16, y, meaning, fontsize=10, va="top")
        ax.text(0.16, y - 0.07, use, fontsize=9, va="top", color=plotting.color("node"))


def local_values_table() -> pd.DataFrame:
    """:data:`LOCAL_VALUES` as a table (symbol, meaning, directions, role)."""
    return pd.DataFrame(LOCAL_VALUES, columns=["symbol", "meaning", "directions", "role"])

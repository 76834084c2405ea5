"""Analyses of runs: every method a notebook of the study uses, tested.

Scores and detectors (what the figure notebooks compute):

- :mod:`~astrocore.analysis.regimes`: regime detectors (thresholds, a small tree on
  ``(R, <Phi>)``, input and activity baselines), cross-fitted; the regime accuracy;
- :mod:`~astrocore.analysis.climate`: attractor type, dominant period and the climate
  distance of a long forecast;
- :mod:`~astrocore.analysis.forecasts`: forecast scores (VPT, climate, distribution
  distance) and the adaptation tables;
- :mod:`~astrocore.analysis.inference`: cross-validated parameter inference from features;
- :mod:`~astrocore.analysis.tuning`: the one-standard-error rule.

Experiments (what the run notebooks call, one or two calls each):

- :mod:`~astrocore.analysis.series`: the switching Thomas series, training series and
  forecast windows;
- :mod:`~astrocore.analysis.synchrony`: link-synchrony records (regimes, schematic,
  inference);
- :mod:`~astrocore.analysis.adaptation`: the zero-shot adaptation run (four models, one
  tuning budget);
- :mod:`~astrocore.analysis.hardware_reservoir`: Rhythmic Sharing on quantized, noisy devices.

The MGD side:

- :mod:`~astrocore.analysis.learning`: learning curves, first crossings, the parity, sweep,
  MGD-against-backprop and smart-direction tables and verdicts;
- :mod:`~astrocore.analysis.gradients`: gradient quality against perturbations (running
  cosines, crossings) for the multiplexing codes and the smart directions;
- :mod:`~astrocore.analysis.hardware_mgd`: in-loop MGD against deployed backprop on devices;
- :mod:`~astrocore.analysis.energy`: the energy tables.
"""

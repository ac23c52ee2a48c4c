"""The paper's signal-side systematic uncertainties, as inputs of the limit likelihood.

The background-side ones (spurious signal, alternative fit function, autoencoder-retraining
spread) are measured from the spectra (:mod:`adsearch.stats.closure`, the search); these are
configured: relative one-sigma uncertainties on the signal yield and on its mass peak.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["SignalUncertainties"]


@dataclass(frozen=True)
class SignalUncertainties:
    """Relative signal-side uncertainties (one sigma); zero switches one off.

    ``luminosity`` and ``efficiency`` scale the signal yield (pyhf ``normsys``);
    ``jet_energy_scale`` shifts the signal mass by that fraction and ``jet_energy_resolution``
    scales the detector-resolution part of its width (``histosys`` on the signal template).
    """

    luminosity: float = 0.0
    efficiency: float = 0.0
    jet_energy_scale: float = 0.0
    jet_energy_resolution: float = 0.0

    def norms(self) -> dict[str, tuple[float, float]]:
        """(hi, lo) yield factors of the luminosity and efficiency uncertainties."""
        return {name: (1.0 + v, 1.0 - v) for name, v in (("luminosity", self.luminosity),
                                                          ("efficiency", self.efficiency)) if v > 0}

    def shapes(
        self, edges: np.ndarray, mass: float, width_fraction: float, resolution_fn: Callable[[float], float]
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """(up, down) unit-yield templates for the jet energy scale and resolution."""
        from adsearch.stats.limits import _signal_sigma, gaussian_template

        out = {}
        sigma = _signal_sigma(mass, width_fraction, resolution_fn)
        if self.jet_energy_scale > 0:
            k = self.jet_energy_scale
            out["jet_energy_scale"] = (gaussian_template(edges, mass * (1 + k), sigma),
                                       gaussian_template(edges, mass * (1 - k), sigma))
        if self.jet_energy_resolution > 0:
            k, res = self.jet_energy_resolution, float(resolution_fn(mass))
            out["jet_energy_resolution"] = (
                gaussian_template(edges, mass, float(np.hypot(width_fraction * mass, res * (1 + k)))),
                gaussian_template(edges, mass, float(np.hypot(width_fraction * mass, res * max(1 - k, 0.05)))),
            )
        return out

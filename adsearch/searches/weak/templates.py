"""The background template of one signal region and feature set: SALAD, CURTAINS or CATHODE.

SALAD reweights the simulation's signal-region events (a classifier trained on data versus
simulation in the sidebands); CURTAINS transports the data's sideband events to target masses
drawn from the sideband mJJ fit; CATHODE (beyond the paper) samples the sideband flow at such
masses. Each template row also gets a fold (for the data-versus-template ensemble): SALAD rows
from the simulated events' ids, flow rows from their row number.
"""

from __future__ import annotations

import numpy as np

from adsearch.models.ensemble import fold_of_ids
from adsearch.models.templates import Template, cathode_template, curtains_template, fit_sideband_flow, salad_template
from adsearch.searches.common.samples import Sample
from adsearch.searches.weak.config import WeakSearchConfig
from adsearch.searches.weak.features import ID_COLUMNS, feature_matrix
from adsearch.searches.weak.masses import target_masses
from adsearch.searches.weak.regions import SlidingRegion

__all__ = ["build_template", "sample_folds"]


def sample_folds(sample: Sample, k: int, salt: int) -> np.ndarray:
    """Folds of a sample's events from their (run, lumi, event) ids."""
    return fold_of_ids({c: sample[c] for c in ID_COLUMNS}, k, salt=salt)


def build_template(
    data: Sample, simulation: Sample | None, region: SlidingRegion, feature_set: str, config: WeakSearchConfig,
    seed: int,
) -> tuple[Template, np.ndarray]:
    """(template, fold of each template row) for ``config.template``."""
    md = data["mjj_gev"]
    xd = feature_matrix(data, feature_set)
    sb_d = region.in_sidebands(md)
    k = config.classifier.k
    if config.template == "salad":
        if simulation is None:
            raise ValueError("the SALAD template needs a simulation sample")
        ms, xs = simulation["mjj_gev"], feature_matrix(simulation, feature_set)
        sr_s, sb_s = region.in_signal_region(ms), region.in_sidebands(ms)
        salad = config.salad.model_copy(update={"seed": config.salad.seed + seed})
        template = salad_template(xd[sb_d], md[sb_d], xs[sb_s], ms[sb_s], xs[sr_s], ms[sr_s], salad)
        return template, sample_folds(simulation.subset(sr_s), k, config.seed + seed + 1)
    curtains = config.curtains.model_copy(update={"seed": config.curtains.seed + seed})
    flow = fit_sideband_flow(xd[sb_d], md[sb_d], curtains.flow.model_copy(update={"seed": curtains.flow.seed + seed}))
    mass_seed = curtains.seed + 11
    if config.template == "curtains":
        # each sideband event moved to m independent target masses (row i * m + j)
        masses = target_masses(md[sb_d], region, curtains.oversampling * int(sb_d.sum()), seed=mass_seed)
        template = curtains_template(xd[sb_d], md[sb_d], masses.masses_gev, curtains, flow=flow)
    else:  # cathode: m times the fitted signal-region yield, sampled from the flow
        expected = target_masses(md[sb_d], region, 1, seed=mass_seed).expected_sr
        masses = target_masses(md[sb_d], region, max(int(round(curtains.oversampling * expected)), 1), seed=mass_seed)
        template = cathode_template(xd[sb_d], md[sb_d], masses.masses_gev, curtains, flow=flow)
    template.info["expected_sr"] = masses.expected_sr
    template.info["mass_fit_params"] = masses.fit.params.tolist()
    rows = np.arange(template.weights.size, dtype=np.uint64)
    return template, fold_of_ids({"row": rows}, k, salt=config.seed + seed + 1)

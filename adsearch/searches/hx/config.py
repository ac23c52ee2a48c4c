"""Configuration of the Y -> X H search (YAML -> pydantic); defaults follow ATLAS arXiv:2306.03637."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from adsearch.config import StrictModel
from adsearch.models.vrnn import VRNNConfig

__all__ = ["HxSearchConfig", "HxInjectionScan", "DEFAULT_MX_EDGES_GEV", "DEFAULT_MY_EDGES_GEV"]

#: m_X bins: about two m_X resolutions wide (8% jet mass resolution), as the paper's m_X bins.
DEFAULT_MX_EDGES_GEV = (30.0, 50.0, 70.0, 90.0, 115.0, 145.0, 185.0, 235.0, 300.0, 400.0, 500.0)
#: m_Y bins: 100 GeV (a few % of m_Y) from the m_JJ threshold.
DEFAULT_MY_EDGES_GEV = tuple(float(x) for x in range(1300, 5001, 100))


class HxInjectionScan(StrictModel):
    """Limits by signal injection: each cross-section is injected into the background-only data and
    the whole chain (VRNN training included) rerun; limits per region (:mod:`.limits`)."""

    signal: str
    xsec_pb: list[float] = Field(min_length=1)
    regions: list[Literal["anomaly", "tau21", "inclusive"]] = Field(
        default_factory=lambda: ["anomaly", "tau21", "inclusive"])


class HxSearchConfig(StrictModel):
    """Everything the Y -> X H search needs besides the hx store.

    ``anomaly_score_min``: the anomaly region J_X > 0.5. ``tau21_max``: the two-prong comparison
    region tau21(X) < 0.35. ``inject_xsec_pb``: signal dataset -> cross-section injected into
    the data. ``reference_xsec_pb``: cross-section at which each signal's expected significance
    is quoted per region (the sensitivity comparison).
    """

    data_dataset: str = "background"
    signal_datasets: list[str] = Field(default_factory=list)
    inject_xsec_pb: dict[str, float] = Field(default_factory=dict)
    reference_xsec_pb: float = Field(1.0, gt=0)
    luminosity_ipb: float | None = Field(None, gt=0)
    anomaly_score_min: float = Field(0.5, ge=0, lt=1)
    tau21_max: float = Field(0.35, gt=0, le=1)
    mx_edges_gev: list[float] = Field(default_factory=lambda: list(DEFAULT_MX_EDGES_GEV))
    my_edges_gev: list[float] = Field(default_factory=lambda: list(DEFAULT_MY_EDGES_GEV))
    fit_function: str = Field("three_param", description="m_Y fit per m_X bin (stats.functions)")
    max_window_bins: int = Field(3, ge=1, description="widest m_Y window of the scan, in bins")
    n_pseudo: int = Field(2000, ge=100, description="pseudo-experiments of the look-elsewhere correction")
    vrnn: VRNNConfig = Field(default_factory=VRNNConfig)
    ensemble_folds: int = Field(5, ge=3, description="k: each network trains on k - 2 folds, validates on one")
    training_jets: Literal["preselected", "x"] = Field(
        "preselected", description="VRNN training jets: both leading jets of every preselected data event "
        "(the store's training-jet columns, processor option training_jets) or only the X candidates")
    max_training_jets: int | None = Field(None, ge=100, description="seeded random subset of the training jets "
                                          "(all folds together; None: all)")
    limits: HxInjectionScan | None = Field(None, description="limits by signal injection (retrains per point)")
    seed: int = 0

    @model_validator(mode="after")
    def _consistent(self) -> HxSearchConfig:
        unknown = sorted(set(self.inject_xsec_pb) - set(self.signal_datasets))
        if unknown:
            raise ValueError(f"inject_xsec_pb names datasets not in signal_datasets: {unknown}")
        if self.limits is not None and self.limits.signal not in self.signal_datasets:
            raise ValueError(f"limits.signal {self.limits.signal!r} is not in signal_datasets")
        for name in ("mx_edges_gev", "my_edges_gev"):
            edges = getattr(self, name)
            if len(edges) < 3 or any(b <= a for a, b in zip(edges, edges[1:])):
                raise ValueError(f"{name} must be at least 3 increasing edges")
        return self

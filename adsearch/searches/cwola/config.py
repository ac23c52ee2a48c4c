"""Configuration of CWoLa hunting (YAML -> pydantic), defaults as in the 2020 ATLAS search."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from adsearch.config import StrictModel
from adsearch.models.cwola import CWoLaConfig
from adsearch.searches.common.regions import CWOLA_2020_EDGES_GEV

__all__ = ["CWoLaSearchConfig", "InjectionScan"]


class InjectionScan(StrictModel):
    """Signal injection for limits: each cross-section is injected ``n_samplings`` times (random
    choices of the injected events), the whole chain rerun, the median-performance sampling kept."""

    signal: str
    xsec_pb: list[float] = Field(min_length=1)
    n_samplings: int = Field(5, ge=1)
    regions: list[int] | None = Field(None, description="regions to rerun (default: the one holding the signal)")


class CWoLaSearchConfig(StrictModel):
    """Everything the CWoLa search needs besides the dijet store.

    ``region``: ``search`` (|dy| < 1.2) or ``validation`` (|dy| > 1.2, the same chain).
    ``inject_xsec_pb``: signal dataset -> cross-section injected into the data.
    """

    data_dataset: str = "background"
    signal_datasets: list[str] = Field(default_factory=list)
    inject_xsec_pb: dict[str, float] = Field(default_factory=dict)
    luminosity_ipb: float | None = Field(None, gt=0)
    region: Literal["search", "validation"] = "search"
    mjj_edges_gev: list[float] = Field(default_factory=lambda: list(CWOLA_2020_EDGES_GEV))
    searched_regions: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5, 6])
    efficiencies: list[float] = Field(default_factory=lambda: [0.1, 0.01])
    fit_lo_gev: float = 1800.0
    fit_hi_gev: float = 8200.0
    fit_bin_gev: float = 100.0
    classifier: CWoLaConfig = Field(default_factory=CWoLaConfig)
    limits: InjectionScan | None = None
    seed: int = 0

    @model_validator(mode="after")
    def _consistent(self) -> CWoLaSearchConfig:
        unknown = sorted(set(self.inject_xsec_pb) - set(self.signal_datasets))
        if unknown:
            raise ValueError(f"inject_xsec_pb names datasets not in signal_datasets: {unknown}")
        if self.limits is not None and self.limits.signal not in self.signal_datasets:
            raise ValueError(f"limits.signal {self.limits.signal!r} is not in signal_datasets")
        if any(not 0 < e < 1 for e in self.efficiencies):
            raise ValueError("efficiencies must lie in (0, 1)")
        if self.fit_hi_gev <= self.fit_lo_gev:
            raise ValueError("fit_hi_gev must exceed fit_lo_gev")
        return self

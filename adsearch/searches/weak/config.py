"""Configuration of the 2025 weakly supervised dijet search (YAML -> pydantic), published defaults."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from adsearch.config import StrictModel
from adsearch.models.templates.curtains import CurtainsConfig
from adsearch.models.templates.salad import SaladConfig
from adsearch.models.weak import WeakConfig
from adsearch.searches.weak.features import FEATURE_SETS
from adsearch.searches.weak.regions import SlidingRegion, sliding_regions
from adsearch.searches.weak.validation_samples import ValidationConfig

__all__ = ["WeakSearchConfig", "IMPLEMENTED_TEMPLATES"]

IMPLEMENTED_TEMPLATES = ("salad", "curtains", "cathode")


class WeakSearchConfig(StrictModel):
    """Everything the weak search needs besides the dijet store.

    ``simulation_dataset``: the SALAD simulation (a sample generated differently from the
    pseudo-data); ``signal_regions_gev``: [lo, hi] pairs, default the seven published regions;
    ``inject_xsec_pb``: signal dataset -> cross-section injected into the data;
    ``curtains``: the sideband flow and oversampling of the CURTAINS (and CATHODE) template;
    ``validation``: the validation samples and instances (``samples: []`` runs none: nothing is
    then validated and no non-closure correction is applied).
    """

    data_dataset: str = "background"
    simulation_dataset: str = "simulation"
    signal_datasets: list[str] = Field(default_factory=list)
    inject_xsec_pb: dict[str, float] = Field(default_factory=dict)
    luminosity_ipb: float | None = Field(None, gt=0)
    region: Literal["search", "validation"] = "search"
    mjj_column: str = "mjj_massless_gev"
    template: Literal["salad", "curtains", "cathode"] = "salad"
    signal_regions_gev: list[tuple[float, float]] = Field(
        default_factory=lambda: [r.signal_region_gev for r in sliding_regions()])
    sideband_gev: float = Field(600.0, gt=0)
    bin_gev: float = Field(60.0, gt=0)
    feature_sets: list[str] = Field(default_factory=lambda: list(FEATURE_SETS))
    classifier: WeakConfig = Field(default_factory=WeakConfig)
    salad: SaladConfig = Field(default_factory=SaladConfig)
    curtains: CurtainsConfig = Field(default_factory=CurtainsConfig)
    validation: ValidationConfig = Field(default_factory=ValidationConfig)
    min_sideband_bins: int = Field(6, ge=3)
    seed: int = 0

    @model_validator(mode="after")
    def _consistent(self) -> WeakSearchConfig:
        unknown = sorted(set(self.inject_xsec_pb) - set(self.signal_datasets))
        if unknown:
            raise ValueError(f"inject_xsec_pb names datasets not in signal_datasets: {unknown}")
        bad = sorted(set(self.feature_sets) - set(FEATURE_SETS))
        if bad:
            raise ValueError(f"unknown feature_sets {bad}; choose from {sorted(FEATURE_SETS)}")
        if self.template not in IMPLEMENTED_TEMPLATES:
            raise ValueError(f"template {self.template!r} is not implemented yet (available: {IMPLEMENTED_TEMPLATES})")
        if any(hi <= lo for lo, hi in self.signal_regions_gev):
            raise ValueError("every signal region needs hi > lo")
        self.regions()  # bin-width checks
        return self

    def regions(self) -> list[SlidingRegion]:
        return [SlidingRegion(lo, hi, self.sideband_gev, self.bin_gev) for lo, hi in self.signal_regions_gev]

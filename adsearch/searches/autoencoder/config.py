"""Configuration of the autoencoder search (YAML -> pydantic), defaults as in the ATLAS search."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from adsearch.config import StrictModel

__all__ = ["MASS_SPECTRA", "SignalUncertaintiesConfig", "AESearchConfig"]

#: spectrum label -> store column (GeV); the nine two-object masses of the ATLAS search.
MASS_SPECTRA: dict[str, str] = {
    "jj": "mass_jj_gev",
    "jb": "mass_jb_gev",
    "bb": "mass_bb_gev",
    "je": "mass_je_gev",
    "jmu": "mass_jmu_gev",
    "jgamma": "mass_jgamma_gev",
    "be": "mass_be_gev",
    "bmu": "mass_bmu_gev",
    "bgamma": "mass_bgamma_gev",
}


class SignalUncertaintiesConfig(StrictModel):
    """Relative one-sigma signal-side uncertainties of the limits (0 switches one off).

    ``luminosity``: 1.7%, the Run-2 139 fb^-1 uncertainty of the paper's data. The others are
    typical ATLAS Run-2 sizes for leptons and jets at these masses, to be set per analysis (the
    PRL does not list them per source): object efficiencies 2%, jet energy scale 2%, jet energy
    resolution 10% of the resolution.
    """

    luminosity: float = Field(default=0.017, ge=0, lt=1)
    efficiency: float = Field(default=0.02, ge=0, lt=1)
    jet_energy_scale: float = Field(default=0.02, ge=0, lt=1)
    jet_energy_resolution: float = Field(default=0.10, ge=0, lt=1)


class AESearchConfig(StrictModel):
    """Everything the search stage needs besides the store and the scores in it.

    ``luminosity_ipb``: integrated luminosity of the data in pb^-1; ``None`` reads it from the
    data dataset's metadata (the generator's equivalent luminosity). Regions are defined by
    visible cross-sections ``region_xsec_pb`` (count = sigma_vis x L) unless explicit
    ln(loss) ``region_thresholds`` are given (ATLAS: -9.10, -8.0, -6.5).
    ``inject_xsec_pb``: signal dataset -> cross-section (pb) injected into the data.

    Systematics of the limits: ``spurious_signal`` (fitted on the background-only spectrum of
    ``background_only_dataset``, default the data dataset before any injection: for real data
    name a background simulation), the alternative fit function (always), ``retraining_spread``
    (when the store holds the kept retrains' scores, written by
    :func:`adsearch.models.retrains.score_retrains`; the demo does) and
    ``signal_uncertainties``; ``systematics_breakdown_every``: every k-th mass point records each
    one's effect on the expected limit (0: none).
    """

    data_dataset: str = "background"
    signal_datasets: list[str] = Field(default_factory=list)
    inject_xsec_pb: dict[str, float] = Field(default_factory=dict)
    luminosity_ipb: float | None = Field(default=None, gt=0)
    region_xsec_pb: list[float] = Field(default_factory=lambda: [10.0, 1.0, 0.1])
    region_thresholds: list[float] | None = None
    spectra: list[str] = Field(default_factory=lambda: list(MASS_SPECTRA))
    mass_lo_gev: float = Field(default=300.0, gt=0)
    mass_hi_gev: float = Field(default=8000.0, gt=0)
    min_events_for_fit: int = Field(default=30, ge=10)
    n_pseudo: int = Field(default=10000, ge=100)
    global_p: Literal["refit", "fixed"] = Field(
        default="refit", description="BumpHunter null: pseudo-experiments refitted (calibrated) or a fixed fit"
    )
    limit_widths: list[float] = Field(default_factory=lambda: [0.0, 0.15])
    limit_mass_spacing: float = Field(default=0.05, gt=0)
    limit_regions: list[int] = Field(default_factory=lambda: [0])
    limit_spectra: list[str] = Field(default_factory=lambda: list(MASS_SPECTRA))
    spurious_signal: bool = True
    background_only_dataset: str | None = None
    retraining_spread: bool = True
    signal_uncertainties: SignalUncertaintiesConfig = Field(default_factory=SignalUncertaintiesConfig)
    systematics_breakdown_every: int = Field(default=4, ge=0)
    seed: int = 0

    @field_validator("spectra", "limit_spectra")
    @classmethod
    def _known_spectra(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(MASS_SPECTRA))
        if unknown:
            raise ValueError(f"unknown spectra {unknown}; known: {sorted(MASS_SPECTRA)}")
        return value

    @field_validator("region_xsec_pb")
    @classmethod
    def _positive_xsec(cls, value: list[float]) -> list[float]:
        if not value or any(x <= 0 for x in value):
            raise ValueError("region_xsec_pb must be a non-empty list of positive cross-sections")
        return sorted(value, reverse=True)

    @model_validator(mode="after")
    def _consistent(self) -> AESearchConfig:
        if self.mass_hi_gev <= self.mass_lo_gev:
            raise ValueError("mass_hi_gev must exceed mass_lo_gev")
        unknown = sorted(set(self.inject_xsec_pb) - set(self.signal_datasets))
        if unknown:
            raise ValueError(f"inject_xsec_pb names datasets not in signal_datasets: {unknown}")
        n_regions = len(self.region_thresholds or self.region_xsec_pb)
        if any(not 0 <= i < n_regions for i in self.limit_regions):
            raise ValueError(f"limit_regions must index the {n_regions} regions")
        return self

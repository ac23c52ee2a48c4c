"""The numba kernels against the libraries they replace, on the same Pythia jets."""

from __future__ import annotations

import awkward as ak
import fastjet
import numpy as np
import pytest

from adsearch.generator import detector
from adsearch.generator.events import _Particles
from adsearch.generator.kernels import isolation_sums, nsubjettiness_wta_kt, softdrop_mass
from adsearch.generator.processes import qcd_dijet
from adsearch.generator.runner import make_pythia


@pytest.fixture(scope="module")
def particles() -> _Particles:
    pythia, _ = make_pythia(qcd_dijet(400.0), seed=3, mpi=False)
    return _Particles(pythia.nextBatch(25))


@pytest.fixture(scope="module")
def jets(particles: _Particles) -> ak.Array:
    """Constituents of the large-R jets, one list per jet."""
    sequence = fastjet.ClusterSequence(particles.momenta(particles.visible),
                                       fastjet.JetDefinition(fastjet.antikt_algorithm, 1.0))
    per_jet = ak.flatten(sequence.constituents(100.0), axis=1)
    return ak.zip({name: per_jet[name] for name in ("px", "py", "pz", "E")}, with_name="Momentum4D")


def _flat(jets: ak.Array) -> tuple[np.ndarray, ...]:
    offsets = np.concatenate([[0], np.cumsum(ak.to_numpy(ak.num(jets)))])
    return (*(ak.to_numpy(ak.flatten(jets[name])).astype(np.float64) for name in ("px", "py", "pz", "E")), offsets)


def test_softdrop_matches_fastjet_contrib(jets: ak.Array) -> None:
    assert len(jets) >= 40
    reference = fastjet.ClusterSequence(jets, fastjet.JetDefinition(fastjet.cambridge_algorithm, 1.0))
    expected = ak.to_numpy(reference.exclusive_jets_softdrop_grooming(njets=1, beta=0.0, symmetry_cut=0.1, R0=1.0).msoftdrop)
    got = softdrop_mass(*_flat(jets), 0.1, 0.0, 1.0)
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-6)
    assert np.count_nonzero(got > 1.0) > len(got) // 2


def test_nsubjettiness_matches_fastjet_contrib(jets: ak.Array) -> None:
    reference = fastjet.ClusterSequence(jets, fastjet.JetDefinition(fastjet.kt_algorithm, 0.2))
    expected = np.asarray(ak.to_numpy(reference.njettiness(njets=[1, 2, 3, 4], beta=1.0, R0=1.0,
                                                           axes_definition="WTA_KT_Axes"))).reshape(-1, 4)
    got = nsubjettiness_wta_kt(*_flat(jets), 1.0)
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-9)
    assert np.all(got[:, 0] > 0)


def test_isolation_kernel_matches_awkward_reference(particles: _Particles) -> None:
    mask = particles.visible & (particles.pt > 5.0) & (np.abs(particles.pid) == 22)
    index = np.flatnonzero(mask)
    assert index.size > 20
    expected = ak.to_numpy(ak.flatten(detector.isolation(particles.records(mask, ("pt", "eta", "phi")),
                                                         particles.records(particles.visible, ("pt", "eta", "phi")), 0.3)))
    vis = particles.visible
    offsets = np.concatenate([[0], np.cumsum(particles.counts(vis))])
    got = isolation_sums(particles.event[index], particles.eta[index], particles.phi[index], offsets,
                         particles.eta[vis], particles.phi[vis], particles.pt[vis], 0.3) / particles.pt[index]
    np.testing.assert_allclose(got, expected, rtol=1e-9)

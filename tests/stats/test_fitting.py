from __future__ import annotations

import numpy as np
import pytest
from iminuit import Minuit
from iminuit.cost import ExtendedBinnedNLL
from scipy import stats as sps
from scipy.integrate import quad

from adsearch.stats.binning import cwola_2020_edges, resolution_binning
from adsearch.stats.fitting import expected_counts, fit_spectrum, goodness_of_fit
from adsearch.stats.functions import FUNCTION_NAMES, get_function


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_expected_counts_are_bin_integrals(name: str, spectrum) -> None:
    edges = np.array([300.0, 330.0, 400.0, 500.0, 1500.0, 1600.0, 1800.0, 2200.0, 6000.0])
    _, p = spectrum(name, edges, 1e4)
    f = get_function(name)
    ref = [quad(lambda x: f.density(np.array([x]), p)[0], lo / 13e3, hi / 13e3, epsrel=1e-12)[0] for lo, hi in zip(edges[:-1], edges[1:])]
    centre_values = f.density(0.5 * (edges[1:] + edges[:-1]) / 13e3, p) * np.diff(edges) / 13e3
    narrow = np.diff(edges) / edges[:-1] <= 0.25  # resolution-like bins: the default 5 nodes
    np.testing.assert_allclose(expected_counts(name, p, edges)[narrow], np.array(ref)[narrow], rtol=1e-8)
    np.testing.assert_allclose(expected_counts(name, p, edges, n_nodes=16), ref, rtol=1e-9)
    assert not np.allclose(centre_values, ref, rtol=1e-3)  # integrating matters


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_recovers_generated_parameters(name: str, rng: np.random.Generator, spectrum) -> None:
    edges = resolution_binning()
    mu, truth = spectrum(name, edges, 2e6)
    fit = fit_spectrum(rng.poisson(mu), edges, name)
    assert fit.converged, fit.message
    pulls = (fit.params - truth) / fit.param_errors
    assert np.all(np.abs(pulls) < 3.5), pulls
    assert 0.01 < fit.p_value
    # the expected counts follow the truth within the propagated per-bin uncertainty
    assert np.all(np.abs(fit.expected - mu) < 4 * fit.sigma + 1e-3)


@pytest.mark.parametrize("name", ["three_param", "five_param"])
def test_asimov_fit_is_exact(name: str, spectrum) -> None:
    edges = cwola_2020_edges()
    mu, truth = spectrum(name, edges, 1e6)
    fit = fit_spectrum(mu, edges, name)
    assert np.all(np.abs(fit.params - truth) < 1e-2 * fit.param_errors)
    assert np.all(np.abs(fit.expected - mu) < 0.02 * fit.sigma)
    assert fit.chi2 < 1e-2


def test_pulls_and_band_cover_over_toys(spectrum) -> None:
    """Covariance propagation: pulls have unit width and the band matches the toy spread.

    Pulls are taken in the fit's coordinates (ln p1, p2, -p3): p1 normalises the function at
    x = 1, far outside the data, so its estimate is log-normal rather than Gaussian.
    """
    rng = np.random.default_rng(7)
    edges = np.linspace(1000.0, 4000.0, 41)
    mu, truth = spectrum("three_param", edges, 5e4)
    pulls, preds, sigmas = [], [], []
    for _ in range(120):
        fit = fit_spectrum(rng.poisson(mu), edges, "three_param")
        assert fit.converged
        truth_theta = get_function("three_param").theta_from_params(truth)
        pulls.append((fit.theta - truth_theta) / np.sqrt(np.diag(fit.theta_covariance)))
        preds.append(fit.expected)
        sigmas.append(fit.sigma)
    pulls = np.array(pulls)
    assert np.all(np.abs(pulls.mean(axis=0)) < 0.3)
    assert np.all(np.abs(pulls.std(axis=0) - 1.0) < 0.2)
    ratio = np.std(preds, axis=0) / np.mean(sigmas, axis=0)
    assert np.all(np.abs(ratio - 1.0) < 0.2), ratio


def test_agrees_with_iminuit_extended_binned_nll(rng: np.random.Generator, spectrum) -> None:
    """Same minimum as iminuit's own cost function integrating the density numerically."""
    edges = cwola_2020_edges()
    mu, truth = spectrum("three_param", edges, 2e5)
    n = rng.poisson(mu)
    ours = fit_spectrum(n, edges, "three_param")
    f = get_function("three_param")

    def density(m: np.ndarray, p1: float, p2: float, p3: float) -> np.ndarray:
        return f.density(m / 13e3, np.array([p1, p2, p3])) / 13e3

    cost = ExtendedBinnedNLL(n, edges, density, use_pdf="numerical")
    m = Minuit(cost, *ours.params)
    m.errors = 0.1 * ours.param_errors
    m.migrad()  # starting at our minimum, iminuit's likelihood must not find a better one
    assert m.valid
    assert cost(*ours.params) - m.fval < 1e-3
    assert np.all(np.abs(np.asarray(m.values) - ours.params) < 0.05 * ours.param_errors)
    # (uncertainties are checked against toys above: Minuit's numerical HESSE in these
    # strongly correlated physical parameters varies by factors of ~5 with its step sizes)


def test_mask_excludes_signal_region(rng: np.random.Generator, spectrum) -> None:
    edges = cwola_2020_edges()
    mu, truth = spectrum("three_param", edges, 1e6)
    n = rng.poisson(mu).astype(float)
    n[20:24] += 2000.0  # a large bump that the masked fit must ignore
    sr = np.zeros(n.size, bool)
    sr[18:26] = True
    masked = fit_spectrum(n, edges, "three_param", mask=~sr)
    assert masked.converged and masked.ndf < n.size - 3
    assert np.all(np.abs(masked.expected[sr] - mu[sr]) < 4 * masked.sigma[sr])
    unmasked = fit_spectrum(n, edges, "three_param")
    assert unmasked.p_value < 1e-6 < masked.p_value


def test_signal_template_yield(rng: np.random.Generator, spectrum) -> None:
    from scipy.stats import norm

    edges = cwola_2020_edges()
    mu, _ = spectrum("three_param", edges, 1e6)
    template = np.diff(norm.cdf(edges, 3000.0, 150.0))
    n = rng.poisson(mu + 3000.0 * template)
    fit = fit_spectrum(n, edges, "three_param", signal_template=template)
    assert fit.converged
    assert abs(fit.signal_yield - 3000.0) < 3.5 * fit.signal_error
    # ``expected`` is the background alone: it follows the truth without the signal
    assert np.all(np.abs(fit.expected - mu) < 4 * fit.sigma + 1e-3)
    # the yield's error has the toy spread (60 toys: 3 sigma of a sample sd is 0.28)
    pulls = []
    for _ in range(60):
        toy = fit_spectrum(rng.poisson(mu + 3000.0 * template), edges, "three_param", signal_template=template)
        assert toy.converged
        pulls.append((toy.signal_yield - 3000.0) / toy.signal_error)
    assert abs(np.mean(pulls)) < 3 / np.sqrt(60) and abs(np.std(pulls, ddof=1) - 1.0) < 3 / np.sqrt(2 * 59)


def _reference_groups(mu: np.ndarray, n: np.ndarray, used: np.ndarray, min_expected: float) -> tuple[list, list]:
    """Grouping as the docstring says it, written as runs: split the fitted bins into runs
    between masked bins; in each run, cut a group whenever it expects min_expected; a short
    remainder joins the run's last group (or the previous group if the run has none)."""
    groups: list[list[float]] = []
    run: list[int] = []
    for i in [*range(mu.size), None]:
        if i is not None and used[i]:
            run.append(i)
            continue
        if run:
            current: list[int] = []
            for j in run:
                current.append(j)
                if mu[current].sum() >= min_expected:
                    groups.append([mu[current].sum(), n[current].sum()])
                    current = []
            if current:
                if groups:
                    groups[-1][0] += mu[current].sum()
                    groups[-1][1] += n[current].sum()
                else:
                    groups.append([mu[current].sum(), n[current].sum()])
        run = []
    return [g[0] for g in groups], [g[1] for g in groups]


def test_goodness_of_fit_groups_bins_and_counts_degrees_of_freedom(rng: np.random.Generator, spectrum) -> None:
    # by hand: min 5; [3, 3] -> 6; [10]; 1 is short and joins 10; the mask ends the run; [2, 2, 2] -> 6
    mu = np.array([3.0, 3.0, 10.0, 1.0, 50.0, 2.0, 2.0, 2.0])
    n = np.array([4.0, 2.0, 12.0, 0.0, 50.0, 1.0, 3.0, 2.0])
    used = np.array([True, True, True, True, False, True, True, True])
    chi2, pearson, n_groups = goodness_of_fit(mu, n, used, 5.0)
    gmu, gn = np.array([6.0, 11.0, 6.0]), np.array([6.0, 12.0, 6.0])
    assert n_groups == 3
    assert pearson == pytest.approx(np.sum((gn - gmu) ** 2 / gmu))
    assert chi2 == pytest.approx(2 * np.sum(gmu - gn + gn * np.log(gn / gmu)))
    # random spectra with masked gaps and many small bins, against the run-wise reference
    for _ in range(20):
        mu = rng.exponential(4.0, 60) + 0.05
        n = rng.poisson(mu).astype(float)
        used = rng.random(60) > 0.15
        gmu, gn = (np.array(x) for x in _reference_groups(mu, n, used, 5.0))
        chi2, pearson, n_groups = goodness_of_fit(mu, n, used, 5.0)
        dev = np.where(gn > 0, gn * np.log(np.where(gn > 0, gn, 1.0) / gmu), 0.0)
        assert n_groups == gmu.size
        assert chi2 == pytest.approx(2 * np.sum(gmu - gn + dev)) and pearson == pytest.approx(np.sum((gn - gmu) ** 2 / gmu))
    # a fit's ndf and p-value: groups of its fitted bins minus its free parameters
    edges = cwola_2020_edges()
    mu, _ = spectrum("three_param", edges, 2e3)  # a falling tail of small bins: grouping matters
    counts = rng.poisson(mu)
    mask = np.ones(counts.size, bool)
    mask[20:26] = False
    fit = fit_spectrum(counts, edges, "three_param", mask=mask)
    chi2, _, n_groups = goodness_of_fit(fit.expected, counts, mask, 5.0)
    assert n_groups < mask.sum() and fit.ndf == n_groups - 3
    assert fit.chi2 == pytest.approx(chi2) and fit.p_value == pytest.approx(sps.chi2.sf(chi2, n_groups - 3))


def test_failures_are_reported(spectrum) -> None:
    edges = cwola_2020_edges()
    sparse = fit_spectrum(np.r_[np.zeros(60), [3, 1, 0, 2]], edges, "five_param")
    assert not sparse.converged and "need >= 5" in sparse.message and np.all(np.isnan(sparse.expected))
    with pytest.raises(ValueError, match="finite and >= 0"):
        fit_spectrum(np.r_[np.full(63, 10.0), -1.0], edges, "three_param")
    with pytest.raises(ValueError, match="do not match"):
        fit_spectrum(np.ones(10), edges, "three_param")
    # a spectrum the function cannot describe: the fit runs but says so
    bad = fit_spectrum(np.r_[np.zeros(30), np.full(34, 1e5)], edges, "three_param")
    assert (not bad.converged) or bad.p_value < 1e-10
    assert isinstance(bad.message, str) and bad.message


def test_accepts_hist_objects(rng: np.random.Generator, spectrum) -> None:
    import hist

    edges = cwola_2020_edges()
    mu, _ = spectrum("three_param", edges, 1e5)
    h = hist.Hist(hist.axis.Variable(edges, name="mjj"), storage=hist.storage.Double())
    h.view()[:] = rng.poisson(mu)
    from_hist = fit_spectrum(h, None, "three_param")
    from_numpy = fit_spectrum(h.values(), edges, "three_param")
    np.testing.assert_allclose(from_hist.params, from_numpy.params)


@pytest.mark.parametrize("total", [50.0, 300.0])
def test_low_statistics_fits_converge(total: float, spectrum) -> None:
    """Few events over 0.5-8 TeV (mostly empty bins): the five-parameter fits still converge."""
    edges = resolution_binning(500.0, 8000.0)
    mu, _ = spectrum("five_param", edges, total)
    rng = np.random.default_rng(int(total))
    for name in ("five_param", "five_param_alt"):
        for _ in range(6):
            n = rng.poisson(mu)
            fit = fit_spectrum(n, edges, name)
            assert fit.converged, fit.message
            assert fit.expected.sum() == pytest.approx(n.sum(), rel=5e-3)  # extended-likelihood normalisation

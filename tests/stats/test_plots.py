from __future__ import annotations

import matplotlib
import numpy as np

from adsearch.stats.bumphunter import bump_hunt
from adsearch.stats.limits import LimitPoint
from adsearch.stats.plots import plot_bumphunt, plot_limits, plot_spectrum_fit
from adsearch.stats.significance import z_observed


def _panel(ax) -> tuple[np.ndarray, list[tuple[float, float]]]:  # noqa: ANN001 - a matplotlib Axes
    """(values of the filled significance stairs, x ranges of the shaded spans) of a panel."""
    from matplotlib.patches import Rectangle, StepPatch

    (stairs,) = [p for p in ax.patches if isinstance(p, StepPatch)]
    spans = [(p.get_x(), p.get_x() + p.get_width()) for p in ax.patches if isinstance(p, Rectangle)]
    return np.asarray(stairs.get_data().values), spans


def test_figures_render(tmp_path) -> None:
    assert matplotlib.get_backend().lower() == "agg"
    edges = np.linspace(1000.0, 3000.0, 41)
    b = np.linspace(500.0, 20.0, 40)
    n = np.random.default_rng(0).poisson(b).astype(float)
    n[20:22] += 60
    mask = np.ones(40, bool)
    mask[18:24] = False
    fig = plot_spectrum_fit(edges, n, b, 0.05 * b, background_alt=1.02 * b, fit_mask=mask, title="toy")
    fig.savefig(tmp_path / "fit.png")
    ax, rax = fig.axes[:2]
    assert ax.get_yscale() == "log" and rax.get_ylabel() == "significance"
    # the panel shows each bin's significance with the band's uncertainty; unfitted bins shaded
    z, spans = _panel(rax)
    np.testing.assert_allclose(z, z_observed(n, b, 0.05 * b))
    np.testing.assert_allclose(spans, np.stack([edges[18:24], edges[19:25]], axis=1) / 1000.0)
    res = bump_hunt(n, b, edges_gev=edges, n_pseudo=200)
    fig2 = plot_bumphunt(edges, n, b, res)
    fig2.savefig(tmp_path / "bh.png")
    assert any("local Z" in txt.get_text() for txt in fig2.axes[0].get_legend().get_texts())
    z, spans = _panel(fig2.axes[1])
    np.testing.assert_allclose(z, z_observed(n, b))
    assert spans == [(edges[res.lo_bin] / 1000.0, edges[res.hi_bin] / 1000.0)]  # the window found
    assert any(f"local Z = {res.local_z:.2f}" in t.get_text() for t in fig2.axes[0].get_legend().get_texts())
    pts = [LimitPoint(m, 50.0, 0.0, 10.0, 9.0, 6.0, 13.0, 4.5, 18.0, "asymptotic", m - 150, m + 150, 1.0) for m in (1000.0, 1050.0, 1102.5)]
    fig3 = plot_limits(pts, scale=0.5)
    fig3.savefig(tmp_path / "brazil.png")
    observed = fig3.axes[0].get_lines()[1].get_ydata()
    np.testing.assert_allclose(observed, 5.0)
    assert all((tmp_path / f).stat().st_size > 1000 for f in ("fit.png", "bh.png", "brazil.png"))

"""Structure of the Bayesian forest plot with shrinkage estimates (Agg)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from jdmstats import meta  # noqa: E402
from jdmstats.plots import forest_bayes  # noqa: E402

YI = [-2.31, -0.46, -2.30, -1.76, -1.26, -2.42]
SEI = [0.60, 0.56, 0.88, 0.45, 0.64, 1.53]


pytestmark = pytest.mark.usefixtures("close_figures")


def _gid(ax, gid):
    return [a for a in ax.get_children() if a.get_gid() == gid]


def test_forest_bayes_draws_studies_shrinkage_diamond_and_prediction():
    fit = meta.bayes(YI, sei=SEI, labels=[f"S{i}" for i in range(6)])
    ax = forest_bayes(fit, interval="central")
    (studies,) = _gid(ax, "studies")
    (shrink,) = _gid(ax, "shrinkage")
    np.testing.assert_allclose(studies.get_offsets()[:, 0], YI)
    np.testing.assert_allclose(shrink.get_offsets()[:, 0], fit.shrinkage["median"])
    (segs,) = _gid(ax, "shrinkage-ci")
    lows = [s[0][0] for s in segs.get_segments()]
    np.testing.assert_allclose(lows, fit.shrinkage["95% lower (central)"])
    assert len(_gid(ax, "diamond")) == 1 and _gid(ax, "pi")
    texts = [t.get_text() for t in ax.texts]
    assert any("half-normal(scale=0.5)" in t for t in texts)


def test_forest_bayes_proportions_are_back_transformed():
    fit = meta.bayes_proportion([16, 10, 4, 43], [17, 12, 8, 58], tau_scale=1.0)
    ax = forest_bayes(fit)
    (shrink,) = _gid(ax, "shrinkage")
    np.testing.assert_allclose(
        shrink.get_offsets()[:, 0], 1 / (1 + np.exp(-fit.shrinkage["median"].to_numpy()))
    )
    assert ax.get_xlim()[0] == 0.0
    with pytest.raises(ValueError, match="interval must be"):
        forest_bayes(fit, interval="hpd")

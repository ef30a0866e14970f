"""Subgroup analysis: a random-effects fit per subgroup and the test for subgroup
differences (metafor: ``rma`` per level and ``rma(mods = ~ factor(group))``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from jdmstats.meta.model import _check_inputs, random_effects
from jdmstats.results import ResultMixin

__all__ = ["subgroup_analysis", "SubgroupResult"]


@dataclass(frozen=True)
class SubgroupResult(ResultMixin):
    """Result of :func:`subgroup_analysis`.

    ``fits`` maps each group to its :class:`RMAResult`; ``q_between`` is the test of subgroup
    differences from the separate fits (an EE model of the subgroup estimates); ``qm`` is the
    moderator test of the meta-regression on the group factor (common tau^2), with
    ``moderator_test`` (``"z"``: a chi-square QM; ``"knha"``/``"t"``: an F test).
    """

    groups: list
    fits: dict
    q_between: float
    q_between_df: int
    q_between_pvalue: float
    qm: float
    qm_df: tuple
    qm_pvalue: float
    method: str
    test: str
    metareg: object = field(repr=False, default=None)
    moderator_test: str | None = None

    def __post_init__(self):
        if self.moderator_test is None:
            object.__setattr__(self, "moderator_test", self.test)

    _title = "Subgroup analysis"

    def summary(self):
        """One row per subgroup: k, estimate, se, CI, PI, tau^2, I^2, Q."""
        import pandas as pd

        frames = []
        for g in self.groups:
            f = self.fits[g]
            frames.append(
                f.summary().drop(columns=["statistic"]).set_index(pd.Index([g], name="group"))
            )
        return pd.concat(frames)

    def __repr__(self) -> str:
        body = self.summary().to_string(float_format=lambda x: f"{x:.4f}")
        lines = [
            f"Subgroup analysis ({self.method}, {self.test})",
            "",
            body,
            "",
            f"Test for subgroup differences (separate tau^2): Q({self.q_between_df}) = "
            f"{self.q_between:.4f}, p = {self.q_between_pvalue:.4g}",
        ]
        if np.isfinite(self.qm):
            name = "QM" if self.moderator_test == "z" else "F"
            lines.append(
                f"Moderator test (common tau^2): {name}{self.qm_df} = {self.qm:.4f}, "
                f"p = {self.qm_pvalue:.4g}"
            )
        return "\n".join(lines)


def subgroup_analysis(
    yi, vi, groups, method: str = "REML", test: str = "z", level: float = 0.95, labels=None,
    moderator_test: str | None = None,
) -> SubgroupResult:
    """Pooled estimate per subgroup and tests for subgroup differences.

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and sampling variances.
    groups : array_like
        Subgroup of each study (any hashable values; order of first appearance is kept).
    method, test, level : see :func:`random_effects`.
    labels : sequence, optional
        Study labels.
    moderator_test : str, optional
        Test of the meta-regression on the group factor (``"z"``, ``"t"`` or ``"knha"``, as
        ``test``); default ``test``. The subgroup fits, and so ``q_between``, use ``test``:
        ``test="z", moderator_test="knha"`` gives the usual pair (Q_between of the separate
        fits and the Hartung-Knapp F test) in one call, as ``rma`` per subgroup and
        ``rma(mods = ~ factor(group), test = "knha")`` do in metafor.

    Returns
    -------
    SubgroupResult

    Notes
    -----
    Two tests, as usually reported with metafor (Borenstein et al. 2009, ch. 19):
    (1) separate tau^2 per subgroup: the subgroup estimates are pooled by an equal-effects
    model, ``rma(est, se^2, method="EE")``, whose Q on G - 1 df is the test of
    differences; (2) a common tau^2: ``rma(yi, vi, mods = ~ factor(group))`` and its QM test
    (F test for knha).  Validated against metafor 3.8-1 (tests/reference).  Test (2) needs
    k > G; otherwise it is NaN.

    Examples
    --------
    >>> from jdmstats.meta.subgroups import subgroup_analysis
    >>> yi = [0.1, 0.2, 0.15, 0.6, 0.7, 0.65]; vi = [0.01] * 6
    >>> res = subgroup_analysis(yi, vi, ["a", "a", "a", "b", "b", "b"], method="DL")
    >>> res.q_between_df
    1
    """
    import pandas as pd
    from scipy import stats

    from jdmstats.meta.regression import metareg

    yi, vi, labs = _check_inputs(yi, vi, labels)
    g = pd.Series(np.asarray(groups, dtype=object))
    if len(g) != yi.size:
        raise ValueError(f"groups has {len(g)} entries but there are {yi.size} studies.")
    if g.isna().any():
        i = int(np.flatnonzero(g.isna().to_numpy())[0])
        raise ValueError(f"groups is missing for study {labs[i]!r} (index {i}).")
    levels = list(pd.unique(g))
    fits = {}
    for lv in levels:
        idx = np.flatnonzero((g == lv).to_numpy())
        fits[lv] = random_effects(
            yi[idx], vi[idx], method=method, test=test, level=level,
            labels=[labs[i] for i in idx],
        )  # fmt: skip
    est = np.array([fits[lv].estimate for lv in levels])
    se = np.array([fits[lv].se for lv in levels])
    G = len(levels)
    if G >= 2:
        w = 1 / se**2
        mu = np.sum(w * est) / np.sum(w)
        qb = float(np.sum(w * (est - mu) ** 2))
        qb_p = float(stats.chi2.sf(qb, G - 1))
    else:
        qb, qb_p = np.nan, np.nan
    qm, qm_df, qm_p, reg = np.nan, (G - 1, None), np.nan, None
    if G >= 2 and yi.size > G:
        cat = pd.DataFrame({"group": pd.Categorical(g, categories=levels)})
        reg = metareg(yi, vi, cat, method=method, test=moderator_test or test, level=level)
        qm, qm_df, qm_p = reg.qm, reg.qm_df, reg.qm_pvalue
    return SubgroupResult(
        groups=levels, fits=fits, q_between=qb, q_between_df=G - 1, q_between_pvalue=qb_p,
        qm=float(qm), qm_df=qm_df, qm_pvalue=float(qm_p), method=method, test=test,
        metareg=reg, moderator_test=moderator_test or test,
    )  # fmt: skip

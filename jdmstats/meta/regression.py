"""Meta-regression (mixed-effects models) and its permutation test, as metafor.

:func:`metareg` reproduces ``metafor::rma.uni(yi, vi, mods = ...)`` and ``predict.rma``;
:func:`permutation_test` reproduces ``metafor::permutest.rma.uni`` but fits all permuted
models in one vectorised batch (:func:`jdmstats.meta._solver.fit_batch`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from jdmstats.meta._solver import fit_batch
from jdmstats.meta.fitstats import FitStatsMixin
from jdmstats.meta.model import (
    _check_inputs,
    _check_method_test,
    _crit,
    _knha_scale,
    _level,
    _pvalue,
)
from jdmstats.results import FittedMixin, ResultMixin, tables_text

_COMPTOL = np.finfo(float).eps ** 0.5  # metafor permutest comptol


# --------------------------------------------------------------------------- design matrix
@dataclass(frozen=True)
class _Encoding:
    """How moderators were turned into columns (re-used by ``predict``)."""

    columns: list  # (name, levels or None) per input column
    names: list  # design column names (without intercept)
    frame: bool  # input was a DataFrame
    formula: str | None = None  # the right-hand side, for a formula (mods = "~ ...")
    spec: object = None  # formulaic ModelSpec of that formula (re-used by predict)


def _is_categorical(s) -> bool:
    import pandas as pd

    return (
        isinstance(s.dtype, pd.CategoricalDtype)
        or s.dtype == object
        or pd.api.types.is_string_dtype(s.dtype)
        or pd.api.types.is_bool_dtype(s.dtype)
    )


def _encode(moderators, k: int):
    """Build the moderator columns (no intercept) and the encoding."""
    import pandas as pd

    frame = isinstance(moderators, (pd.DataFrame, pd.Series))
    if isinstance(moderators, pd.Series):
        moderators = moderators.to_frame(name=moderators.name or "x1")
    if not frame:
        arr = np.asarray(moderators)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise ValueError("moderators must be 1-d or 2-d (studies x moderators).")
        moderators = pd.DataFrame(arr, columns=[f"x{j + 1}" for j in range(arr.shape[1])])
        for c in moderators.columns:
            try:
                moderators[c] = pd.to_numeric(moderators[c])
            except (ValueError, TypeError):
                pass
    if len(moderators) != k:
        raise ValueError(f"moderators have {len(moderators)} rows but there are {k} studies.")
    cols, names, blocks = [], [], []
    for c in moderators.columns:
        s = moderators[c]
        if _is_categorical(s):
            if s.isna().any():
                i = int(np.flatnonzero(s.isna().to_numpy())[0])
                raise ValueError(f"Moderator {c!r} is missing for study index {i}.")
            if isinstance(s.dtype, pd.CategoricalDtype):
                levels = [lv for lv in s.cat.categories if (s == lv).any()]
            else:
                levels = sorted(s.unique().tolist(), key=str)
            cols.append((c, levels))
            for lv in levels[1:]:
                names.append(f"{c}[{lv}]")
                blocks.append((s.to_numpy() == lv).astype(float))
        else:
            x = s.to_numpy(dtype=float)
            bad = np.flatnonzero(~np.isfinite(x))
            if bad.size:
                raise ValueError(
                    f"Moderator {c!r} must be finite: study index {bad[0]} has {x[bad[0]]!r}."
                )
            cols.append((c, None))
            names.append(str(c))
            blocks.append(x)
    M = np.column_stack(blocks) if blocks else np.empty((k, 0))
    return M, _Encoding(columns=cols, names=names, frame=frame)


_METAFOR_INTERCEPT = "intrcpt"


def _formula_context():
    """formulaic evaluation context: R's ``factor()`` as formulaic's ``C()``."""
    from formulaic.transforms import C

    return {"factor": C}


def _r_name(column: str) -> str:
    """formulaic column name -> R/metafor name: ``g[T.b]`` -> ``gb``, ``C(g)[b]`` -> ``C(g)b``,
    ``a:g[T.b]`` -> ``a:gb``, ``Intercept`` -> ``intrcpt``."""
    import re

    if column == "Intercept":
        return _METAFOR_INTERCEPT
    return ":".join(re.sub(r"\[(?:T\.)?(.*)\]$", r"\1", part) for part in column.split(":"))


def _formula_frame(data):
    """``data`` as a DataFrame for formulaic; logical columns become factors with levels
    FALSE/TRUE, as R's model.matrix treats them (names ``xTRUE``)."""
    import pandas as pd

    if not isinstance(data, pd.DataFrame):
        raise TypeError(
            f"data must be a pandas DataFrame holding the formula's variables; got "
            f"{type(data).__name__}."
        )
    frame = data.copy()
    for c in frame.columns:
        if pd.api.types.is_bool_dtype(frame[c].dtype):
            frame[c] = pd.Categorical(np.where(frame[c], "TRUE", "FALSE"),
                                      categories=["FALSE", "TRUE"])  # fmt: skip
    return frame


def _formula_design(rhs: str, data, k: int):
    """Moderator matrix (without the intercept column), intercept flag and encoding of a
    right-hand side ``"~ a + factor(g)"`` evaluated in ``data`` by formulaic."""
    try:
        import formulaic
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ImportError("The formula interface of metareg needs formulaic>=1.0.") from exc

    rhs = rhs.strip()
    rhs = rhs[1:].strip() if rhs.startswith("~") else rhs
    if not rhs:
        raise ValueError("The moderator formula is empty; write e.g. mods='~ year + region'.")
    frame = _formula_frame(data)
    if len(frame) != k:
        raise ValueError(f"data has {len(frame)} rows but there are {k} studies.")
    try:
        mm = formulaic.model_matrix(rhs, frame, context=_formula_context(), na_action="raise")
    except Exception as exc:  # formulaic raises several types; name the formula and the cause
        raise ValueError(f"Cannot build the moderators of '~ {rhs}' from data: {exc}") from exc
    cols = list(mm.columns)
    intercept = "Intercept" in cols
    keep = [c for c in cols if c != "Intercept"]
    M = np.asarray(mm[keep], dtype=float) if keep else np.empty((k, 0))
    enc = _Encoding(columns=[], names=[_r_name(c) for c in keep], frame=True,
                    formula=rhs, spec=mm.model_spec)  # fmt: skip
    return M, intercept, enc


def _apply_formula(enc: _Encoding, newmods) -> np.ndarray:
    import pandas as pd

    if not isinstance(newmods, pd.DataFrame):
        raise TypeError(
            f"newmods of a formula fit ('~ {enc.formula}') must be a DataFrame with the "
            f"formula's variables; got {type(newmods).__name__}."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # formulaic warns (and uses NaN) for unseen levels
        try:
            mm = enc.spec.get_model_matrix(_formula_frame(newmods), context=_formula_context())
        except Exception as exc:
            raise ValueError(f"newmods do not fit the formula '~ {enc.formula}': {exc}") from exc
    keep = [c for c in mm.columns if c != "Intercept"]
    return np.asarray(mm[keep], dtype=float) if keep else np.empty((len(newmods), 0))


def _apply_encoding(enc: _Encoding, newmods) -> np.ndarray:
    import pandas as pd

    if enc.spec is not None:
        return _apply_formula(enc, newmods)

    if isinstance(newmods, pd.Series):
        newmods = newmods.to_frame()
    if not isinstance(newmods, pd.DataFrame):
        arr = np.asarray(newmods, dtype=object)
        if arr.ndim <= 1:
            n_in = len(enc.columns)
            arr = arr.reshape(-1, 1) if n_in == 1 else arr.reshape(-1, n_in)
        newmods = pd.DataFrame(arr, columns=[c for c, _ in enc.columns])
    blocks = []
    for c, levels in enc.columns:
        if c not in newmods.columns:
            raise ValueError(f"newmods lacks moderator {c!r}.")
        s = newmods[c]
        if levels is None:
            blocks.append(pd.to_numeric(s).to_numpy(dtype=float))
        else:
            unknown = set(s) - set(levels)
            if unknown:
                raise ValueError(f"Unknown level(s) {sorted(map(str, unknown))} for {c!r}.")
            for lv in levels[1:]:
                blocks.append((s.to_numpy() == lv).astype(float))
    return np.column_stack(blocks) if blocks else np.empty((len(newmods), 0))


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class MetaRegResult(FittedMixin, ResultMixin, FitStatsMixin):
    """Result of :func:`metareg` (fields mirror metafor's ``rma.uni`` with moderators).

    ``r2`` is the pseudo-R^2 in percent (as metafor): ``max(0, 100 (tau2_0 - tau2) / tau2_0)``
    with ``tau2_0`` from the intercept-only model fitted by the same estimator; NaN, with the
    reason in ``r2_note``, when tau^2 is numerically zero in both models.  ``i2`` (%) and
    ``h2`` describe the residual heterogeneity.  ``qm_df`` is ``(m, k - p)`` for knha.
    """

    coef: object  # pandas DataFrame
    tau2: float
    se_tau2: float
    qm: float
    qm_df: tuple
    qm_pvalue: float
    qe: float
    qe_df: int
    qe_pvalue: float
    r2: float
    i2: float
    h2: float
    k: int
    p: int
    X: np.ndarray
    yi: np.ndarray
    vi: np.ndarray
    test: str
    method: str
    level: float
    beta: np.ndarray
    vb: np.ndarray
    btt: np.ndarray
    df: int | None
    s2w: float
    converged: bool
    fallback: str | None
    labels: list
    intercept: bool
    encoding: _Encoding = field(repr=False)
    control: dict = field(default_factory=dict)
    r2_note: str | None = None
    weights: np.ndarray | None = field(default=None, repr=False)

    _title = "Mixed-effects meta-regression"

    def summary(self):
        """The coefficient table (DataFrame); the studies are in :meth:`studies`."""
        return self.coef

    def studies(self):
        """Per-study table: ``yi``, ``vi``, ``se``, Wald ``ci_low``/``ci_high`` (normal
        quantile), ``weight`` (percent: ``1 / (vi + tau2)``, or the user weights, as
        ``weights.rma.uni``), the ``fitted`` value ``X b`` and the ``residual`` ``yi - X b``.
        """
        from jdmstats.meta.model import _study_table

        w = self.weights if self.weights is not None else 1 / (self.vi + self.tau2)
        out = _study_table(self.yi, self.vi, self.labels, self.level, 100 * w / np.sum(w))
        out["fitted"] = self.X @ self.beta
        out["residual"] = self.yi - out["fitted"].to_numpy()
        return out

    def confint(self, level: float | None = None):
        """Q-profile confidence intervals for the residual tau^2, tau, I^2 (%) and H^2
        (metafor ``confint.rma.uni`` of a model with moderators: its ``random`` block; the
        coefficients' intervals are in ``coef``).

        I^2 and H^2 bounds use the typical within-study variance ``(k - p) / tr(P)``,
        ``P = W - W X (X'WX)^-1 X'W``, ``W = diag(1 / vi)`` (as metafor).  NaN for an
        equal-effects model.  ``attrs["tau2_ci_signs"]`` is metafor's ``lb.sign`` /
        ``ub.sign`` (``">"``: beyond the search limit ``max(100, 10 tau2)``, reported as it).
        Validated against metafor 3.8-1 (dat.bcg ``~ ablat``, ``~ ablat + year``; REML, ML,
        DL; tests/reference/metafor_api.json).

        Examples
        --------
        >>> import numpy as np
        >>> from jdmstats.meta.regression import metareg
        >>> x = np.array([1.0, 2, 3, 4, 5, 6, 7, 8])
        >>> yi = np.array([0.1, 0.5, 0.2, 0.8, 0.4, 0.9, 0.5, 1.2]); vi = np.full(8, 0.02)
        >>> list(metareg(yi, vi, x).confint().index)
        ['tau2', 'tau', 'I2', 'H2']
        """
        import pandas as pd

        from jdmstats.meta.model import qprofile_ci, qprofile_signs

        level = self.level if level is None else _level(level)
        nan = float("nan")
        if self.method == "EE" or self.k <= self.p:
            lo = hi = nan
            signs = ("", "")
            vt = nan
        else:
            lo, hi = qprofile_ci(self.yi, self.vi, self.X, level, self.tau2)
            signs = qprofile_signs(self.yi, self.vi, self.X, level, self.tau2)
            W = np.diag(1 / self.vi)
            P = W - W @ self.X @ np.linalg.solve(self.X.T @ W @ self.X, self.X.T @ W)
            vt = (self.k - self.p) / np.trace(P)
        tau2 = self.tau2 if self.method != "EE" else nan
        sq = lambda x: float(np.sqrt(x)) if np.isfinite(x) and x >= 0 else nan  # noqa: E731
        rows = {
            "tau2": (tau2, lo, hi),
            "tau": (sq(tau2), sq(lo), sq(hi)),
            "I2": tuple(100 * t / (vt + t) for t in (tau2, lo, hi)),
            "H2": tuple(t / vt + 1 for t in (tau2, lo, hi)),
        }
        out = pd.DataFrame.from_dict(rows, orient="index", columns=["estimate", "ci_low", "ci_high"])
        out.attrs["tau2_ci_signs"] = signs
        return out

    def predict(self, newmods=None, level: float | None = None):
        """Predicted (average) effects with CI and PI, as ``metafor::predict.rma``.

        Parameters
        ----------
        newmods : array_like or DataFrame, optional
            Moderator values (same columns as the fit, without the intercept). Default: the
            fitted values for the studies.
        level : float, optional
            Defaults to the level of the fit.

        Returns
        -------
        pandas.DataFrame
            Columns ``pred, se, ci_low, ci_high, pi_low, pi_high``.

        Examples
        --------
        >>> import numpy as np
        >>> from jdmstats.meta.regression import metareg
        >>> x = np.array([1.0, 2, 3, 4, 5, 6])
        >>> yi = np.array([0.1, 0.25, 0.2, 0.45, 0.5, 0.7]); vi = np.full(6, 0.01)
        >>> reg = metareg(yi, vi, x, method="DL")
        >>> reg.predict([2.5, 3.5]).shape
        (2, 6)
        """
        import pandas as pd

        level = self.level if level is None else _level(level)
        if newmods is None:
            Xn = self.X
        else:
            M = _apply_encoding(self.encoding, newmods)
            Xn = np.column_stack([np.ones(len(M)), M]) if self.intercept else M
        pred = Xn @ self.beta
        vpred = np.einsum("ij,jk,ik->i", Xn, self.vb, Xn)
        se = np.sqrt(np.where(vpred >= 0, vpred, np.nan))
        crit = _crit(self.test, self.k - self.p, level)
        half_pi = crit * np.sqrt(se**2 + self.tau2)
        return pd.DataFrame(
            {
                "pred": pred,
                "se": se,
                "ci_low": pred - crit * se,
                "ci_high": pred + crit * se,
                "pi_low": pred - half_pi,
                "pi_high": pred + half_pi,
            }
        )

    def __repr__(self) -> str:
        kind = "Fixed-effects" if self.method == "EE" else "Mixed-effects"
        lines = [f"{kind} meta-regression (k = {self.k}; tau^2 estimator: {self.method})", ""]
        if self.method != "EE":
            lines.append(
                f"tau^2 (residual) = {self.tau2:.4f} (SE = {self.se_tau2:.4f}); "
                f"I^2 = {self.i2:.2f}%; H^2 = {self.h2:.4f}; R^2 = {self.r2:.2f}%"
            )
        lines.append(f"QE(df = {self.qe_df}) = {self.qe:.4f}, p = {self.qe_pvalue:.4g}")
        if self.test == "z":
            lines.append(f"QM(df = {self.qm_df[0]}) = {self.qm:.4f}, p = {self.qm_pvalue:.4g}")
        else:
            lines.append(
                f"F(df1 = {self.qm_df[0]}, df2 = {self.qm_df[1]}) = {self.qm:.4f}, "
                f"p = {self.qm_pvalue:.4g}"
            )
        if self.r2_note:
            lines.append(self.r2_note)
        if self.method != "EE":
            ci = self.confint()
            lo, hi = ci.loc["tau2", "ci_low"], ci.loc["tau2", "ci_high"]
            lines.append(f"{round(100 * self.level)}% CI of tau^2 (Q-profile): [{lo:.4f}, {hi:.4f}]")
        lines += ["", tables_text([("Model", self.coef)])]
        return "\n".join(lines)


@dataclass(frozen=True)
class PermutationResult(ResultMixin):
    """Result of :func:`permutation_test` (as ``metafor::permutest``)."""

    pvalue: object  # pandas Series: permutation p-value per coefficient
    qm: float
    qm_pvalue: float
    statistic: np.ndarray  # observed z/t per coefficient
    n_iter: int
    exact: bool
    seed: int | None
    statistic_perm: np.ndarray  # (n_iter, p), first row = observed (approximate test)
    qm_perm: np.ndarray

    _title = "Permutation test"

    def summary(self):
        """DataFrame: observed statistic and permutation p-value per coefficient."""
        import pandas as pd

        return pd.DataFrame(
            {"statistic": self.statistic, "pvalue_perm": np.asarray(self.pvalue)},
            index=self.pvalue.index,
        )

    def __repr__(self) -> str:
        kind = "exact" if self.exact else f"approximate ({self.n_iter} iterations)"
        return (
            f"Permutation test, {kind}\nQM = {self.qm:.4f}, permutation p = "
            f"{self.qm_pvalue:.4g}\n\n" + self.summary().to_string()
        )


# --------------------------------------------------------------------------- fitting
def _tests(fit, b, X, test, level, btt):
    """Coefficient tests and the omnibus QM test for row ``b`` of a BatchFit."""
    from scipy import stats

    k, p = X.shape
    s2w = _knha_scale(float(fit.rss[b]), k, p, test)
    vb = fit.vb[b] * s2w
    beta = fit.beta[b]
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
    pval = _pvalue(stat, test, k - p)
    crit = _crit(test, k - p, level)
    m = len(btt)
    try:
        sub = vb[np.ix_(btt, btt)]
        qm = float(beta[btt] @ np.linalg.solve(sub, beta[btt]))
    except np.linalg.LinAlgError:
        qm = np.nan
    if test == "z":
        qm_df = (m, None)
        qm_p = float(stats.chi2.sf(qm, m))
    else:
        qm /= m
        qm_df = (m, k - p)
        qm_p = float(stats.f.sf(qm, m, k - p)) if k - p > 0 else np.nan
    return beta, vb, se, stat, pval, crit, qm, qm_df, qm_p, s2w


def _column(data, name, what):
    """``data[name]`` with an error naming the missing column and the columns there are."""
    if data is None:
        raise ValueError(f"{what} is given as the column name {name!r} but no data= was passed.")
    if name not in data.columns:
        raise ValueError(
            f"{what} column {name!r} is not in data; columns: {', '.join(map(str, data.columns))}."
        )
    return data[name].to_numpy()


def _resolve_formula(yi, vi, moderators, mods, data, weights, labels):
    """Read the formula / column-name forms of :func:`metareg` into arrays and a right-hand
    side (None without a formula)."""
    formula = None
    if isinstance(yi, str) and "~" in yi:
        lhs, formula = (part.strip() for part in yi.split("~", 1))
        if not lhs:
            raise ValueError(f"The formula {yi!r} has no response: write e.g. 'yi ~ year'.")
        if moderators is not None or mods is not None:
            raise ValueError("Give the moderators once: in the formula or in mods=, not both.")
        yi = _column(data, lhs, "The response")
    elif mods is not None:
        if moderators is not None:
            raise ValueError("Give the moderators once: moderators= or mods=, not both.")
        moderators = mods
    if isinstance(moderators, str):
        formula, moderators = moderators, None
    if formula is not None and data is None:
        raise ValueError(f"The moderator formula '~ {formula.lstrip('~ ')}' needs data=.")
    if isinstance(yi, str):
        yi = _column(data, yi, "yi")
    if vi is None:
        raise ValueError("vi (the sampling variances, or their column name with data=) is missing.")
    if isinstance(vi, str):
        vi = _column(data, vi, "vi")
    if isinstance(weights, str):
        weights = _column(data, weights, "weights")
    if isinstance(labels, str):
        labels = _column(data, labels, "labels")
    if formula is None and moderators is None:
        raise ValueError("No moderators: pass moderators=, mods='~ ...' or a formula 'yi ~ ...'.")
    return yi, vi, moderators, formula, weights, labels


def metareg(
    yi,
    vi=None,
    moderators=None,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    intercept: bool = True,
    labels=None,
    control: dict | None = None,
    weights=None,
    *,
    mods=None,
    data=None,
) -> MetaRegResult:
    """Mixed-effects meta-regression, as ``metafor::rma.uni(yi, vi, mods = ...)``.

    Parameters
    ----------
    yi : array_like or str
        Effect sizes; or a formula ``"yi ~ year + region"`` whose response and moderators are
        columns of ``data``; or, with ``data``, the name of the effect-size column.
    vi : array_like or str
        Sampling variances (or, with ``data``, their column name).
    moderators : array_like (k,) or (k, q), pandas DataFrame/Series, or str
        Moderators.  Non-numeric columns (object, string, category, bool) are dummy-coded
        with the first level (category order, else sorted) as reference, columns named
        ``"col[level]"``.  A string is a right-hand-side formula (as ``mods``).
    mods : str or array_like, optional
        metafor's ``mods``: a formula ``"~ ablat + factor(alloc)"`` evaluated in ``data``
        (formulaic), or moderators as for ``moderators``.
    data : pandas DataFrame, optional
        The variables of a formula, and the columns named by ``yi``, ``vi``, ``weights``
        or ``labels`` when those are strings.
    method : {"REML", "EE", "FE", "DL", "ML", "PM", "HE", "SJ", "EB", "HS", "HSk", "GENQ", "GENQM", "PMM", \
"DLIT", "SJIT"}
        Estimator of the residual tau^2 (metafor names; GENQ and GENQM need ``weights``).
    test : {"z", "t", "knha", "adhoc"}
        z/chi^2 tests; t/F tests on ``k - p`` df without (``"t"``) or with the Hartung-Knapp
        variance adjustment (metafor ``test="t"``, ``"knha"``).
    level : float
        Confidence level.
    intercept : bool
        Add an intercept column (``"intrcpt"``).
    labels : sequence, optional
        Study labels for messages.
    control : dict, optional
        Solver options (see :func:`jdmstats.meta._solver.fit_batch`).
    weights : array_like, optional
        User weights (metafor's ``weights``): coefficients by weighted least squares with
        these weights and the sandwich covariance ``(X'AX)^-1 X'A (V + tau2) A X (X'AX)^-1``;
        also the weights of the GENQ estimator.  Hartung-Knapp keeps metafor's
        inverse-variance scale factor.  Not supported by :func:`permutation_test`.

    Returns
    -------
    MetaRegResult

    Notes
    -----
    Formulas behave as metafor's ``mods = ~``: numeric variables enter as they are, character,
    categorical and logical variables (and ``factor(x)``, formulaic's ``C(x)``) by treatment
    contrasts with the first (sorted or category-order) level as reference; ``a * b``,
    ``a:b``, ``I(year - 1970)``, ``poly(x, 2)`` are formulaic's (R's) syntax; ``- 1`` or
    ``0 +`` drops the intercept, and then a factor gets one column per level and QM tests
    all coefficients.  Coefficient names are R's: ``intrcpt``, ``ablat``, ``allocrandom``,
    ``factor(alloc)random``, ``ablat:year``.  A missing value in a formula variable is an
    error (nothing is dropped).  ``predict(newmods=DataFrame)`` evaluates the same formula
    (unseen levels are an error).  Validated against metafor 3.8-1 on dat.bcg
    (``~ ablat + factor(alloc)``, ``~ ablat * year``, ``~ 0 + factor(alloc)``, ...;
    tests/reference/metafor_formula.json).

    Model and tests as metafor (Viechtbauer 2010, JSS 36(3); Thompson & Higgins 2002):
    QM is the Wald test of all coefficients except the intercept (chi^2 on m df, or
    F(m, k - p) = QM / m with the Hartung-Knapp covariance for knha); QE is the test of
    residual heterogeneity; the pseudo-R^2 (Raudenbush 2009) is
    ``max(0, 100 (tau2_0 - tau2) / tau2_0)`` **in percent** (0 when ``tau2_0 = 0``), and for
    EE models the adjusted R^2 of the weighted regression (as metafor).  Validated against
    metafor 3.8-1 (``rma``, ``predict``) to 1e-6 relative (tests/reference/metafor_core.json).

    Examples
    --------
    >>> import numpy as np
    >>> from jdmstats.meta.regression import metareg
    >>> x = np.array([1.0, 2, 3, 4, 5, 6])
    >>> yi = np.array([0.1, 0.25, 0.2, 0.45, 0.5, 0.7]); vi = np.full(6, 0.01)
    >>> reg = metareg(yi, vi, x, method="REML")
    >>> list(reg.coef.index)
    ['intrcpt', 'x1']
    >>> round(float(reg.coef.loc["x1", "estimate"]), 4)
    0.1143
    """
    import pandas as pd
    from scipy import stats

    yi, vi, moderators, formula, weights, labels = _resolve_formula(
        yi, vi, moderators, mods, data, weights, labels)
    method = _check_method_test(method, test)
    level = _level(level)
    yi, vi, labs = _check_inputs(yi, vi, labels)
    k = yi.size
    if formula is not None:
        if not intercept:
            raise ValueError("With a formula, drop the intercept in it ('~ 0 + x' or '~ x - 1'), "
                             "not with intercept=False.")  # fmt: skip
        M, intercept, enc = _formula_design(formula, data, k)
    else:
        M, enc = _encode(moderators, k)
    X = np.column_stack([np.ones(k), M]) if intercept else M
    names = (["intrcpt"] if intercept else []) + enc.names
    p = X.shape[1]
    if p == 0:
        raise ValueError("The model has no columns (no moderators and intercept=False).")
    need = p if method == "EE" else p + 1
    if k < need:
        raise ValueError(
            f"Too few studies: k = {k} but {need} are needed for {p} coefficient(s)"
            + (" and tau^2." if method != "EE" else ".")
        )
    if np.linalg.matrix_rank(X) < p:
        raise ValueError(f"Moderator matrix is not of full rank (columns: {names}).")
    if weights is not None:
        weights = np.asarray(weights, dtype=float).ravel()
        if weights.shape != yi.shape or not np.all(np.isfinite(weights) & (weights > 0)):
            raise ValueError(
                f"weights must be {k} finite positive values (one per study); got {weights!r}."
            )
    fit = fit_batch(yi, vi, X=X, method=method, control=control, weights=weights)
    if weights is not None:  # metafor: weighted estimates with the sandwich covariance
        import dataclasses

        B = np.linalg.inv(X.T @ (weights[:, None] * X))
        beta_w = B @ (X.T @ (weights * yi))
        meat = X.T @ ((weights**2 * (vi + fit.tau2[0]))[:, None] * X)
        fit = dataclasses.replace(fit, beta=beta_w[None, :], vb=(B @ meat @ B)[None])
    int_only = intercept and p == 1
    btt = np.arange(1 if (intercept and not int_only) else 0, p)
    if method == "EE" and test != "z":
        warnings.warn(
            "The Knapp & Hartung method is not meant to be used with an EE model.",
            UserWarning,
            stacklevel=2,
        )
    beta, vb, se, stat, pval, crit, qm, qm_df, qm_p, s2w = _tests(fit, 0, X, test, level, btt)
    coef = pd.DataFrame(
        {
            "estimate": beta,
            "se": se,
            "statistic": stat,
            "pvalue": pval,
            "ci_low": beta - crit * se,
            "ci_high": beta + crit * se,
        },
        index=names,
    )
    tau2 = float(fit.tau2[0])
    qe = float(fit.qe[0])
    vt = float(fit.vt[0])
    if k > p:
        qe_p = float(stats.chi2.sf(qe, k - p))
        if method == "EE":
            i2 = max(0.0, 100 * (qe - (k - p)) / qe) if qe > 0 else 0.0
            h2 = qe / (k - p)
        else:
            i2 = 100 * tau2 / (vt + tau2)
            h2 = tau2 / vt + 1
    else:
        qe, qe_p, i2, h2 = 0.0, 1.0, 0.0, 1.0
    r2, r2_note = np.nan, None
    if intercept and not int_only:
        if method == "EE":
            r2 = _adj_r2_weighted(yi, X, 1 / vi)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tau2_0 = float(fit_batch(yi, vi, method=method, control=control,
                                         weights=weights).tau2[0])  # fmt: skip
            r2 = 0.0 if tau2_0 == 0 else max(0.0, 100 * (tau2_0 - tau2) / tau2_0)
            r2, r2_note = _r2_undefined(r2, tau2_0, tau2, yi, vi)
    return MetaRegResult(
        coef=coef, tau2=tau2, se_tau2=float(fit.se_tau2[0]), qm=float(qm), qm_df=qm_df,
        qm_pvalue=qm_p, qe=qe, qe_df=k - p, qe_pvalue=qe_p, r2=float(r2), i2=float(i2),
        h2=float(h2), k=k, p=p, X=X, yi=yi, vi=vi, test=test, method=method, level=level,
        beta=beta, vb=vb, btt=btt, df=(k - p) if test != "z" else None, s2w=float(s2w),
        converged=bool(fit.converged[0]), fallback="DL" if fit.fallback[0] else None,
        labels=labs, intercept=intercept, encoding=enc, control=dict(control or {}),
        r2_note=r2_note, weights=weights,
    )  # fmt: skip


#: tau^2 below this share of the typical within-study variance (I^2 < 1e-6 %) is "numerically 0"
R2_ZERO_TOL = 1e-8


def _r2_undefined(r2, tau2_0, tau2, yi, vi):
    """NaN and a reason when tau^2 is numerically zero in both models (R^2 = 0/0: noise).

    No warning is emitted (egger_test, subgroup_analysis and anova refit meta-regressions
    where this is common and harmless); the reason is kept in ``MetaRegResult.r2_note`` and
    shown by its repr.

    "Numerically zero" is ``tau2 <= 1e-8 * vt`` with the typical within-study variance ``vt``
    of the intercept-only model (an I^2 below 1e-6 %).  Example: dat.lau1992 ~ year (ML),
    where metafor reports R^2 = 78.8 % with its default control and 36.5 % with
    ``threshold = 1e-13``, from tau^2 values of 1e-7 to 1e-14.
    """
    w = 1 / vi
    vt = (yi.size - 1) / (w.sum() - (w**2).sum() / w.sum())
    tol = R2_ZERO_TOL * vt
    if tau2_0 <= tol and tau2 <= tol:
        note = (
            f"R^2 undefined: tau^2 is numerically zero both without moderators "
            f"({tau2_0:.3g}) and with them ({tau2:.3g}; tolerance {tol:.3g} = 1e-8 x the typical "
            "within-study variance), so (tau2_0 - tau2) / tau2_0 is rounding noise."
        )
        return np.nan, note
    return r2, None


def _adj_r2_weighted(y, X, w):
    """Adjusted R^2 (percent, floored at 0) of a weighted least-squares fit (metafor EE)."""
    if np.var(y) == 0:
        return 0.0
    k, p = X.shape
    sw = np.sqrt(w)
    beta = np.linalg.lstsq(X * sw[:, None], y * sw, rcond=None)[0]
    rss = np.sum(w * (y - X @ beta) ** 2)
    ybar = np.sum(w * y) / np.sum(w)
    tss = np.sum(w * (y - ybar) ** 2)
    r2 = 1 - rss / tss
    adj = 1 - (1 - r2) * (k - 1) / (k - p)
    return max(0.0, 100 * adj)


# --------------------------------------------------------------------------- permutations
def _multiset_permutations(labels: np.ndarray):
    """All distinct orderings of ``labels`` (lexicographic 'next permutation')."""
    a = sorted(labels.tolist())
    n = len(a)
    out = [list(a)]
    while True:
        i = n - 2
        while i >= 0 and a[i] >= a[i + 1]:
            i -= 1
        if i < 0:
            return np.array(out)
        j = n - 1
        while a[j] <= a[i]:
            j -= 1
        a[i], a[j] = a[j], a[i]
        a[i + 1 :] = reversed(a[i + 1 :])
        out.append(list(a))


def permutation_test(
    reg: MetaRegResult, n_iter: int = 1000, seed: int | None = 0, exact: bool | None = None,
    batch_size: int = 2000,
) -> PermutationResult:  # fmt: skip
    """Permutation test of a meta-regression, as ``metafor::permutest.rma.uni``.

    The rows of the moderator matrix are permuted (for an intercept-only model the signs of
    ``yi`` are flipped) and the model is refitted; all refits run as one vectorised batch.

    Parameters
    ----------
    reg : MetaRegResult
        Fitted meta-regression.
    n_iter : int
        Number of permutations, the observed one included (as metafor).
    seed : int or None
        Seed of ``numpy.random.default_rng``.
    exact : bool, optional
        Enumerate all distinct permutations.  Default: exact when their number does not exceed
        ``n_iter`` (as metafor).
    batch_size : int
        Permutations fitted per batch (memory ~ ``batch_size * k``).

    Returns
    -------
    PermutationResult
        ``pvalue`` per coefficient: share of permutations with ``|z| >= |z_obs|`` (tolerance
        ``sqrt(eps)``); ``qm_pvalue``: share with ``QM >= QM_obs``.

    Notes
    -----
    Follows Higgins & Thompson (2004) and metafor's ``permutest`` (two-sided, ``p2defn="abs"``);
    for the approximate test the observed statistic is counted as the first permutation.
    Permuting the rows of ``X`` is the same as permuting ``(yi, vi)`` jointly with ``X`` fixed,
    which lets :func:`~jdmstats.meta._solver.fit_batch` share one design matrix.  Permutations
    whose estimator fails to converge are dropped (metafor skips refits that error).  The
    random permutations differ from R's, so p-values agree with metafor within Monte Carlo
    error; exact tests agree exactly.

    Examples
    --------
    >>> import numpy as np
    >>> from jdmstats.meta.regression import metareg, permutation_test
    >>> x = np.array([1.0, 2, 3, 4, 5, 6])
    >>> yi = np.array([0.1, 0.25, 0.2, 0.45, 0.5, 0.7]); vi = np.full(6, 0.01)
    >>> res = permutation_test(metareg(yi, vi, x, method="DL"), n_iter=1000)
    >>> res.exact, res.n_iter   # 6! = 720 <= 1000 permutations: exact, as metafor
    (True, 720)
    """
    import pandas as pd

    if getattr(reg, "weights", None) is not None:
        raise ValueError("permutation_test does not support meta-regressions with user weights.")
    k, p = reg.X.shape
    X = reg.X
    int_only = reg.intercept and p == 1
    rng = np.random.default_rng(seed)
    if int_only:
        n_exact = 2.0**k
    else:
        _, groups = np.unique(X, axis=0, return_inverse=True)
        groups = groups.ravel()
        counts = np.bincount(groups)
        n_exact = math.factorial(k) / np.prod([math.factorial(int(c)) for c in counts])
    if exact is None:
        exact = n_exact <= n_iter
    if exact and n_exact > 5e6:
        raise ValueError(f"Too many permutations ({n_exact:.3g}) for an exact test.")

    # build the permuted (yi, vi) rows; X stays fixed
    if int_only:
        if exact:
            signs = 1 - 2 * ((np.arange(int(n_exact))[:, None] >> np.arange(k)) & 1)
        else:
            signs = rng.choice([-1.0, 1.0], size=(n_iter, k))
            signs[0] = 1.0
        Y, V = signs * reg.yi, np.broadcast_to(reg.vi, signs.shape)
    else:
        if exact:
            # distinct assignments of design rows (by group) to studies
            order = np.argsort(groups, kind="stable")
            assign = _multiset_permutations(groups[order])  # (n, k): group of the row at i
            # study i receives a design row from group assign[:, i]; equivalent to placing the
            # data (y, v) of the study holding that row: map each permutation to an index
            idx = np.empty_like(assign)
            for g in range(counts.size):
                members = np.flatnonzero(groups == g)
                pos = assign == g
                idx[pos] = np.tile(members, assign.shape[0])
            perm = np.argsort(idx, axis=1)  # design row j <- data of study perm[j]
        else:
            perm = np.argsort(rng.random((n_iter, k)), axis=1)
            perm[0] = np.arange(k)
        # design row X[j] is combined with study perm[j]'s data
        Y, V = reg.yi[perm], reg.vi[perm]
    n = Y.shape[0]
    stat = np.empty((n, p))
    qm = np.empty(n)
    keep = np.ones(n, bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for s in range(0, n, batch_size):
            sl = slice(s, min(n, s + batch_size))
            fit = fit_batch(Y[sl], V[sl], X=X, method=reg.method, control=reg.control or None)
            s2w = np.ones(fit.rss.shape)
            if reg.test in ("knha", "adhoc"):  # test="t": no variance adjustment
                s2w = np.where(fit.rss <= np.finfo(float).eps, 0.0, fit.rss / (k - p))
                if reg.test == "adhoc":
                    s2w = np.maximum(s2w, 1.0)
            vb = fit.vb * s2w[:, None, None]
            se = np.sqrt(np.einsum("bii->bi", vb))
            stat[sl] = fit.beta / se
            bt = reg.btt
            sub = vb[:, bt[:, None], bt[None, :]]
            bb = fit.beta[:, bt]
            q = np.einsum("bi,bi->b", bb, np.linalg.solve(sub, bb[..., None])[..., 0])
            qm[sl] = q / len(bt) if reg.test != "z" else q
            keep[sl] = ~fit.fallback
    stat_obs = reg.coef["statistic"].to_numpy()
    if not exact:
        stat[0] = stat_obs
        qm[0] = reg.qm
    st, qq = stat[keep], qm[keep]
    pv = np.mean(np.abs(st) >= np.abs(stat_obs) - _COMPTOL, axis=0)
    qmp = float(np.mean(qq >= reg.qm - _COMPTOL))
    return PermutationResult(
        pvalue=pd.Series(np.minimum(pv, 1.0), index=reg.coef.index, name="pvalue_perm"),
        qm=reg.qm, qm_pvalue=qmp, statistic=stat_obs, n_iter=int(n), exact=bool(exact),
        seed=seed, statistic_perm=stat, qm_perm=qm,
    )  # fmt: skip

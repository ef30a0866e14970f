"""Estimate a sample mean and SD from a median with IQR and/or range.

Three reporting scenarios (Wan et al. 2014):

* **S1** median, minimum, maximum, n
* **S2** median, first and third quartiles, n
* **S3** all five numbers and n

Default ("luo/wan/shi", the recommended combination and metafor's ``conv.fivenum`` default):
means by Luo et al. (2018), SDs by Wan et al. (2014) for S1 and S2 and by Shi et al. (2020) for
S3.  Every study carries a record of the scenario and formulas used.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from jdmstats.results import ResultMixin

__all__ = ["ConversionResult", "median_to_mean", "METHODS"]

#: Accepted values of ``method``.
METHODS = ("luo/wan/shi", "wan")


@dataclass(frozen=True)
class ConversionResult(ResultMixin):
    """Estimated means and SDs with a per-study record of how they were obtained.

    Attributes
    ----------
    mean, sd : ndarray
        Estimated sample means and SDs (NaN where no estimate was possible or it was
        withheld, see ``note``).
    scenario : ndarray of str
        ``"S1"`` (min/median/max), ``"S2"`` (q1/median/q3), ``"S3"`` (all five) or ``""``.
    mean_method, sd_method : ndarray of str
        Formula used per study, e.g. ``"Luo 2018 eq. 15"``, ``"Shi 2020 eq. 10"``.
    skew_stat, skew_crit, skewed : ndarray
        Test of skewness (Shi et al.; metafor's ``tval``/``crit``/``sig``): a study whose
        statistic reaches the critical value looks skewed and the normal-based formulas are
        doubtful.
    note : ndarray of str
        Why an estimate is missing (``"n < 5"``, ``"insufficient summary"``, ``"skewed"``).
    n : ndarray
        Sample sizes.
    method : str
        The method combination requested.
    labels : tuple
    """

    mean: np.ndarray
    sd: np.ndarray
    scenario: np.ndarray
    mean_method: np.ndarray
    sd_method: np.ndarray
    skew_stat: np.ndarray
    skew_crit: np.ndarray
    skewed: np.ndarray
    note: np.ndarray
    n: np.ndarray
    method: str
    labels: tuple
    _title: str = field(default="Median -> mean/SD conversion", repr=False)

    def summary(self):
        """One row per study: mean, sd, scenario, formulas, skewness test, note."""
        import pandas as pd

        return pd.DataFrame(
            {
                "n": self.n,
                "mean": self.mean,
                "sd": self.sd,
                "scenario": self.scenario,
                "mean_method": self.mean_method,
                "sd_method": self.sd_method,
                "skew_stat": self.skew_stat,
                "skew_crit": self.skew_crit,
                "skewed": self.skewed,
                "note": self.note,
            },
            index=pd.Index(list(self.labels), name="study"),
        )

    def __repr__(self) -> str:
        body = self.summary().to_string(float_format=lambda x: f"{x:.4f}")
        return (
            f"Median -> mean/SD conversion (method={self.method}, k={len(self.labels)})\n\n{body}"
        )


def _arr(name, x, k):
    if x is None:
        return np.full(k, np.nan)
    a = np.atleast_1d(np.asarray(x, dtype=float))
    if a.shape == (1,) and k > 1:
        a = np.full(k, a[0])
    if a.shape != (k,):
        raise ValueError(f"'{name}' has length {a.shape[0]} but 'median' has length {k}")
    return a


def median_to_mean(
    median,
    n,
    *,
    q1=None,
    q3=None,
    minimum=None,
    maximum=None,
    method: str = "luo/wan/shi",
    exclude_skewed: bool = False,
    labels=None,
) -> ConversionResult:
    """Estimate means and SDs from medians with IQR and/or range (vectorised).

    Parameters
    ----------
    median, n : array_like
        Sample medians and sizes (one per study).
    q1, q3 : array_like, optional
        First and third quartiles (NaN where not reported).
    minimum, maximum : array_like, optional
        Sample minimum and maximum (NaN where not reported).
    method : {"luo/wan/shi", "wan"}
        ``"luo/wan/shi"`` (default, recommended): mean by Luo et al. (2018) eq. 7 (S1), 11 (S2),
        15 (S3); SD by Wan et al. (2014) eq. 9 (S1), 16 (S2) and Shi et al. (2020) eq. 10 (S3).
        ``"wan"``: Wan et al. (2014) for both, i.e. mean ``(min + 2 m + max)/4`` (S1),
        ``(q1 + m + q3)/3`` (S2), ``(min + 2 q1 + 2 m + 2 q3 + max)/8`` (S3) and SD eq. 9, 16
        and the average of both (S3).
    exclude_skewed : bool
        If True, withhold (NaN) the estimates of studies whose skewness test is significant, as
        metafor's ``conv.fivenum(test=TRUE)`` does.  Default False: convert every study and
        report the test in ``skewed``.
    labels : sequence, optional
        Study labels.

    Returns
    -------
    ConversionResult
        ``mean``, ``sd`` and the per-study record (scenario, formulas, skewness test, note).

    Raises
    ------
    ValueError
        Length mismatch, or the order ``min <= q1 <= median <= q3 <= max`` violated (the
        message names the study), or an unknown ``method``.

    Warns
    -----
    UserWarning
        When studies with n < 5 or an incomplete summary are left unconverted (as metafor,
        which skips n < 5).

    Notes
    -----
    Wan X, Wang W, Liu J, Tong T (2014) BMC Med Res Methodol 14:135, eq. 9 and 16 with
    ``xi(n) = 2 Phi^{-1}((n - 0.375)/(n + 0.25))`` and
    ``eta(n) = 2 Phi^{-1}((0.75 n - 0.125)/(n + 0.25))``;
    Luo D, Wan X, Liu J, Tong T (2018) Stat Methods Med Res 27:1785-1805, eq. 7, 11, 15;
    Shi J, Luo D, Weng H, et al. (2020) Res Synth Methods 11:641-654, eq. 10.
    The skewness statistics and critical values are those of metafor's ``conv.fivenum``
    (Shi et al., "detecting skewness from summary information").
    Studies with n < 5 are not converted, as in metafor.  Normal-distribution versions only.

    Validation: the metafor version installed with the reference environment (3.8-1) predates
    ``conv.fivenum``; the reference script computes the values with an R transcription of the
    published equations, or with ``conv.fivenum(test=FALSE)`` when metafor >= 4.0 is found
    (relative tolerance 1e-10).

    Examples
    --------
    >>> from jdmstats.meta.convert import median_to_mean
    >>> res = median_to_mean([10.0, 12.0], [40, 25], q1=[7.0, None], q3=[14.0, None],
    ...                      minimum=[None, 5.0], maximum=[None, 30.0])
    >>> list(res.scenario)
    ['S2', 'S1']
    >>> res.mean.round(3)
    array([10.355, 13.449])
    """
    from scipy.special import ndtri

    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; accepted: {', '.join(METHODS)}")
    med = np.atleast_1d(np.asarray(median, dtype=float))
    if med.ndim != 1 or med.shape[0] == 0:
        raise ValueError("'median' must be a non-empty one-dimensional array")
    k = med.shape[0]
    nn = _arr("n", n, k)
    a = _arr("q1", _none_to_nan(q1), k)
    b = _arr("q3", _none_to_nan(q3), k)
    lo = _arr("minimum", _none_to_nan(minimum), k)
    hi = _arr("maximum", _none_to_nan(maximum), k)
    if labels is None:
        labels = tuple(str(i + 1) for i in range(k))
    labels = tuple(str(x) for x in labels)
    if len(labels) != k:
        raise ValueError(f"labels has length {len(labels)} but there are {k} studies")

    # order check (ignoring missing values)
    stacked = np.vstack([lo, a, med, b, hi])
    for j in range(4):  # loop over the 4 adjacent pairs, not over studies
        for jj in range(j + 1, 5):
            bad = stacked[j] > stacked[jj]
            if np.any(bad):
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(
                    f"study {i} (label {labels[i]!r}): 'min <= q1 <= median <= q3 <= max' does "
                    f"not hold (min={lo[i]:g}, q1={a[i]:g}, median={med[i]:g}, q3={b[i]:g}, "
                    f"max={hi[i]:g})"
                )
    bad_n = ~np.isfinite(nn) | (nn <= 0)
    if np.any(bad_n):
        i = int(np.flatnonzero(bad_n)[0])
        raise ValueError(
            f"study {i} (label {labels[i]!r}): n must be a positive number, got {nn[i]!r}"
        )

    has_r = np.isfinite(lo) & np.isfinite(hi)
    has_q = np.isfinite(a) & np.isfinite(b)
    has_m = np.isfinite(med)
    s3 = has_r & has_q & has_m
    s1 = has_r & ~has_q & has_m
    s2 = has_q & ~has_r & has_m
    small = nn < 5
    s1 &= ~small
    s2 &= ~small
    s3 &= ~small

    with np.errstate(invalid="ignore", divide="ignore"):
        xi = 2 * ndtri((nn - 0.375) / (nn + 0.25))
        eta = 2 * ndtri((0.75 * nn - 0.125) / (nn + 0.25))
        # skewness tests (metafor conv.fivenum)
        t1 = np.abs((lo + hi - 2 * med) / (hi - lo))
        c1 = 1 / np.log(nn + 9) + 2.5 / (nn + 1)
        t2 = np.abs((a + b - 2 * med) / (b - a))
        c2 = 2.65 / np.sqrt(nn) - 6 / nn**2
        t3 = np.maximum(2.65 * np.log(0.6 * nn) / np.sqrt(nn) * t1, t2)
        c3 = 3 / np.sqrt(nn) - 40 / nn**3

        if method == "luo/wan/shi":
            w1 = 4 / (4 + nn**0.75)
            mean1 = w1 * (lo + hi) / 2 + (1 - w1) * med
            w2 = 0.7 + 0.39 / nn
            mean2 = w2 * (a + b) / 2 + (1 - w2) * med
            w31 = 2.2 / (2.2 + nn**0.75)
            w32 = 0.7 - 0.72 / nn**0.55
            mean3 = w31 * (lo + hi) / 2 + w32 * (a + b) / 2 + (1 - w31 - w32) * med
            w = 1 / (1 + 0.07 * nn**0.6)
            sd3 = w * (hi - lo) / xi + (1 - w) * (b - a) / eta
            mnames = ("Luo 2018 eq. 7", "Luo 2018 eq. 11", "Luo 2018 eq. 15")
            snames = ("Wan 2014 eq. 9", "Wan 2014 eq. 16", "Shi 2020 eq. 10")
        else:
            mean1 = (lo + 2 * med + hi) / 4
            mean2 = (a + med + b) / 3
            mean3 = (lo + 2 * a + 2 * med + 2 * b + hi) / 8
            sd3 = 0.5 * ((hi - lo) / xi + (b - a) / eta)
            mnames = ("Wan 2014 (S1 mean)", "Wan 2014 (S2 mean)", "Wan 2014 (S3 mean)")
            snames = ("Wan 2014 eq. 9", "Wan 2014 eq. 16", "Wan 2014 (S3 average)")
        sd1 = (hi - lo) / xi
        sd2 = (b - a) / eta

    mean = np.select([s1, s2, s3], [mean1, mean2, mean3], np.nan)
    sd = np.select([s1, s2, s3], [sd1, sd2, sd3], np.nan)
    tval = np.select([s1, s2, s3], [t1, t2, t3], np.nan)
    crit = np.select([s1, s2, s3], [c1, c2, c3], np.nan)
    skewed = np.isfinite(tval) & (tval >= crit)
    scenario = np.select([s1, s2, s3], ["S1", "S2", "S3"], "").astype(object)
    mean_method = np.select([s1, s2, s3], list(mnames), "").astype(object)
    sd_method = np.select([s1, s2, s3], list(snames), "").astype(object)
    note = np.full(k, "", dtype=object)
    none = ~(s1 | s2 | s3)
    note[none & ~small] = "insufficient summary"
    note[none & small] = "n < 5"
    if exclude_skewed and np.any(skewed):
        mean = np.where(skewed, np.nan, mean)
        sd = np.where(skewed, np.nan, sd)
        note[skewed] = "skewed"
    if np.any(none):
        warnings.warn(
            "median_to_mean: no estimate for studies "
            + ", ".join(f"{labels[i]} ({note[i]})" for i in np.flatnonzero(none)),
            UserWarning,
            stacklevel=2,
        )
    return ConversionResult(
        mean=mean,
        sd=sd,
        scenario=scenario,
        mean_method=mean_method,
        sd_method=sd_method,
        skew_stat=tval,
        skew_crit=crit,
        skewed=skewed,
        note=note,
        n=nn,
        method=method,
        labels=labels,
    )


def _none_to_nan(x):
    if x is None:
        return None
    if np.isscalar(x):
        return np.nan if x is None else x
    return [np.nan if v is None else v for v in x]

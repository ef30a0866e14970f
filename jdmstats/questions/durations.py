"""Durations reported by cohorts (diagnostic delay), as means with the conversion behind each.

Shared by question 1 (delay as a moderator of prevalence) and question 2 (delay and
calcinosis), so that neither imports the other for it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

__all__ = ["convert_measure", "delay_means"]


def convert_measure(prefix: str, df: pd.DataFrame, n) -> pd.DataFrame:
    """Mean and SD of a delay measure (``delay``, ``delay_calc``, ``delay_nocalc``).

    Returns columns ``mean``, ``sd``, ``conversion`` (what was done) and ``usable_mean``
    (a mean reported as such or converted from a median with IQR/range).
    """
    from jdmstats.meta.convert import median_to_mean

    val = df[f"{prefix}_months"].astype(float).to_numpy()
    stat = pd.Series(df[f"{prefix}_stat"], dtype=object).fillna("not_stated").to_numpy()
    sd = df[f"{prefix}_sd_months"].astype(float).to_numpy()
    spread = pd.Series(df[f"{prefix}_spread"], dtype=object).fillna("").to_numpy()
    lo = df[f"{prefix}_low_months"].astype(float).to_numpy()
    hi = df[f"{prefix}_high_months"].astype(float).to_numpy()
    nn = np.asarray(pd.to_numeric(pd.Series(n), errors="coerce"), dtype=float)
    k = len(df)
    mean = np.full(k, np.nan)
    sdo = np.full(k, np.nan)
    conv = np.full(k, "", dtype=object)
    usable = np.zeros(k, dtype=bool)
    for i in range(k):
        if not np.isfinite(val[i]):
            conv[i] = "not reported"
            continue
        if stat[i] == "mean":
            mean[i], sdo[i], usable[i] = val[i], sd[i], True
            conv[i] = "reported mean" + (" and SD" if np.isfinite(sd[i]) else " (no SD)")
        elif stat[i] == "median":
            has = spread[i] in ("iqr", "range") and np.isfinite(lo[i]) and np.isfinite(hi[i])
            if has and np.isfinite(nn[i]) and nn[i] >= 5:
                kw = {"q1": [lo[i]], "q3": [hi[i]]} if spread[i] == "iqr" else {
                    "minimum": [lo[i]], "maximum": [hi[i]]}  # fmt: skip
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    r = median_to_mean([val[i]], [nn[i]], **kw)
                mean[i], sdo[i], usable[i] = r.mean[0], r.sd[0], True
                what = "IQR" if spread[i] == "iqr" else "range"
                conv[i] = (f"median ({what}) converted: mean {r.mean_method[0]}, "
                           f"SD {r.sd_method[0]}" + ("; skewed" if r.skewed[0] else ""))  # fmt: skip
            else:
                mean[i] = val[i]
                why = "no IQR/range" if not has else "n < 5 or unknown"
                conv[i] = f"median used as the mean ({why}: cannot convert)"
        else:
            mean[i], sdo[i] = val[i], sd[i]
            conv[i] = "statistic not stated: value used as the mean"
    return pd.DataFrame({"mean": mean, "sd": sdo, "conversion": conv, "usable_mean": usable},
                        index=df.index)  # fmt: skip


def delay_means(cohorts: pd.DataFrame) -> pd.DataFrame:
    """Mean diagnostic delay (months) of each cohort, with the conversion that gave it.

    Medians with an IQR or range (n >= 5) are converted to means with
    :func:`jdmstats.meta.convert.median_to_mean` (Luo/Wan/Shi); a median without either is used
    as the mean and a value whose statistic is not stated is used as reported, each with a
    ``conversion`` note and ``usable_mean = False`` (the strict sensitivity analysis drops
    them).

    Returns
    -------
    DataFrame
        ``cohort_id``, ``study_id``, ``n_patients``, ``delay_reported_months``, ``delay_stat``,
        ``delay_spread``, ``delay_low_months``, ``delay_high_months``, ``delay_definition``,
        ``delay_mean_months``, ``delay_sd_months`` (estimated), ``conversion``,
        ``usable_mean``; one row per cohort of the input (NaN when no delay is reported).

    Examples
    --------
    >>> from jdmstats import datasets, delay
    >>> cohorts = datasets.load_cohorts()
    >>> means = delay.delay_means(cohorts)
    >>> len(means) == len(cohorts)
    True
    >>> set(means.loc[means["delay_reported_months"].isna(), "conversion"])
    {'not reported'}
    """
    c = cohorts.reset_index(drop=True)
    conv = convert_measure("delay", c, c["n_patients"])
    return pd.DataFrame({
        "cohort_id": c["cohort_id"], "study_id": c["study_id"], "n_patients": c["n_patients"],
        "delay_reported_months": c["delay_months"], "delay_stat": c["delay_stat"],
        "delay_spread": c["delay_spread"], "delay_low_months": c["delay_low_months"],
        "delay_high_months": c["delay_high_months"], "delay_definition": c["delay_definition"],
        "delay_mean_months": conv["mean"], "delay_sd_months": conv["sd"],
        "conversion": conv["conversion"], "usable_mean": conv["usable_mean"],
    })  # fmt: skip



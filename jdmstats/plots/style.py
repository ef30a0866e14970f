"""One style for every jdmstats figure: journal widths, colour-blind-safe palette, fonts, output.

* Widths: :data:`SINGLE` (85 mm) and :data:`DOUBLE` (170 mm) columns, in inches.
* Palette: Okabe & Ito (2008), safe for the common colour-vision deficiencies.
* PDF with embedded TrueType fonts (``pdf.fonttype = 42``) and no creation date, plus a 300-dpi
  PNG, so that the same data give byte-identical files on every run.

Examples
--------
>>> from jdmstats.plots import style
>>> with style.context():
...     fig, ax = style.figure(width="single", height=2.0)
>>> round(style.SINGLE, 3)
3.346
"""

from __future__ import annotations

import contextlib
from pathlib import Path

MM = 1 / 25.4
SINGLE = 85 * MM
"""Single-column width (85 mm) in inches."""
DOUBLE = 170 * MM
"""Double-column width (170 mm) in inches."""

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
"""Okabe-Ito colours (blue, orange, green, vermillion, purple, sky blue, yellow, black)."""
GREY = "#7f7f7f"

RC = {
    "font.family": "DejaVu Sans",
    "font.size": 7.0,
    "axes.titlesize": 8.0,
    "axes.labelsize": 7.0,
    "xtick.labelsize": 6.5,
    "ytick.labelsize": 6.5,
    "legend.fontsize": 6.5,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "lines.linewidth": 1.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": None,  # set in context()
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "svg.hashsalt": "jdmstats",
    "figure.dpi": 100,
    "savefig.dpi": 300,
    "path.simplify": True,
}


def rc() -> dict:
    """The rcParams of the jdmstats style."""
    from cycler import cycler

    params = dict(RC)
    params["axes.prop_cycle"] = cycler(color=list(PALETTE))
    return params


@contextlib.contextmanager
def context():
    """Temporarily apply the jdmstats style (global settings are restored afterwards)."""
    import matplotlib as mpl

    with mpl.rc_context(rc()):
        yield


def width(which: str | float) -> float:
    """Figure width in inches: ``"single"``, ``"double"`` or a number of inches."""
    if which == "single":
        return SINGLE
    if which == "double":
        return DOUBLE
    return float(which)


def figure(width: str | float = "single", height: float | None = None):
    """A new figure of a journal width (height in inches, default 0.75 x width)."""
    import matplotlib.pyplot as plt

    w = globals()["width"](width)
    fig, ax = plt.subplots(figsize=(w, height if height is not None else 0.75 * w))
    return fig, ax


def save(fig, path: str | Path, formats=("pdf", "png")) -> list[Path]:
    """Save a figure as PDF and 300-dpi PNG with metadata that does not change between runs.

    Parameters
    ----------
    fig : matplotlib Figure
    path : path-like
        Output path without (or with any) suffix; one file per format is written.

    Returns
    -------
    list of Path
    """
    import matplotlib

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        target = path.with_suffix(f".{fmt}")
        meta = {"pdf": {"Creator": "jdmstats", "Producer": "matplotlib", "CreationDate": None},
                "png": {"Software": f"matplotlib {matplotlib.__version__}"}}.get(fmt, {})  # fmt: skip
        fig.savefig(
            target, format=fmt, dpi=300, metadata=meta, bbox_inches="tight", pad_inches=0.02
        )
        written.append(target)
    return written

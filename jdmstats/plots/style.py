"""One style for every jdmstats figure: journal widths, colour-blind-safe palette, fonts, output.

* Widths: :data:`SINGLE` (85 mm) and :data:`DOUBLE` (175 mm) columns, in inches, at print
  font sizes (7 pt text, 6.5 pt ticks).
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
DOUBLE = 175 * MM
"""Double-column width (175 mm) in inches."""

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
"""Okabe-Ito colours (blue, orange, green, vermillion, purple, sky blue, yellow, black)."""
GREY = "#7f7f7f"

CLASS_COLOURS = PALETTE[:6]
"""Okabe-Ito colours for therapy classes: blue, orange, green, vermillion, purple, sky blue (no
yellow, which is too light on white; black is kept for combinations)."""
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
"""Marker shapes that, with the colours, tell therapy classes apart without colour alone."""


def class_style(cls: str) -> tuple[str, str]:
    """The fixed (colour, marker) of a therapy class, the same in every figure and every run.

    Classes of the vocabulary (:data:`jdmstats.evidence.schema.THERAPY_CLASSES`) take their
    place in it, so adding data never changes a class's look; a class a user adds gets a place
    after them from a checksum of its name. Colour-blind safe: six Okabe-Ito colours, each
    combination of colour and marker used once; combinations are black, "other" grey.
    """
    import zlib

    from jdmstats.evidence.schema import THERAPY_CLASSES

    if cls == "combination":
        return "#000000", "o"
    if cls == "other":
        return GREY, "X"
    names = [c for c in THERAPY_CLASSES if c not in ("other", "combination")]
    i = names.index(cls) if cls in names else len(names) + zlib.crc32(cls.encode()) % 64
    return CLASS_COLOURS[i % len(CLASS_COLOURS)], MARKERS[(i // len(CLASS_COLOURS)) % len(MARKERS)]

RC = {
    "font.family": ["JDM Sans", "DejaVu Sans"],
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


FONTS = Path(__file__).with_name("fonts")
"""The bundled "JDM Sans" faces: DejaVu Sans cut to the blocks figures use (see its README)."""


def register_fonts() -> None:
    """Make the bundled JDM Sans faces known to matplotlib (once per process).

    JDM Sans is DejaVu Sans (matplotlib's default face) reduced to Latin, Greek and mathematical
    characters and without OpenType layout tables, built by ``tools/build_fonts.py``: it looks the
    same, and embedding its subset in a PDF is about ten times faster. Characters it lacks fall
    back to DejaVu Sans (``font.family`` lists both).
    """
    from matplotlib import font_manager

    known = {Path(f.fname).resolve() for f in font_manager.fontManager.ttflist}
    for path in sorted(FONTS.glob("*.ttf")):
        if path.resolve() not in known:
            font_manager.fontManager.addfont(str(path))


def rc() -> dict:
    """The rcParams of the jdmstats style."""
    from cycler import cycler

    register_fonts()
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

    The tight bounding box is computed once and used for every format (one layout pass less
    per format than ``bbox_inches="tight"``, and the PDF and PNG get the same crop).

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
    bbox = tight_bbox(fig, dpi=300)
    written = []
    for fmt in formats:
        target = path.with_suffix(f".{fmt}")
        meta = {"pdf": {"Creator": "jdmstats", "Producer": "matplotlib", "CreationDate": None},
                "png": {"Software": f"matplotlib {matplotlib.__version__}"}}.get(fmt, {})  # fmt: skip
        extra = {"pil_kwargs": {"compress_level": 1}} if fmt == "png" else {}  # fast zlib
        fig.savefig(target, format=fmt, dpi=300, metadata=meta, bbox_inches=bbox, **extra)
        written.append(target)
    return written


def tight_bbox(fig, pad: float = 0.02, dpi: float = 300):
    """The figure's tight bounding box (inches) plus ``pad``, computed once for all formats.

    ``savefig(bbox_inches="tight")`` lays the whole figure out again for every format; one
    layout pass here serves the PDF and the PNG, and gives both the same crop. The layout is
    measured at the resolution the PNG is written at: text measured at the screen's 100 dpi
    comes out slightly narrower than at 300 dpi, which clipped long labels at the edges.
    """
    old = fig.dpi
    fig.set_dpi(dpi)
    try:
        fig.draw_without_rendering()
        return fig.get_tightbbox(fig.canvas.get_renderer()).padded(pad)
    finally:
        fig.set_dpi(old)

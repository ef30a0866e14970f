"""One style for every jdmstats figure: journal widths, colour-blind-safe palette, fonts, output.

* Widths: :data:`SINGLE` (85 mm) and :data:`DOUBLE` (175 mm) columns, in inches, at print
  font sizes (7 pt text, 6.5 pt ticks).
* Palette: Okabe & Ito (2008), safe for the common colour-vision deficiencies.
* PDF with embedded TrueType fonts (``pdf.fonttype = 42``) and no creation date, plus a 300-dpi
  PNG rasterised from that PDF, so that the same data give byte-identical files on every run.

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


DPI = 300
"""Resolution of the PNG files."""
PAD = 0.02
"""Margin (inches) around the tight bounding box of a saved figure."""
MARGIN = (0.4, 0.15, 0.25)
"""Room drawn around the figure for labels outside it: (fraction of the width on each side,
fraction of the height above and below, plus inches on every side)."""


def save(fig, path: str | Path, formats=("pdf", "png")) -> list[Path]:
    """Save a figure as PDF and 300-dpi PNG with metadata that does not change between runs.

    The figure is laid out and drawn once, as a PDF cropped to its tight bounding box plus
    :data:`PAD` (the box of ``savefig(bbox_inches="tight")``, which lays the figure out twice:
    see :func:`_draw_pdf`). The PNG is that PDF rasterised at :data:`DPI` by PDFium
    (``pypdfium2``), so both files show the same drawing.

    Parameters
    ----------
    fig : matplotlib Figure
    path : path-like
        Output path without (or with any) suffix; one file per format is written.
    formats : sequence of str
        Formats to write, in this order (``"pdf"`` and ``"png"``; others go to ``savefig``,
        cropped the same way).

    Returns
    -------
    list of Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf = _draw_pdf(fig) if {"pdf", "png"} & set(formats) else None
    written = []
    for fmt in formats:
        target = path.with_suffix(f".{fmt}")
        if fmt == "pdf":
            target.write_bytes(pdf)
        elif fmt == "png":
            _write_png(pdf, target)
        else:
            _save_tight(fig, target, fmt)
        written.append(target)
    return written


def _draw_pdf(fig) -> bytes:
    """The figure as a one-page PDF cropped to its tight bounding box plus :data:`PAD`.

    ``savefig(bbox_inches="tight")`` lays the figure out once to measure the box and again to
    draw it. Here the figure is drawn once, on a page with :data:`MARGIN` of room around it;
    the box is measured with the renderer of that drawing, whose text is already laid out
    (matplotlib's ``draw_event``), and the page is then cropped to it by
    :func:`_set_media_box`. When the box reaches beyond the margins, the figure is saved with
    ``bbox_inches="tight"`` instead.
    """
    import io

    from matplotlib.transforms import Bbox

    w, h = fig.get_size_inches()
    mx, my = MARGIN[0] * w + MARGIN[2], MARGIN[1] * h + MARGIN[2]
    page = Bbox.from_extents(-mx, -my, w + mx, h + my)
    boxes = []
    cid = fig.canvas.mpl_connect("draw_event", lambda event: boxes.append(
        fig.get_tightbbox(event.renderer)))  # fmt: skip
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="pdf", bbox_inches=page, metadata=_metadata("pdf"))
    finally:
        fig.canvas.mpl_disconnect(cid)
    pdf = buffer.getvalue()
    if boxes:  # inches on the page (the figure's origin is at (mx, my)); the last is the
        # drawing's own (a layout engine's pass before it also ends with a draw_event)
        box = boxes[-1].padded(PAD)
        if box.x0 >= 0 and box.y0 >= 0 and box.x1 <= page.width and box.y1 <= page.height:
            cropped = _set_media_box(pdf, [72 * v for v in box.extents])
            if cropped is not None:
                return cropped
    buffer = io.BytesIO()
    _save_tight(fig, buffer, "pdf")
    return buffer.getvalue()


def _save_tight(fig, target, fmt: str) -> None:
    """``savefig`` cropped to the tight box plus :data:`PAD` (laid out twice, by matplotlib)."""
    fig.savefig(target, format=fmt, dpi=DPI, bbox_inches="tight", pad_inches=PAD,
                metadata=_metadata(fmt))  # fmt: skip


def _set_media_box(pdf: bytes, box) -> bytes | None:
    """``pdf`` (matplotlib's, one page) with the page's MediaBox set to ``box`` (points), by an
    incremental update (PDF 32000-1:2008, 7.5.6): the page dictionary is appended with the
    new box, with a cross-reference section and a trailer pointing back to the original ones,
    whose bytes are kept. ``None`` if the file is not laid out as matplotlib writes it."""
    import re

    from matplotlib.backends.backend_pdf import pdfRepr

    page = re.search(rb"\n(\d+) 0 obj\n(<< /Type /Page\b.*?>>)\nendobj\n", pdf, re.S)
    end = re.search(rb"trailer\n<< (.*?) >>\nstartxref\n(\d+)\n%%EOF\n?\Z", pdf, re.S)
    if page is None or end is None or not re.search(rb"/MediaBox \[[^\]]*\]", page.group(2)):
        return None
    number = page.group(1)
    entry = re.sub(rb"/MediaBox \[[^\]]*\]", b"/MediaBox " + pdfRepr([round(v, 4) for v in box]),
                   page.group(2))  # fmt: skip
    update = b"%s 0 obj\n%s\nendobj\n" % (number, entry)
    xref = len(pdf) + len(update)
    update += b"xref\n%s 1\n%010d 00000 n \n" % (number, len(pdf))
    update += b"trailer\n<< %s /Prev %s >>\nstartxref\n%d\n%%%%EOF\n" % (
        end.group(1), end.group(2), xref)  # fmt: skip
    return pdf + update


def _metadata(fmt: str) -> dict:
    """File metadata without dates or paths (the same on every run)."""
    return {"pdf": {"Creator": "jdmstats", "Producer": "matplotlib", "CreationDate": None}}.get(
        fmt, {})  # fmt: skip


def _write_png(pdf: bytes, target: Path) -> None:
    """Rasterise the one page of ``pdf`` at :data:`DPI` (white background) and write it as PNG."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        pixels = page.render(scale=DPI / 72, rev_byteorder=True).to_numpy()
        page.close()
    finally:
        document.close()
    target.write_bytes(encode_png(pixels, DPI, {
        "Software": f"jdmstats (PDFium {pypdfium2.PDFIUM_INFO.build})"}))  # fmt: skip


def encode_png(rgb, dpi: float, text: dict[str, str] | None = None, level: int = 1) -> bytes:
    """An 8-bit RGB PNG of ``rgb`` (array of shape (height, width, 3), uint8) with its
    resolution (``pHYs``) and Latin-1 ``text`` chunks (``tEXt``), deflated at zlib ``level``.

    Written here, with numpy and zlib, because Pillow chooses a filter for every row by trying
    all five (its only choice for RGB images): on the figures, whose rows are mostly white,
    that took 0.46 s per run for files 6% larger than rows with no filter (0.19 s), the same
    pixels either way. Rows are therefore written unfiltered (filter type 0), in one ``IDAT``
    chunk (PNG specification, 3rd edition, sections 5-11).
    """
    import struct
    import zlib

    import numpy as np

    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3 or 0 in rgb.shape:
        raise ValueError(f"encode_png takes a non-empty (height, width, 3) uint8 array; got "
                         f"shape {rgb.shape} and dtype {rgb.dtype}")  # fmt: skip
    height, width, _ = rgb.shape
    rows = np.zeros((height, 1 + 3 * width), np.uint8)  # a leading 0: no filter
    rows[:, 1:] = rgb.reshape(height, 3 * width)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))  # fmt: skip

    per_metre = round(dpi / 0.0254)
    return b"".join([
        b"\x89PNG\r\n\x1a\n",
        chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
        chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
        *(chunk(b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1"))
          for key, value in (text or {}).items()),
        chunk(b"IDAT", zlib.compress(rows.tobytes(), level)),
        chunk(b"IEND", b""),
    ])  # fmt: skip

"""The figure style: bundled fonts (JDM Sans), fallback, one crop for PDF and PNG."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from jdmstats.plots import style

ROOT = Path(__file__).resolve().parent.parent
RESERVED = ("Bitstream", "Vera", "Arev", "Tavmjong Bah")  # names the DejaVu licence reserves


def _base_fonts(pdf: bytes) -> set[str]:
    return {m.decode() for m in re.findall(rb"/BaseFont /(?:[A-Z]{6}\+)?([^\s/>]+)", pdf)}


@pytest.mark.parametrize("path", sorted(style.FONTS.glob("*.ttf")), ids=lambda p: p.name)
def test_bundled_faces_are_renamed_and_keep_the_licence(path):
    from fontTools.ttLib import TTFont

    font = TTFont(path)
    names = {r.nameID: r.toUnicode() for r in font["name"].names if r.platformID == 3}
    for name_id in (1, 4, 6, 16):  # family, full name, PostScript name, typographic family
        assert not any(word in names.get(name_id, "") for word in RESERVED), names[name_id]
    assert names[1] == "JDM Sans"
    assert "Bitstream" in names[0] and "public domain" in names[0]  # copyright notice kept
    assert {"GSUB", "GPOS"}.isdisjoint(font.keys()) and "kern" in font
    assert (style.FONTS / "LICENSE_DEJAVU").read_text().startswith("Fonts are (c) Bitstream")


def test_four_faces_registered_once():
    from matplotlib import font_manager

    style.register_fonts()
    style.register_fonts()
    faces = [f for f in font_manager.fontManager.ttflist if f.name == "JDM Sans"]
    assert sorted((f.weight, f.style) for f in faces) == [
        (400, "normal"), (400, "oblique"), (700, "normal"), (700, "oblique")]  # fmt: skip


def test_pdf_embeds_jdm_sans_and_falls_back_for_missing_glyphs(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with style.context():
        fig, ax = style.figure("single", 1.5)
        ax.set_title("Prevalence of calcinosis, τ² ≥ 0 − 95% CI", fontweight="bold")
        ax.set_xlabel("month", fontstyle="italic")
        ax.text(0.5, 0.5, "\u0416")  # Cyrillic: not in JDM Sans, drawn with DejaVu Sans
        pdf, png = style.save(fig, tmp_path / "f")
        plt.close(fig)
    fonts = _base_fonts(pdf.read_bytes())
    assert {"JDMSans", "JDMSans-Bold", "JDMSans-Oblique"} <= fonts
    assert "DejaVuSans" in fonts  # the fallback face, only for the missing glyph
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_committed_figures_use_only_the_bundled_faces():
    pdfs = sorted((ROOT / "figures").glob("*.pdf"))
    assert pdfs, "no committed figures"
    for pdf in pdfs:
        fonts = _base_fonts(pdf.read_bytes())
        assert fonts and all(f.startswith("JDMSans") for f in fonts), (pdf.name, fonts)


def _figure(outside: float = 0.0):
    """A small figure; ``outside`` (axes fraction) puts a label left of the axes, beyond the
    figure's edge when negative."""
    import matplotlib

    matplotlib.use("Agg")
    fig, ax = style.figure("single", 2.0)
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("x label")
    ax.set_title("A title with words")
    if outside:
        ax.text(outside, 0.5, "a label left of the axes", transform=ax.transAxes, clip_on=False)
    return fig


def _media_box(pdf: Path | bytes) -> tuple[float, float]:
    """Width and height (points) of the one page, as a PDF reader (PDFium) sees it."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf.read_bytes() if isinstance(pdf, Path) else pdf)
    try:
        assert len(document) == 1
        x0, y0, x1, y1 = document[0].get_mediabox()
    finally:
        document.close()
    return x1 - x0, y1 - y0


@pytest.mark.parametrize("outside", [0.0, -0.3, -5.0], ids=["inside", "left-margin", "far-left"])
def test_pdf_is_cropped_to_matplotlibs_tight_box(tmp_path, outside):
    """The page is the box of ``savefig(bbox_inches="tight")``: drawn once on a page with room
    around the figure and cropped by an incremental update, or, for a label beyond that room,
    saved with ``bbox_inches="tight"`` itself."""
    import io

    import matplotlib.pyplot as plt

    with style.context():
        fig = _figure(outside)
        pdf, _ = style.save(fig, tmp_path / "c")
        ref = io.BytesIO()
        fig.savefig(ref, format="pdf", bbox_inches="tight", pad_inches=style.PAD)
        plt.close(fig)
    mine, theirs = _media_box(pdf), _media_box(ref.getvalue())
    assert mine == pytest.approx(theirs, abs=0.01)  # 4-decimal box, 1/7200 inch
    data = pdf.read_bytes()
    updated = outside > -1
    assert (data.count(b"/MediaBox") == 2) is updated and (b"/Prev " in data) is updated
    assert data.endswith(b"%%EOF\n") and b"CreationDate" not in data


def test_a_figure_with_a_layout_engine_is_cropped_to_its_tight_box(tmp_path):
    import io

    import matplotlib.pyplot as plt

    with style.context():
        fig, axes = plt.subplots(1, 2, figsize=(4, 2), layout="constrained")
        for ax in axes:
            ax.plot([0, 1], [0, 1])
            ax.set_title("a title")
        pdf, _ = style.save(fig, tmp_path / "e")
        ref = io.BytesIO()
        fig.savefig(ref, format="pdf", bbox_inches="tight", pad_inches=style.PAD)
        plt.close(fig)
    assert _media_box(pdf) == pytest.approx(_media_box(ref.getvalue()), abs=0.01)
    assert b"/Prev " in pdf.read_bytes()  # drawn once and cropped, not saved again


def test_set_media_box_appends_a_well_formed_update(tmp_path):
    """The cross-reference entry and ``startxref`` of the update point at the new page object
    and the new xref section (PDFium would open a file with wrong offsets too: it repairs
    them), and the original bytes are kept."""
    import io

    import matplotlib.pyplot as plt

    with style.context():
        fig = _figure()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="pdf")
        plt.close(fig)
    pdf = buffer.getvalue()
    out = style._set_media_box(pdf, [10.5, 20.25, 100, 200])
    assert out.startswith(pdf)
    update = out[len(pdf):]
    number, entry_offset = re.search(rb"xref\n(\d+) 1\n(\d{10}) 00000 n \n", update).groups()
    assert out[int(entry_offset):].startswith(number + b" 0 obj\n<< /Type /Page")
    start = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", update).group(1))
    assert out[start:].startswith(b"xref\n")
    prev = int(re.search(rb"/Prev (\d+)", update).group(1))
    assert pdf[prev:].startswith(b"xref\n")
    assert b"/MediaBox [ 10.5 20.25 100 200 ]" in update
    assert _media_box(out) == pytest.approx((89.5, 179.75))


def test_set_media_box_leaves_other_files_alone():
    assert style._set_media_box(b"%PDF-1.4\nnot matplotlib's layout\n%%EOF\n", [0, 0, 1, 1]) is None


def test_pdf_and_png_share_one_crop(tmp_path):
    import math

    import matplotlib.pyplot as plt
    from PIL import Image

    with style.context():
        fig = _figure(-0.4)
        width_in = fig.get_size_inches()[0]
        pdf, png = style.save(fig, tmp_path / "g")
        plt.close(fig)
    w_pt, h_pt = _media_box(pdf)
    assert w_pt / 72 > width_in  # the label outside the figure is inside the crop
    image = Image.open(png)
    assert image.size == (math.ceil(w_pt * style.DPI / 72), math.ceil(h_pt * style.DPI / 72))
    assert image.info["dpi"] == pytest.approx((style.DPI, style.DPI), abs=0.01)
    assert set(image.info) == {"dpi", "Software"}  # no date, no path
    assert image.mode == "RGB"  # opaque, white background


def _ink_difference(mine, ref, shift: int = 0) -> float:
    """Mean absolute difference of two renderings in 4x4-pixel blocks (grey levels 0-255),
    over the blocks that either inks, with ``mine`` moved ``shift`` blocks left."""
    import numpy as np

    def blocks(a):
        a = a[..., :3].astype(float).mean(-1)
        h, w = a.shape[0] // 4 * 4, a.shape[1] // 4 * 4
        return a[:h, :w].reshape(h // 4, 4, w // 4, 4).mean((1, 3))

    a, b = blocks(mine), blocks(ref)
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    a, b = a[:h, shift:w], b[:h, : w - shift]
    ink = (a < 250) | (b < 250)
    return float(np.abs(a - b)[ink].mean())


@pytest.mark.parametrize("outside", [0.0, -0.3, -5.0], ids=["inside", "left-margin", "far-left"])
def test_png_shows_what_matplotlib_draws_for_the_same_crop(tmp_path, outside):
    """The PNG (PDFium's raster of the PDF) against matplotlib's own Agg raster of the figure
    with the same crop (``savefig(bbox_inches="tight")`` at 300 dpi): the same size within a
    pixel and the same drawing up to anti-aliasing. Moving one image by 4 pixels (a crop that
    is off by 1/75 inch) more than doubles the difference, which the bound catches."""
    import matplotlib.pyplot as plt
    import numpy as np
    from PIL import Image

    with style.context():
        fig = _figure(outside)
        _, png = style.save(fig, tmp_path / "h")
        ref_path = tmp_path / "h_agg.png"
        fig.savefig(ref_path, dpi=style.DPI, bbox_inches="tight", pad_inches=style.PAD)
        plt.close(fig)
    mine, ref = np.asarray(Image.open(png)), np.asarray(Image.open(ref_path))
    assert abs(mine.shape[0] - ref.shape[0]) <= 1 and abs(mine.shape[1] - ref.shape[1]) <= 1
    aligned, shifted = _ink_difference(mine, ref), _ink_difference(mine, ref, shift=1)
    assert aligned < 45, aligned  # about 25-30: anti-aliasing and hinting of two rasterisers
    assert shifted > 55, shifted  # the check above can fail: a 4-pixel offset is over 60


def test_save_writes_the_same_bytes_twice(tmp_path):
    import matplotlib.pyplot as plt

    with style.context():
        fig = _figure(-0.3)
        first = [p.read_bytes() for p in style.save(fig, tmp_path / "a")]
        second = [p.read_bytes() for p in style.save(fig, tmp_path / "b")]
        plt.close(fig)
    assert first == second and all(first)


def test_other_formats_are_cropped_like_the_pdf(tmp_path):
    import matplotlib.pyplot as plt

    with style.context():
        fig = _figure(-0.4)
        pdf, svg = style.save(fig, tmp_path / "s", formats=("pdf", "svg"))
        plt.close(fig)
    w_pt, h_pt = _media_box(pdf)
    size = re.search(rb'<svg[^>]*width="([\d.]+)pt" height="([\d.]+)pt"', svg.read_bytes())
    assert size, "no svg size"
    assert abs(float(size.group(1)) - w_pt) < 1 and abs(float(size.group(2)) - h_pt) < 1


def test_save_leaves_the_figure_as_it_was(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with style.context():
        fig, ax = style.figure("single", 2.0)
        canvas, dpi, size = fig.canvas, fig.dpi, tuple(fig.get_size_inches())
        pos = ax.get_position().bounds
        style.save(fig, tmp_path / "k")
        assert (fig.canvas, fig.dpi, tuple(fig.get_size_inches())) == (canvas, dpi, size)
        assert ax.get_position().bounds == pos and ax.get_axes_locator() is None
        plt.close(fig)


# ----------------------------------------------------------------------------- PNG encoder
def _decoded(data: bytes):
    """Pixels and info of a PNG as Pillow reads it, after Pillow has checked every chunk's CRC."""
    import io

    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.verify()  # chunk CRCs and structure up to IEND
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB") if image.mode != "RGB" else image), image.info


@settings(max_examples=40, deadline=None)
@given(hnp.arrays("uint8", st.tuples(st.integers(1, 9), st.integers(1, 9), st.just(3))),
       st.integers(0, 9))  # fmt: skip
def test_encode_png_round_trips_any_rgb_image(pixels, level):
    """Pillow decodes exactly the pixels encoded, at every zlib level and any size."""
    import numpy as np

    decoded, info = _decoded(style.encode_png(pixels, 300, level=level))
    assert decoded.shape == pixels.shape
    assert np.array_equal(decoded, pixels)
    assert info["dpi"] == pytest.approx((300, 300), abs=0.01)


def test_encode_png_writes_resolution_and_text():
    import numpy as np

    pixels = np.full((2, 3, 3), 255, np.uint8)
    _, info = _decoded(style.encode_png(pixels, 150, {"Software": "jdmstats", "Note": "é"}))
    # pHYs holds whole pixels per metre: within 0.5 px/m = 0.0127 dpi of the resolution asked
    assert info["dpi"] == pytest.approx((150, 150), abs=0.0127)
    assert info["Software"] == "jdmstats" and info["Note"] == "é"


def test_encode_png_takes_a_strided_view():
    """A view with row padding (as PDFium's bitmaps have) is encoded without the padding."""
    import numpy as np

    padded = np.arange(4 * 8 * 3, dtype=np.uint8).reshape(4, 8, 3)
    view = padded[:, :5]
    assert np.array_equal(_decoded(style.encode_png(view, 300))[0], view)


@pytest.mark.parametrize("bad", [
    np.zeros((2, 2, 3), np.float64), np.zeros((2, 2), np.uint8), np.zeros((2, 2, 4), np.uint8),
    np.zeros((0, 2, 3), np.uint8)])  # fmt: skip
def test_encode_png_refuses_what_is_not_an_rgb_image(bad):
    with pytest.raises(ValueError, match=r"\(height, width, 3\) uint8.*shape"):
        style.encode_png(bad, 300)


def test_saved_png_is_pdfium_raster_of_the_saved_pdf(tmp_path):
    """The PNG file holds exactly the pixels PDFium renders from the PDF file beside it."""
    import matplotlib.pyplot as plt
    import numpy as np
    import pypdfium2

    with style.context():
        fig = _figure(0.5)
        pdf, png = style.save(fig, tmp_path / "r")
        plt.close(fig)
    document = pypdfium2.PdfDocument(pdf.read_bytes())
    rendered = document[0].render(scale=style.DPI / 72, rev_byteorder=True).to_pil()
    document.close()
    assert np.array_equal(_decoded(png.read_bytes())[0], np.asarray(rendered))

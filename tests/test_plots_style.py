"""The figure style: bundled fonts (JDM Sans), fallback, one crop for PDF and PNG."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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


def test_pdf_and_png_share_one_crop(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    with style.context():
        fig, ax = style.figure("single", 2.0)
        ax.text(-0.4, 0.5, "a label left of the axes", transform=ax.transAxes, clip_on=False)
        bbox = style.tight_bbox(fig)
        pdf, png = style.save(fig, tmp_path / "g")
        plt.close(fig)
    assert bbox.x0 < 0  # the label outside the figure is inside the crop
    width_px, height_px = Image.open(png).size
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)", pdf.read_bytes())
    assert box, "no MediaBox"
    w_pt, h_pt = float(box.group(1)), float(box.group(2))
    assert abs(width_px / 300 - w_pt / 72) < 2 / 300 and abs(height_px / 300 - h_pt / 72) < 2 / 300


def _drawn(fig, tmp_path, name):
    """The PNG ``style.save`` writes and the one matplotlib's savefig writes for its box."""
    import numpy as np
    from PIL import Image

    bbox = style.tight_bbox(fig)
    _, png = style.save(fig, tmp_path / name)
    ref = tmp_path / f"{name}_savefig.png"
    fig.savefig(ref, dpi=style.DPI, bbox_inches=bbox)
    return np.asarray(Image.open(png)), np.asarray(Image.open(ref))


@pytest.mark.parametrize("outside", [0.0, -0.3, -5.0], ids=["inside", "left-margin", "far-left"])
def test_png_is_the_savefig_image_of_the_same_box(tmp_path, outside):
    """The cropped raster (or, beyond the drawn margins, a second pass) shows what
    ``savefig(bbox_inches=box)`` shows: same size within a pixel and the same pixels up to the
    sub-pixel offset of the crop."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    with style.context():
        fig, ax = style.figure("single", 2.0)
        ax.plot([0, 1], [0, 1])
        ax.set_xlabel("x label")
        if outside:
            ax.text(outside, 0.5, "a label left of the axes", transform=ax.transAxes,
                    clip_on=False)  # fmt: skip
        mine, ref = _drawn(fig, tmp_path, "h")
        plt.close(fig)
    assert abs(mine.shape[0] - ref.shape[0]) <= 1 and abs(mine.shape[1] - ref.shape[1]) <= 1
    h, w = min(mine.shape[0], ref.shape[0]) - 1, min(mine.shape[1], ref.shape[1]) - 1
    diff = min(np.abs(mine[dy:dy + h, dx:dx + w].astype(int) - ref[:h, :w]).mean()
               for dy in (0, 1) for dx in (0, 1))  # fmt: skip
    assert diff < 3.0, diff  # anti-aliasing at another sub-pixel offset; a wrong crop is > 10
    assert (mine[..., 3] == 255).all()  # opaque, as savefig's


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

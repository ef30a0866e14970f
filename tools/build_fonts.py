"""Build the fonts bundled with jdmstats figures (``jdmstats/plots/fonts/``).

Why: every PDF figure embeds its TrueType font (``pdf.fonttype = 42``). Matplotlib subsets the
font with fontTools for each PDF, and for the full DejaVu Sans (6,241 glyphs, 756 kB, with large
OpenType layout tables) that costs about 0.3 s per PDF - the largest single cost of
``jdmstats run``. This script writes reduced copies of matplotlib's own DejaVu Sans faces:

* only the Unicode blocks a scientific figure needs (Latin, Greek, punctuation, super- and
  subscripts, arrows, mathematical operators, geometric shapes);
* without the OpenType layout tables (GSUB, GPOS, GDEF, MATH), which matplotlib's text engine
  never reads (it kerns with the legacy ``kern`` table, which is kept);
* with the glyph names (``post`` format 2): fontTools derives them from ``cmap`` on every load
  of a font without them, which cost about 0.1 s of subsetting per run;
* renamed "JDM Sans", as the Bitstream Vera / Arev licence asks of modified copies. The copyright
  notice and licence stay in the font's name table and in ``LICENSE_DEJAVU`` next to the files.

Glyph outlines, metrics, hinting and kerning are DejaVu Sans 2.35's, so text looks the same.
Characters outside the kept blocks fall back to matplotlib's full DejaVu Sans (see
``jdmstats.plots.style``). The output is deterministic; re-run after a matplotlib upgrade only
if you want its newer DejaVu build:

    python tools/build_fonts.py
"""

from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib
from fontTools import subset
from fontTools.ttLib import TTFont

OUT = Path(__file__).resolve().parents[1] / "jdmstats" / "plots" / "fonts"
FACES = {  # DejaVu file -> (JDM Sans style name, file stem)
    "DejaVuSans.ttf": ("Book", "JDMSans"),
    "DejaVuSans-Bold.ttf": ("Bold", "JDMSans-Bold"),
    "DejaVuSans-Oblique.ttf": ("Oblique", "JDMSans-Oblique"),
    "DejaVuSans-BoldOblique.ttf": ("Bold Oblique", "JDMSans-BoldOblique"),
}
BLOCKS = [
    (0x0020, 0x024F),  # Basic Latin, Latin-1, Latin Extended-A and -B
    (0x0370, 0x03FF),  # Greek (tau, chi, mu ...)
    (0x2000, 0x206F),  # General punctuation (dashes, bullets, thin spaces)
    (0x2070, 0x209F),  # Superscripts and subscripts
    (0x2100, 0x214F),  # Letterlike symbols
    (0x2190, 0x21FF),  # Arrows
    (0x2200, 0x22FF),  # Mathematical operators (minus, <=, >=, x, +-, sqrt)
    (0x25A0, 0x25FF),  # Geometric shapes (legend markers in text)
]
DROP = ["GSUB", "GPOS", "GDEF", "MATH", "FFTM"]


def build_face(source: Path, style: str, stem: str) -> Path:
    opts = subset.Options()
    opts.layout_features = []
    opts.drop_tables += DROP
    opts.legacy_kern = True  # keep the 'kern' table matplotlib uses
    opts.hinting = True
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.notdef_outline = True
    opts.recalc_timestamp = False
    opts.glyph_names = True  # post table with names: embedding need not derive them from cmap
    font = TTFont(source, recalcTimestamp=False)
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=[u for lo, hi in BLOCKS for u in range(lo, hi + 1)])
    sub.subset(font)
    family, full = "JDM Sans", f"JDM Sans {style}" if style != "Book" else "JDM Sans"
    ps = stem if style != "Book" else "JDMSans"
    renamed = {1: family, 3: f"JDM Sans {style} (subset of DejaVu Sans 2.35)", 4: full,
               6: ps, 16: family}  # fmt: skip
    for record in font["name"].names:
        if record.nameID in renamed:
            record.string = renamed[record.nameID]
    font["name"].names = [r for r in font["name"].names if r.nameID != 17]  # DejaVu's "Book"
    target = OUT / f"{stem}.ttf"
    font.save(target)
    return target


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    src = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for name, (style, stem) in FACES.items():
        path = build_face(src / name, style, stem)
        print(f"{path.relative_to(OUT.parents[2])}: {path.stat().st_size:,} bytes")
    shutil.copyfile(src / "LICENSE_DEJAVU", OUT / "LICENSE_DEJAVU")


if __name__ == "__main__":
    main()

"""Tables as text: Markdown and LaTeX (booktabs) renderings of a DataFrame, with no optional
dependency (pandas' own ``to_markdown`` needs *tabulate*, its ``to_latex`` *jinja2*).

Used by every result object (:class:`jdmstats.results.ResultMixin`) and by the report.
"""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["fmt_cell", "to_markdown", "to_latex"]


def fmt_cell(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if v == int(v) and abs(v) < 1e9:
            return f"{int(v)}"
        return f"{v:.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"
    return str(v)


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}"}  # fmt: skip


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _cells(df: pd.DataFrame, index: bool) -> tuple[list[str], list[list[str]], list[bool]]:
    """Header, formatted rows and right-alignment flags (numeric columns) of a table."""
    frame = df.reset_index(names=df.index.name or "") if index else df
    header = [str(c) for c in frame.columns]
    rows = [[fmt_cell(v) for v in row] for row in frame.itertuples(index=False)]
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
               for c in frame.columns]  # fmt: skip
    return header, rows, numeric


def to_markdown(df: pd.DataFrame, index: bool = False) -> str:
    """A results table as a Markdown (pipe) table, numbers as in the HTML report.

    Numbers keep 4 significant digits, missing values are blank, numeric columns are
    right-aligned; ``|`` inside text is escaped. No extra dependency (pandas' own
    ``to_markdown`` needs *tabulate*).

    Examples
    --------
    >>> import pandas as pd
    >>> from jdmstats.tabular import to_markdown
    >>> print(to_markdown(pd.DataFrame({"model": ["GLMM"], "estimate": [0.2713], "k": [35]})))
    | model | estimate | k |
    |:--|--:|--:|
    | GLMM | 0.2713 | 35 |
    """
    header, rows, numeric = _cells(df, index)

    def line(cells):
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    rule = "|" + "|".join("--:" if n else ":--" for n in numeric) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def to_latex(df: pd.DataFrame, caption: str | None = None, label: str | None = None,
             index: bool = False) -> str:  # fmt: skip
    """A results table as a LaTeX ``table`` with a booktabs ``tabular``.

    Numbers as in the HTML report (4 significant digits, blanks for missing); text is escaped
    for LaTeX. Needs ``\\usepackage{booktabs}`` in the document. No extra dependency (pandas'
    own ``to_latex`` needs *jinja2*).

    Examples
    --------
    >>> import pandas as pd
    >>> from jdmstats.tabular import to_latex
    >>> print(to_latex(pd.DataFrame({"group": ["a_1"], "pct": [12.5]}), caption="5% of x"))
    \\begin{table}[ht]
    \\centering
    \\caption{5\\% of x}
    \\begin{tabular}{lr}
    \\toprule
    group & pct \\\\
    \\midrule
    a\\_1 & 12.5 \\\\
    \\bottomrule
    \\end{tabular}
    \\end{table}
    """
    header, rows, numeric = _cells(df, index)
    spec = "".join("r" if n else "l" for n in numeric)
    lines = ["\\begin{table}[ht]", "\\centering"]
    if caption:
        lines.append(f"\\caption{{{_latex_escape(caption)}}}")
    if label:
        lines.append(f"\\label{{{label}}}")
    lines += [f"\\begin{{tabular}}{{{spec}}}", "\\toprule",
              " & ".join(_latex_escape(h) for h in header) + " \\\\", "\\midrule"]  # fmt: skip
    lines += [" & ".join(_latex_escape(c) for c in r) + " \\\\" for r in rows]
    lines += ["\\bottomrule", "\\end{tabular}", "\\end{table}"]
    return "\n".join(lines)

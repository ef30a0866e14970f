"""Shared behaviour of the frozen result records of every layer (engines and questions).

Every result class is a ``@dataclass(frozen=True)`` that inherits :class:`ResultMixin` and
implements :meth:`summary` (a pandas DataFrame).  The mixin provides ``to_dict()``,
``_repr_html_()`` for Jupyter, a plain-text ``__str__`` built from the summary, and
``to_markdown()`` / ``to_latex()`` for manuscripts (:mod:`jdmstats.tabular`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


def _plain(value: Any) -> Any:
    """Convert numpy scalars/arrays and nested containers to plain Python objects."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # a DataFrame
        return value.to_dict(orient="list")
    return value


class ResultMixin:
    """Mixin for frozen result dataclasses: ``to_dict``, HTML and text rendering."""

    def summary(self):  # pragma: no cover - every subclass implements it
        raise NotImplementedError

    def _one_row(self, names, index: str):
        """A one-row DataFrame of the named fields (the usual body of ``summary()``)."""
        import pandas as pd

        return pd.DataFrame({n: [getattr(self, n)] for n in names}, index=pd.Index([index]))

    def to_dict(self) -> dict[str, Any]:
        """Return every declared field as plain Python objects (lists, floats, str)."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def to_markdown(self) -> str:
        """The summary as a Markdown table (:func:`jdmstats.tabular.to_markdown`)."""
        from jdmstats.tabular import to_markdown

        return to_markdown(self.summary(), index=True)

    def to_latex(self, caption: str | None = None, label: str | None = None) -> str:
        """The summary as a LaTeX booktabs table (:func:`jdmstats.tabular.to_latex`)."""
        from jdmstats.tabular import to_latex

        return to_latex(self.summary(), caption=caption or getattr(self, "_title", None),
                        label=label, index=True)  # fmt: skip

    def _html_tables(self) -> list:
        """``(caption, DataFrame)`` pairs shown as HTML tables (default: the summary alone)."""
        return [(None, self.summary())]

    def _text_block(self) -> str:
        """The text repr without the tables at its end (shown above them in HTML); empty for
        a dataclass-generated repr or when only the title is left."""
        text = repr(self)
        if text.startswith(f"{type(self).__name__}("):
            return ""
        for caption, table in reversed(self._html_tables()):
            text = text.rstrip()
            for block in (_table_text(caption, table), _table_text(None, table)):
                if text.endswith(block):
                    text = text[: -len(block)].rstrip()
                    break
        title = getattr(self, "_title", type(self).__name__)
        return "" if text.strip() in ("", str(title)) else text

    def _repr_html_(self) -> str:
        """Jupyter: the title, every line of the text repr (in ``<pre>``), then the tables
        (for fitted models: the model table of ``summary()`` and the studies of
        ``studies()``)."""
        import html

        title = getattr(self, "_title", type(self).__name__)
        parts = [f"<p><b>{html.escape(str(title))}</b></p>"]
        text = self._text_block()
        if text:
            parts.append(f"<pre>{html.escape(text)}</pre>")
        for caption, table in self._html_tables():
            if caption:
                parts.append(f"<p><i>{html.escape(caption)}</i></p>")
            parts.append(table.to_html(float_format=_FLOAT))
            note = table.attrs.get("note")
            if note:
                parts.append(f"<p><small>Note: {html.escape(str(note))}</small></p>")
        return "".join(parts)

    def __str__(self) -> str:
        title = getattr(self, "_title", type(self).__name__)
        return f"{title}\n\n" + self.summary().to_string(float_format=_FLOAT)


def _FLOAT(x) -> str:  # noqa: N802 (the one float format of text and HTML tables)
    return f"{x:.4f}"


def _table_text(caption, table) -> str:
    lines = [f"{caption}:"] if caption else []
    lines.append(table.to_string(float_format=_FLOAT))
    note = table.attrs.get("note")
    if note:
        lines.append(f"Note: {note}")
    return "\n".join(lines)


def tables_text(tables) -> str:
    """The text rendering of ``(caption, DataFrame)`` pairs, as at the end of a fitted model's
    repr: the caption with a colon, the table, and its ``attrs["note"]`` (``Note: ...``)."""
    return "\n\n".join(_table_text(c, t) for c, t in tables)


class TableResult(ResultMixin):
    """A result that is one table (leave-one-out, cumulative, Baujat, fit statistics).

    It is a frozen dataclass with a ``table`` field like every other result (repr, ``summary()``,
    ``to_markdown()``, ``to_latex()``), and it reads like its table: ``res["estimate"]``,
    ``res.loc[...]``, ``res.columns``, ``len(res)`` and every other DataFrame attribute are the
    table's, so code written for the former bare DataFrame keeps working. ``res.table`` is the
    DataFrame itself.
    """

    def summary(self):
        return self.table

    def __getattr__(self, name: str):
        if name.startswith("_") or name == "table":
            raise AttributeError(name)
        return getattr(self.table, name)

    def __getitem__(self, key):
        return self.table[key]

    def __len__(self) -> int:
        return len(self.table)

    def __iter__(self):
        return iter(self.table)

    def __repr__(self) -> str:
        return str(self)


class FittedMixin:
    """Shared by fitted models: ``summary()`` is the model (pooled) table, ``studies()`` the
    per-study table, and both are shown in Jupyter below every line of the text repr."""

    def _html_tables(self) -> list:
        return [("Model", self.summary()), ("Studies", self.studies())]

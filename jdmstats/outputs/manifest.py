"""What a run was made from: data fingerprints, versions, ``figures/MANIFEST.json`` and
``tables/warnings.csv``."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pandas as pd

from jdmstats.outputs.tables import write_table

__all__ = ["MANIFEST", "NOTES", "DEPENDENCIES", "sha256_file", "data_files", "data_fingerprint",
           "versions", "read_manifest", "write_manifest", "write_notes", "relative"]  # fmt: skip

MANIFEST = "MANIFEST.json"
DEPENDENCIES = (
    "numpy",
    "scipy",
    "pandas",
    "statsmodels",
    "lifelines",
    "matplotlib",
    "fonttools",
    "pillow",
    "pypdfium2",
)
"""Packages whose versions are recorded in the manifest (and in the HTML report)."""


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def data_files(folder: str | os.PathLike) -> dict[str, str]:
    """SHA-256 of every harmonised table (``*.csv`` of :data:`jdmstats.evidence.schema.TABLES`) in a folder."""
    from jdmstats.evidence import schema

    folder = Path(folder)
    return {t.filename: sha256_file(folder / t.filename) for t in schema.TABLES.values()
            if (folder / t.filename).exists()}  # fmt: skip


def data_fingerprint(folder: str | os.PathLike) -> str:
    """One SHA-256 for a harmonised data set: the hash of its tables' names and hashes.

    Line ends and row order count: the harmonised CSVs are written deterministically by
    ``jdmstats harmonise``, so the same data always give the same fingerprint.
    """
    text = "".join(f"{name} {h}\n" for name, h in sorted(data_files(folder).items()))
    return hashlib.sha256(text.encode()).hexdigest()


def versions() -> dict[str, str]:
    """Versions of Python (major.minor), the dependencies and jdmstats."""
    from importlib import metadata

    from jdmstats import __version__

    out = {"python": "{}.{}".format(*sys.version_info[:2])}
    for name in DEPENDENCIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover
            out[name] = "not installed"
    out["jdmstats"] = __version__
    return out


def read_manifest(out: str | os.PathLike) -> dict:
    """The manifest of an output root (``out/figures/MANIFEST.json``), or an empty one."""
    path = Path(out) / "figures" / MANIFEST
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    return {"files": {}, "data": {}}


def write_manifest(out: Path, entries: dict[str, dict], data: dict[str, dict],
                   replace_steps: set[str] | None) -> Path:  # fmt: skip
    """Write ``out/figures/MANIFEST.json``.

    ``replace_steps`` None: the manifest describes exactly this run. Otherwise the entries of
    those steps replace theirs in the existing manifest and the other steps' entries are kept.
    """
    from jdmstats import __version__

    files: dict[str, dict] = {}
    known: dict[str, dict] = {}
    if replace_steps is not None:
        old = read_manifest(out)
        files = {k: v for k, v in old.get("files", {}).items()
                 if v.get("step") not in replace_steps and (out / k).exists()}  # fmt: skip
        known = dict(old.get("data", {}))
    files.update(entries)
    known.update(data)
    used = {v["data_sha256"] for v in files.values()}
    manifest = {
        "about": "Files written by `jdmstats run`: the step that wrote each, the SHA-256 of the "
                 "harmonised data it was made from (data_sha256, see `data`), the jdmstats "
                 "version, and the SHA-256 of the file itself.",
        "jdmstats_version": __version__,
        "versions": versions(),
        "data": {k: known[k] for k in sorted(used) if k in known},
        "files": dict(sorted(files.items())),
    }  # fmt: skip
    path = out / "figures" / MANIFEST
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path


NOTES = "warnings.csv"
"""Warnings the steps raised (``step``, ``category``, ``message``), in ``out/tables``."""


def write_notes(out: Path, notes: list[tuple[str, str, str]], replace_steps: set[str] | None,
                step_order: list[str] = ()) -> Path:  # fmt: skip
    """Write the steps' warnings to ``out/tables/warnings.csv`` (merged with the warnings of
    the steps not re-run when ``replace_steps`` is given)."""
    path = out / "tables" / NOTES
    rows = list(notes)
    if replace_steps is not None and path.exists():
        old = pd.read_csv(path, dtype=str, keep_default_na=False)
        kept = [tuple(r) for r in old[["step", "category", "message"]].itertuples(index=False)
                if r[0] not in replace_steps]  # fmt: skip
        order = {n: i for i, n in enumerate(step_order)}
        rows = sorted(kept + rows, key=lambda r: order.get(r[0], len(order)))
    return write_table(pd.DataFrame(rows, columns=["step", "category", "message"]), path)


def relative(path: Path, out: Path) -> str:
    try:
        return Path(os.path.relpath(Path(path).resolve(), out.resolve())).as_posix()
    except ValueError:  # pragma: no cover - other drive on Windows
        return Path(path).as_posix()

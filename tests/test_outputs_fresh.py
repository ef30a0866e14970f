"""The committed ``figures/`` and ``tables/`` are up to date with the bundled data.

How staleness is decided (cheapest check first):

1. ``figures/MANIFEST.json`` must list every committed file of ``figures/`` and ``tables/``,
   each with the SHA-256 it has on disk (so nobody edited or replaced an output by hand).
2. Every entry's ``data_sha256`` must be the fingerprint of the bundled harmonised data, and
   its ``jdmstats_version`` the installed version: new data or a new release without
   ``jdmstats run`` fails here, with the command to run.
3. The whole pipeline is run again into a temporary folder (one run, about as long as
   ``jdmstats run``): every table must be byte-identical to the committed one, and the same
   files must be produced. Figures are compared by the SHA-256 in the two manifests only when
   the dependency versions recorded in the committed manifest are the installed ones: PDF and
   PNG bytes depend on matplotlib, fontTools, FreeType and PDFium, so on other versions the figure
   check is skipped (the data check of step 2 still covers them).

In a git checkout the "committed" outputs are read from ``HEAD`` (``git show``), not from the
working tree: CI's quick start runs ``jdmstats run`` at the root before the tests, which rewrites
the working-tree outputs, so only ``HEAD`` tells whether what was committed is stale.

To refresh the outputs: ``jdmstats run`` at the repository root, then commit.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from jdmstats import __version__, datasets, pipeline

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "figures" / "MANIFEST.json"
FIX = "run `jdmstats run` at the repository root and commit figures/ and tables/"


def _in_git() -> bool:
    return (ROOT / ".git").exists() and shutil.which("git") is not None


def committed_bytes(rel: str) -> bytes:
    """The committed content of an output: from HEAD in a git checkout, else from disk."""
    if _in_git():
        out = subprocess.run(["git", "show", f"HEAD:{rel}"], cwd=ROOT, capture_output=True)
        if out.returncode != 0:
            pytest.fail(f"{rel} is not committed: {FIX}")
        return out.stdout
    return (ROOT / rel).read_bytes()


def _committed() -> set[str]:
    if _in_git():
        out = subprocess.run(["git", "ls-files", "figures", "tables"], cwd=ROOT,
                             capture_output=True, text=True, check=True)  # fmt: skip
        return {f for f in out.stdout.split() if not f.endswith(("MANIFEST.json", ".gitkeep"))}
    files = set()
    for folder in ("figures", "tables"):
        for p in (ROOT / folder).rglob("*"):  # tables/publication/ too
            if p.is_file() and p.name not in ("MANIFEST.json", ".gitkeep"):
                files.add(p.relative_to(ROOT).as_posix())
    return files


@pytest.fixture(scope="module")
def manifest() -> dict:
    if not _in_git() and not MANIFEST.exists():
        pytest.fail(f"{MANIFEST} is missing: {FIX}")
    return json.loads(committed_bytes("figures/MANIFEST.json").decode("utf-8"))


def test_manifest_lists_every_committed_output_with_its_hash(manifest):
    files = manifest["files"]
    assert _committed() == set(files), f"outputs and manifest disagree: {FIX}"
    for rel, entry in files.items():
        digest = hashlib.sha256(committed_bytes(rel)).hexdigest()
        assert digest == entry["sha256"], f"{rel} changed: {FIX}"


def test_outputs_were_made_from_the_bundled_data_and_this_version(manifest):
    fingerprint = pipeline.data_fingerprint(datasets.data_dir())
    stale = sorted(rel for rel, e in manifest["files"].items() if e["data_sha256"] != fingerprint)
    assert not stale, f"made from other data than data/harmonised: {stale[:5]}...: {FIX}"
    old = sorted(rel for rel, e in manifest["files"].items()
                 if e["jdmstats_version"] != __version__)  # fmt: skip
    assert not old, f"made by another jdmstats version: {old[:5]}: {FIX}"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> tuple[Path, dict]:
    """One full regeneration of every output into a temporary folder."""
    import matplotlib

    matplotlib.use("Agg")
    out = tmp_path_factory.mktemp("fresh")
    pipeline.run(out=out, quiet=True)
    return out, json.loads((out / "figures" / "MANIFEST.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_regenerated_tables_match_the_committed_ones(manifest, fresh):
    out, new = fresh
    assert set(new["files"]) == set(manifest["files"]), f"other files produced: {FIX}"
    for rel in sorted(new["files"]):
        if rel.startswith("tables/"):
            assert (out / rel).read_bytes() == committed_bytes(rel), f"{rel}: {FIX}"


@pytest.mark.slow
def test_regenerated_figures_match_the_committed_ones(manifest, fresh):
    _, new = fresh
    if new["versions"] != manifest["versions"]:
        pytest.skip(f"figures not compared byte for byte: committed with {manifest['versions']}, "
                    f"installed {new['versions']} (their data fingerprint is still checked)")  # fmt: skip
    for rel in sorted(new["files"]):
        assert new["files"][rel]["sha256"] == manifest["files"][rel]["sha256"], f"{rel}: {FIX}"

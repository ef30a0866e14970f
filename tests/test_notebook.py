"""analyses/walkthrough.ipynb runs headless from top to bottom without an error, and shows its
figures whatever the environment says.

The test owns its kernel: a private kernel spec (argv = this interpreter) with a unique name,
written to a temporary directory put first on ``JUPYTER_PATH``. A ``python3`` kernel spec in the
user's home or on ``JUPYTER_PATH`` therefore never decides which Python runs the notebook, and
the kernel imports this checkout's jdmstats (``PYTHONPATH``).
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "analyses" / "walkthrough.ipynb"


def _private_kernel(root: Path) -> str:
    """Write a kernel spec running ``sys.executable`` under ``root/kernels``; return its name."""
    name = f"jdmstats-test-{uuid.uuid4().hex[:12]}"
    spec = root / "kernels" / name
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec.joinpath("kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": name, "language": "python"}), encoding="utf-8"
    )
    return name


def _run_walkthrough(tmp_path: Path, monkeypatch) -> list[dict]:
    """Execute the notebook with a private kernel; return every output of its code cells."""
    nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[test]' (nbformat)")
    nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[test]' (nbclient)")
    pytest.importorskip("ipykernel", reason="pip install -e '.[test]' (ipykernel)")

    private = tmp_path / "private-jupyter"
    name = _private_kernel(private)
    rest = os.environ.get("JUPYTER_PATH")
    monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join([str(private)] + ([rest] if rest else [])))
    pythonpath = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT)] + ([pythonpath] if pythonpath
                                                                      else [])))  # fmt: skip
    work = tmp_path / "work"
    work.mkdir()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name=name,
                                     resources={"metadata": {"path": str(work)}})  # fmt: skip
    client.execute()  # raises CellExecutionError on the first failing cell
    assert not (ROOT / "data" / "extraction" / "Demo2099.yaml").exists(), "never written to data/"
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def _check_outputs(outputs: list[dict]) -> None:
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("<table" in h for h in html), "results should render as HTML tables"
    assert any("image/png" in o.get("data", {}) for o in outputs), "the forest plot is drawn"
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "Demo2099" in text, "the fictitious demo study is added and shown"


def test_first_code_cell_sets_inline_backend():
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    first = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert "%matplotlib inline" in "".join(first["source"]).splitlines()


@pytest.mark.slow
def test_walkthrough_runs_with_mplbackend_agg(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")  # headless servers and CI runners set it
    _check_outputs(_run_walkthrough(tmp_path, monkeypatch))


@pytest.mark.slow
def test_walkthrough_ignores_a_broken_python3_kernel_spec(tmp_path, monkeypatch):
    jupyter_client = pytest.importorskip("jupyter_client.kernelspec")
    home, path = tmp_path / "home", tmp_path / "jupyter-path"
    data_dir = home / ".local" / "share" / "jupyter"
    broken = {"argv": [str(tmp_path / "no-such-python"), "-m", "ipykernel_launcher", "-f",
                       "{connection_file}"], "display_name": "broken", "language": "python"}
    for root in (path, data_dir):
        (root / "kernels" / "python3").mkdir(parents=True)
        (root / "kernels" / "python3" / "kernel.json").write_text(json.dumps(broken))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(data_dir))
    monkeypatch.setenv("JUPYTER_PATH", str(path))
    # the planted spec is what a plain kernel_name="python3" would start
    assert jupyter_client.KernelSpecManager().get_kernel_spec("python3").argv[0] == broken["argv"][0]
    _check_outputs(_run_walkthrough(tmp_path, monkeypatch))

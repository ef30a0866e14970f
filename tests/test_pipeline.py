"""The pipeline: step registry, progress, reproducibility, manifest and failing steps."""

from __future__ import annotations

import gc
import io
import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from jdmstats import datasets, pipeline
from jdmstats.outputs.steps import step_descriptive

FAST = ["descriptive", "prisma"]


class Tty(io.StringIO):
    def isatty(self):
        return True


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}  # fmt: skip


def test_steps_in_order():
    assert list(pipeline.STEPS) == ["descriptive", "prevalence", "delay", "response", "prisma"]


def test_two_runs_are_byte_identical(tmp_path):
    a = pipeline.run(out=tmp_path / "a", only=FAST, quiet=True)
    pipeline.run(out=tmp_path / "b", only=FAST, quiet=True)
    fa, fb = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert fa == fb
    assert {"figures/prisma.pdf", "figures/prisma.png", "tables/prisma.csv",
            "figures/MANIFEST.json"} <= set(fa)  # fmt: skip
    assert a[-1].name == "MANIFEST.json"
    pdf = fa["figures/prisma.pdf"]
    assert b"CreationDate" not in pdf and b"/FontFile2" in pdf  # no date; TrueType embedded


def test_manifest_records_data_hash_and_version(tmp_path):
    from jdmstats import __version__

    pipeline.run(out=tmp_path, only=FAST, quiet=True)
    manifest = json.loads((tmp_path / "figures" / "MANIFEST.json").read_text())
    fingerprint = pipeline.data_fingerprint(datasets.data_dir())
    assert set(manifest["data"]) == {fingerprint}
    assert "studies.csv" in manifest["data"][fingerprint]
    entry = manifest["files"]["figures/prisma.pdf"]
    assert entry["step"] == "prisma" and entry["data_sha256"] == fingerprint
    assert entry["jdmstats_version"] == __version__
    assert entry["sha256"] == pipeline.sha256_file(tmp_path / "figures" / "prisma.pdf")
    assert manifest["versions"]["matplotlib"]


def test_only_keeps_the_other_steps_in_the_manifest(tmp_path):
    pipeline.run(out=tmp_path, only=["prisma"], quiet=True)
    pipeline.run(out=tmp_path, only=["descriptive"], quiet=True)
    files = json.loads((tmp_path / "figures" / "MANIFEST.json").read_text())["files"]
    steps = {v["step"] for v in files.values()}
    assert {"prisma", "descriptive"} <= steps


def test_data_fingerprint_changes_with_the_data(tmp_path):
    import shutil

    copy = tmp_path / "h"
    shutil.copytree(datasets.data_dir(), copy)
    before = pipeline.data_fingerprint(copy)
    with open(copy / "studies.csv", "a", encoding="utf-8") as fh:
        fh.write("\n")
    assert pipeline.data_fingerprint(copy) != before


def test_progress_on_a_terminal_one_line_per_step_and_a_bar(tmp_path, monkeypatch):
    def slow(tables, out, progress=None):
        for b in range(6):
            progress(b, 5, "bootstrap")
        return []

    monkeypatch.setattr(pipeline, "STEPS", {"descriptive": step_descriptive,
                                            "slow": slow})  # fmt: skip
    tty = Tty()
    pipeline.run(out=tmp_path, stream=tty)
    lines = [seg for line in tty.getvalue().split("\n") for seg in line.split("\r")]
    assert any("descriptive" in s and "4 table(s)" in s for s in lines)
    assert any("[" in s and "5/5 bootstrap" in s for s in lines)  # the bar reached the end
    assert tty.getvalue().count("\n") == 2  # one finished line per step


@pytest.mark.parametrize("stream", [Tty(), io.StringIO()])
def test_quiet_prints_nothing(tmp_path, stream):
    pipeline.run(out=tmp_path, only=["descriptive"], quiet=True, stream=stream)
    assert stream.getvalue() == ""


@pytest.mark.parametrize("jobs", [1, 2])
def test_not_a_terminal_one_log_line_per_step_and_every_warning(tmp_path, monkeypatch, jobs):
    def noisy(tables, out, progress=None):
        progress(1, 2, "bootstrap")  # no bar in a log
        warnings.warn("k = 1: heterogeneity undefined", UserWarning, stacklevel=1)
        return []

    monkeypatch.setattr(pipeline, "STEPS", {"descriptive": step_descriptive,
                                            "noisy": noisy})  # fmt: skip
    log = io.StringIO()
    pipeline.run(out=tmp_path, stream=log, jobs=jobs)
    text = log.getvalue()
    assert "\r" not in text and "\x1b" not in text  # plain lines, no terminal control codes
    lines = text.splitlines()
    assert any(line.lstrip().startswith("descriptive") and "4 table(s)" in line
               and line.rstrip().endswith(" s") for line in lines)  # fmt: skip
    assert any(line.lstrip().startswith("noisy") for line in lines)
    assert "      UserWarning: k = 1: heterogeneity undefined" in lines
    assert len(lines) == 3  # two step lines and the warning


def test_progress_keyword_is_passed_to_steps_that_accept_it(tmp_path, monkeypatch):
    seen = []

    def step(tables, out, progress=None):
        seen.append(progress)
        progress(1, 2, "half")
        return []

    monkeypatch.setattr(pipeline, "STEPS", {"s": step})
    pipeline.run(out=tmp_path, quiet=True)
    assert isinstance(seen[0], pipeline.Progress) and not seen[0].enabled


def test_step_warnings_are_written_to_a_table(tmp_path, monkeypatch):
    def noisy(tables, out, progress=None):
        warnings.warn("k = 1: heterogeneity undefined", UserWarning, stacklevel=1)
        warnings.warn("library noise", DeprecationWarning, stacklevel=1)
        return []

    monkeypatch.setattr(pipeline, "STEPS", {"noisy": noisy})
    pipeline.run(out=tmp_path, quiet=True)
    text = (tmp_path / "tables" / "warnings.csv").read_text()
    assert "noisy,UserWarning,k = 1: heterogeneity undefined" in text
    assert "library noise" not in text


def test_unknown_step_lists_the_accepted_ones(tmp_path):
    with pytest.raises(ValueError, match="accepted: descriptive, prevalence"):
        pipeline.run(out=tmp_path, only=["prevalance"])


def test_extraction_folder_is_harmonised_first(tmp_path, source, write_source):
    write_source(source)
    pipeline.run(data=tmp_path / "extraction", out=tmp_path / "o", only=FAST, quiet=True)
    prisma = (tmp_path / "o" / "tables" / "prisma.csv").read_text()
    assert "sources included,1" in prisma


def test_full_run_removes_outputs_it_no_longer_makes(tmp_path, monkeypatch):
    def old(tables, out, progress=None):
        return [pipeline.write_table(tables["studies"].head(1), out / "tables" / "gone.csv")]

    monkeypatch.setattr(pipeline, "STEPS", {"descriptive": step_descriptive, "old": old})
    pipeline.run(out=tmp_path, quiet=True)
    (tmp_path / "tables" / "mine.csv").write_text("not made by jdmstats\n")
    monkeypatch.setattr(pipeline, "STEPS", {"descriptive": step_descriptive})
    pipeline.run(out=tmp_path, quiet=True)
    assert not (tmp_path / "tables" / "gone.csv").exists()
    assert (tmp_path / "tables" / "mine.csv").exists()  # never listed in a manifest: kept


# ------------------------------------------------------------------ parallel steps (--jobs)
def _slow_step(tables, out, progress=None):
    for b in range(4):
        progress(b, 3, "bootstrap")
    return [pipeline.write_table(tables["studies"].head(2), out / "tables" / "slow.csv")]


def _broken_step(tables, out, progress=None):
    raise RuntimeError("boom in a worker")


def test_parallel_and_sequential_runs_write_the_same_files(tmp_path):
    steps = FAST + ["delay"]
    pipeline.run(out=tmp_path / "seq", only=steps, quiet=True, jobs=1)
    pipeline.run(out=tmp_path / "par", only=steps, quiet=True, jobs=3)
    seq, par = _files(tmp_path / "seq"), _files(tmp_path / "par")
    assert seq == par
    assert "figures/delay_forest_or.pdf" in par and "tables/prisma.csv" in par


def test_parallel_failure_is_reported_and_the_other_steps_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "STEPS", {"descriptive": step_descriptive,
                                            "broken": _broken_step, "slow": _slow_step})  # fmt: skip
    with pytest.raises(pipeline.StepError, match="step 'broken' failed: RuntimeError: boom"):
        pipeline.run(out=tmp_path, quiet=True, jobs=2)
    files = json.loads((tmp_path / "figures" / "MANIFEST.json").read_text())["files"]
    assert {"tables/case_patients.csv", "tables/slow.csv"} <= set(files)
    assert not any(v["step"] == "broken" for v in files.values())
    assert gc.get_freeze_count() == 0  # the objects frozen for the workers are collectable again


def test_parallel_progress_shows_running_steps_bars_and_one_line_per_step(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "STEPS", {"descriptive": step_descriptive,
                                            "slow": _slow_step})  # fmt: skip
    tty = Tty()
    pipeline.run(out=tmp_path, stream=tty, jobs=2)
    text = tty.getvalue()
    segments = [seg for line in text.split("\n") for seg in line.split("\r")]
    assert any(s.startswith("  running: ") for s in segments)
    assert any(s.lstrip().startswith("slow") and "1 table(s)" in s for s in segments)
    assert any(s.lstrip().startswith("descriptive") and "4 table(s)" in s for s in segments)
    assert text.count("\n") == 2  # one finished line per step


def test_parallel_quiet_prints_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "STEPS", {"descriptive": step_descriptive,
                                            "slow": _slow_step})  # fmt: skip
    tty = Tty()
    pipeline.run(out=tmp_path, stream=tty, quiet=True, jobs=2)
    assert tty.getvalue() == ""


def test_preload_imports_with_the_collector_paused_and_restores_it(tmp_path, monkeypatch):
    from jdmstats.outputs import runner
    from jdmstats.outputs.steps import Step

    (tmp_path / "jdm_probe_module.py").write_text(
        "import gc\nENABLED_DURING_IMPORT = gc.isenabled()\n")  # fmt: skip
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(runner, "STEPS", {"probe": Step("probe", None, (), ("jdm_probe_module",))})
    assert gc.isenabled()
    runner._preload(["probe"])
    import jdm_probe_module

    assert jdm_probe_module.ENABLED_DURING_IMPORT is False and gc.isenabled()
    gc.disable()  # a caller that had paused it keeps it paused
    try:
        runner._preload(["probe"])
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_default_jobs(monkeypatch):
    import threading

    monkeypatch.setenv("JDMSTATS_JOBS", "3")
    assert pipeline.default_jobs() == 3
    monkeypatch.delenv("JDMSTATS_JOBS")
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:  # another thread is running (as in a Jupyter kernel): never fork
        assert pipeline.default_jobs() == 1
    finally:
        stop.set()
        thread.join()
    assert 1 <= pipeline.default_jobs() <= len(pipeline.STEPS)


@pytest.mark.parametrize("bad", ["0", "-2", "two"])
def test_cli_rejects_a_bad_jobs_value(bad, capsys):
    from jdmstats import cli

    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "--jobs", bad])
    assert exc.value.code == 2
    assert "expected a whole number >= 1" in capsys.readouterr().err


def test_prevalence_in_parallel_writes_what_a_sequential_run_writes(tmp_path):
    steps = ["prevalence", "descriptive"]
    pipeline.run(out=tmp_path / "seq", only=steps, quiet=True, jobs=1)
    pipeline.run(out=tmp_path / "par", only=steps, quiet=True, jobs=2)
    seq, par = _files(tmp_path / "seq"), _files(tmp_path / "par")
    assert seq == par
    assert {"tables/prevalence.csv", "tables/prevalence_exclusions.csv",
            "figures/prevalence_forest.pdf", "figures/prevalence_baujat.png"} <= set(par)  # fmt: skip


# ------------------------------------------------------------------ steps made of parts
def _staged(fail_part: bool = False):
    """A Step whose analysis and parts warn, write files and (optionally) fail."""
    from jdmstats.outputs.steps import Step

    def analyse(tables, progress=None):
        progress(1, 1, "fit")
        warnings.warn("from the analysis", UserWarning, stacklevel=1)
        return {"n": len(tables["studies"])}

    def first(res, out):
        warnings.warn("from part one", UserWarning, stacklevel=1)
        warnings.warn("from the analysis", UserWarning, stacklevel=1)  # the same: listed once
        return [pipeline.write_table(pd.DataFrame({"n": [res["n"]]}), out / "tables" / "one.csv")]

    def second(res, out):
        if fail_part:
            raise ValueError("a part broke")
        warnings.warn("from part two", UserWarning, stacklevel=1)
        return [pipeline.write_table(pd.DataFrame({"m": [2 * res["n"]]}), out / "tables" / "two.csv")]

    return Step("staged", analyse, (("one", first), ("two", second)))


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_step_of_parts_writes_its_files_and_warnings_in_declared_order(tmp_path, monkeypatch,
                                                                         jobs):  # fmt: skip
    monkeypatch.setattr(pipeline, "STEPS", {"descriptive": step_descriptive,
                                            "staged": _staged()})  # fmt: skip
    written = pipeline.run(out=tmp_path, quiet=True, jobs=jobs)
    names = [p.name for p in written]
    assert names.index("one.csv") < names.index("two.csv")
    n = len(datasets.load_studies())
    assert (tmp_path / "tables" / "two.csv").read_text() == f"m\n{2 * n}\n"
    rows = pd.read_csv(tmp_path / "tables" / "warnings.csv")
    staged = rows[rows["step"] == "staged"]["message"].tolist()
    assert staged == ["from the analysis", "from part one", "from part two"]
    files = json.loads((tmp_path / "figures" / "MANIFEST.json").read_text())["files"]
    assert files["tables/one.csv"]["step"] == "staged"


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_failing_part_fails_its_step_and_keeps_the_others(tmp_path, monkeypatch, jobs):
    monkeypatch.setattr(pipeline, "STEPS", {"descriptive": step_descriptive,
                                            "staged": _staged(fail_part=True)})  # fmt: skip
    with pytest.raises(pipeline.StepError, match="step 'staged' failed: ValueError: a part broke"):
        pipeline.run(out=tmp_path, quiet=True, jobs=jobs)
    files = json.loads((tmp_path / "figures" / "MANIFEST.json").read_text())["files"]
    assert "tables/case_patients.csv" in files
    assert not any(v["step"] == "staged" for v in files.values())


def test_a_step_called_directly_runs_its_analysis_and_every_part(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        written = _staged()(datasets.load_all(), tmp_path, progress=lambda *a: None)
    assert [p.name for p in written] == ["one.csv", "two.csv"]
    assert [str(w.message) for w in caught] == ["from the analysis", "from part one",
                                                "from the analysis", "from part two"]  # fmt: skip


# ------------------------------------------------------- the longest analysis starts early
def _early_step(tmp_path, behaviour: str = "ok"):
    """A Step (the longest, by COST) whose analysis records whether its part's module had
    been imported when it ran, reports progress, and may fail, die or refuse the data."""
    import os
    import sys

    from jdmstats.errors import DataValidationError, Problem
    from jdmstats.outputs.steps import Step

    (tmp_path / "jdm_probe_part.py").write_text("PART = True\n")

    def analyse(tables, progress=None):
        progress(1, 2, "early fit")
        if behaviour == "raise":
            raise ValueError("the early analysis broke")
        if behaviour == "die":
            os._exit(3)
        if behaviour == "invalid":
            raise DataValidationError([Problem("cohorts.csv", "2", "total", "-1", "must be >= 0")])
        return {"n": len(tables["studies"]), "part_imported": "jdm_probe_part" in sys.modules}

    def write(res, out):
        frame = pd.DataFrame({"n": [res["n"]], "part_imported": [res["part_imported"]]})
        return [pipeline.write_table(frame, out / "tables" / "early.csv")]

    return Step("early", analyse, (("table", write),), (), ("jdm_probe_part",))


@pytest.fixture
def early(tmp_path, monkeypatch):
    from jdmstats.outputs import runner

    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(runner, "COST", {"early": 5})

    def use(behaviour="ok"):
        monkeypatch.setattr(pipeline, "STEPS", {"descriptive": step_descriptive,
                                                "early": _early_step(tmp_path, behaviour)})  # fmt: skip

    yield use
    sys = __import__("sys")
    sys.modules.pop("jdm_probe_part", None)


def test_longest_analysis_runs_before_the_parts_modules_are_imported(tmp_path, early):
    import multiprocessing

    early()
    pipeline.run(out=tmp_path / "par", quiet=True, jobs=2)
    table = pd.read_csv(tmp_path / "par" / "tables" / "early.csv")
    n = len(datasets.load_studies())
    assert table.to_dict("records") == [{"n": n, "part_imported": False}]  # forked before
    assert multiprocessing.active_children() == []  # its process is reaped
    assert gc.get_freeze_count() == 0
    pipeline.run(out=tmp_path / "seq", quiet=True, jobs=1)  # one process: imported by now
    assert pd.read_csv(tmp_path / "seq" / "tables" / "early.csv")["part_imported"].tolist() == [True]


def test_longest_analysis_progress_reaches_the_board(tmp_path, early):
    early()
    tty = Tty()
    pipeline.run(out=tmp_path, stream=tty, jobs=2)
    text = tty.getvalue()
    assert "early fit" in text
    assert any(s.lstrip().startswith("early") and "1 table(s)" in s
               for line in text.split("\n") for s in line.split("\r"))  # fmt: skip


def test_longest_analysis_failing_fails_its_step_only(tmp_path, early):
    early("raise")
    with pytest.raises(pipeline.StepError,
                       match="step 'early' failed: ValueError: the early analysis broke"):
        pipeline.run(out=tmp_path, quiet=True, jobs=2)
    files = json.loads((tmp_path / "figures" / "MANIFEST.json").read_text())["files"]
    assert "tables/case_patients.csv" in files and "tables/early.csv" not in files


def test_longest_analysis_refusing_the_data_stops_the_run(tmp_path, early):
    from jdmstats.errors import DataValidationError

    early("invalid")
    with pytest.raises(DataValidationError, match="must be >= 0"):
        pipeline.run(out=tmp_path, quiet=True, jobs=2)
    assert not (tmp_path / "figures" / "MANIFEST.json").exists()


def test_longest_analysis_process_dying_is_an_error_not_a_hang(tmp_path, early):
    import multiprocessing

    early("die")
    with pytest.raises(RuntimeError, match=r"step 'early': the process running its analysis "
                                           r"ended without a result \(exit code 3\)"):
        pipeline.run(out=tmp_path, quiet=True, jobs=2)
    assert multiprocessing.active_children() == []
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize("styled", [False, True])
def test_only_drawing_tasks_import_matplotlib(styled):
    """The analysis of a Step runs without the figure style, so the process that starts it
    early needs no matplotlib; every other task runs with the style."""
    import subprocess
    import sys

    code = ("import sys; from jdmstats.outputs import runner; "
            f"v = runner._execute('x', lambda: 1, {styled}); "
            "print(v[0], v[2], 'matplotlib' in sys.modules)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "None", str(styled)]


@pytest.mark.parametrize("before", ["", "import matplotlib; matplotlib.use('svg'); "])
def test_cli_draws_off_screen_without_importing_matplotlib_early(before):
    import subprocess
    import sys

    code = (f"{before}import sys; from jdmstats import cli; cli._headless(); "
            "imported = 'matplotlib' in sys.modules; import matplotlib; "
            "print(imported, matplotlib.get_backend().lower())")  # fmt: skip
    env = {**__import__("os").environ, "MPLBACKEND": "svg"}  # overridden: the CLI draws to files
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=env)  # fmt: skip
    assert out.stdout.split() == [str(bool(before)), "agg"]


def test_data_validation_error_survives_pickling():
    """Workers send exceptions back pickled: the error keeps its problems and its message."""
    import pickle

    from jdmstats.errors import DataValidationError, FileProblem, Problem

    problems = [Problem("cohorts.csv", "2", "total", "-1", "must be >= 0"),
                FileProblem("arms.csv", "", "", "", "not found")]  # fmt: skip
    error = DataValidationError(problems, context="my data")
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is DataValidationError
    assert again.problems == problems and str(again) == str(error)
    assert str(again).startswith("2 problem(s) in my data:")

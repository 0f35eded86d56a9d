"""posture batch without video or pose model: discovery, the manifest's decisions, retries,
recovery after a kill between publishing and recording a result, the worker pool's lifetime,
the cohort files, and the command line's errors. (Real footage: tests/batch/test_batch_footage.py.)"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from posture._cli.main import main
from posture.batch import BatchLockedError, BatchOptions, run_batch
from posture.batch.discover import discover, read_people_csv
from posture.batch.engines import LocalEngine, local_workers
from posture.batch.manifest import Manifest, Status
from posture.batch.runner import PARTIAL_SENTINEL, _folder_name, _locked
from posture.config import Config
from posture.errors import InputError
from posture.options import AnalysisOptions
from tests.builders import text_archive
from tests.fakes import calls, fake_task

ROOT = Path(__file__).resolve().parents[2]


def _options(archive: Path, out: Path, **changes: object) -> BatchOptions:
    base = BatchOptions(
        inputs=(str(archive),), out=out, config=Config(), analysis=AnalysisOptions(report=False)
    )
    return BatchOptions(**{**base.__dict__, **changes})


def _run(archive: Path, out: Path, workers: int = 2, **changes: object):
    with LocalEngine(workers, fn=fake_task) as engine:
        return run_batch(_options(archive, out, **changes), engine=engine)


def _states(out: Path) -> dict[str, object]:
    with Manifest(out / "manifest.sqlite3") as m:
        return {s.rel: s for s in m.records()}


# --- discovery ---------------------------------------------------------------------------------


def test_discover_walks_folders_and_globs_once_each(tmp_path: Path) -> None:
    a = text_archive(
        tmp_path / "a",
        {
            "x.mp4": "ok",
            "sub/y.MOV": "ok",
            "sub/deep/z.avi": "ok",
            "notes.txt": "no",
            ".hidden/h.mp4": "ok",
            "results/r.mp4": "ok",
        },
    )
    found = discover([str(a), str(a / "x.mp4"), str(a / "sub" / "*.MOV")], exclude=[a / "results"])
    assert [r.rel for r in found] == ["sub/deep/z.avi", "sub/y.MOV", "x.mp4"]
    assert [r.person for r in found] == ["deep", "sub", "x"]
    glob_only = discover([str(a / "**" / "*.avi")])
    assert [(r.rel, r.person) for r in glob_only] == [("sub/deep/z.avi", "deep")]
    with pytest.raises(InputError, match="no such file or folder"):
        discover([str(tmp_path / "missing")])
    with pytest.raises(InputError, match="no files match"):
        discover([str(a / "*.mkv")])


def test_people_csv_and_folder_profiles_choose_person_and_baseline(tmp_path: Path) -> None:
    a = text_archive(tmp_path / "a", {"alice/mon.mp4": "ok", "alice/tue.mp4": "ok", "carol/wed.mp4": "ok"})
    (a / "carol" / "profile.json").write_text("{}", encoding="utf-8")
    (a / "good.jpg").write_bytes(b"jpg")
    csv_path = a / "people.csv"
    csv_path.write_text("file,person,baseline\nalice/mon.mp4,Alice A,good.jpg\nalice/tue.mp4,Alice A,\n")
    found = {r.rel: r for r in discover([str(a)], read_people_csv(csv_path))}
    assert found["alice/mon.mp4"].person == "Alice A"
    assert found["alice/mon.mp4"].baseline == (a / "good.jpg").resolve()
    assert found["alice/tue.mp4"].baseline is None
    assert found["carol/wed.mp4"].person == "carol"
    assert found["carol/wed.mp4"].baseline == (a / "carol" / "profile.json").resolve()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,who\nx.mp4,a\n", "needs the columns file,person"),
        ("file,person,baseline\nx.mp4,,\n", "line 2: both file and person"),
        ("file,person,baseline\nx.mp4,a,missing.jpg\n", "no such baseline file"),
        ("file,person\n", "has no rows"),
    ],
)
def test_bad_people_csv_is_bad_input(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "people.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        read_people_csv(path)


def test_result_folder_names_never_collide() -> None:
    taken: set[str] = set()
    names = []
    rels = [
        "s/clip.mp4",
        "s/clip.avi",
        "s/clip.mkv",
        "s/clip-avi.mp4",
        "s.mp4",
        "s/clip/x.mp4",
        "s/clip/x.avi",
    ]
    for rel in [*rels, "s/clip.mp4"]:
        names.append(_folder_name(rel, taken))
        taken.add(names[-1])
    # A recording named like a folder of recordings must not hold (or be held by) their results.
    assert names == [
        "s/clip",
        "s/clip-avi",
        "s/clip-mkv",
        "s/clip-avi-mp4",
        "s-mp4",
        "s__clip__x",
        "s__clip__x-avi",
        "s/clip-mp4",
    ]


def test_workers_at_most_one_per_core_and_as_memory_allows() -> None:
    assert local_workers(None, cores=4, memory_mb=8000) == 4
    assert local_workers(8, cores=2, memory_mb=8000) == 2
    assert local_workers(None, cores=8, memory_mb=900) == 2  # ~430 MB a worker
    assert local_workers(None, cores=2, memory_mb=100) == 1
    assert local_workers(None, cores=4, memory_mb=1000) == 2
    assert local_workers(1, cores=2, memory_mb=None) == 1


# --- runs, re-runs and the manifest ------------------------------------------------------------


@pytest.mark.slow
def test_rerun_skips_done_and_bad_retries_flaky_and_gives_up_on_crashes(tmp_path: Path) -> None:
    a = text_archive(
        tmp_path / "a",
        {
            "p1/ok1.mp4": "ok",
            "p1/ok2.mp4": "ok",
            "p2/bad.mp4": "bad",
            "p2/flaky.mp4": "flaky",
            "crash.mp4": "crash",
        },
    )
    out = tmp_path / "results"
    first = _run(a, out, max_attempts=2)
    assert first.analysed == 3 and first.recordings == 5
    states = _states(out)
    assert states["p1/ok1.mp4"].status is Status.DONE
    assert states["p2/flaky.mp4"].status is Status.DONE and states["p2/flaky.mp4"].failures == 1
    bad = states["p2/bad.mp4"]
    assert bad.status is Status.FAILED and not bad.retryable and "not a video" in (bad.error or "")
    crash = states["crash.mp4"]
    assert crash.status is Status.FAILED and crash.retryable and crash.failures == 2
    assert "worker process died" in (crash.error or "")
    assert dict(first.failed) == {"crash.mp4": crash.error, "p2/bad.mp4": bad.error}
    assert sorted(p.name for p in (out / "recordings").rglob("summary.json")) == ["summary.json"] * 3
    assert not any((out / ".partial").iterdir()) if (out / ".partial").exists() else True
    n_calls = {d: len(calls(d)) for d in (a, a / "p1", a / "p2")}

    second = _run(a, out, max_attempts=2)
    assert (second.analysed, second.skipped, second.recovered) == (0, 3, 0)
    assert {d: len(calls(d)) for d in (a, a / "p1", a / "p2")} == n_calls  # nothing analysed again

    # A changed file and a raised attempt limit: only those are analysed again.
    (a / "p1" / "ok2.mp4").write_text("ok\nchanged\n", encoding="utf-8")
    third = _run(a, out, max_attempts=3)
    assert third.analysed == 1
    assert calls(a / "p1").count("ok2.mp4") == 2
    assert calls(a).count("crash.mp4") == 3  # one more try, then left as failed
    assert _states(out)["crash.mp4"].failures == 3
    assert calls(a / "p2").count("bad.mp4") == 1  # bad input is not retried

    # Other options: everything that can be analysed is analysed again.
    fourth = _run(a, out, config=Config().replace("detector", hold_s=3.0), max_attempts=1)
    assert fourth.analysed == 3


@pytest.mark.slow
def test_kill_between_publishing_and_recording_loses_and_repeats_nothing(tmp_path: Path) -> None:
    a = text_archive(tmp_path / "a", {"one.mp4": "ok", "two.mp4": "ok", "three.mp4": "ok"})
    out = tmp_path / "results"
    _run(a, out)
    db = sqlite3.connect(out / "manifest.sqlite3")
    with db:
        # one.mp4: published, then killed before the manifest said done.
        db.execute("UPDATE recordings SET status='running' WHERE rel='one.mp4'")
        # two.mp4: killed while its result was being written; a stale folder without a stamp.
        db.execute("UPDATE recordings SET status='running' WHERE rel='two.mp4'")
    db.close()
    (out / "recordings" / "two" / "batch.json").unlink()
    (out / ".partial" / "two.deadbeef").mkdir(parents=True)  # as a killed run leaves it
    (out / ".partial" / PARTIAL_SENTINEL).write_text("posture batch writes results here\n")
    before = calls(a)

    result = _run(a, out)
    assert (result.recovered, result.analysed, result.skipped) == (1, 1, 1)
    assert calls(a)[len(before) :] == ["two.mp4"]
    assert all(s.status is Status.DONE for s in _states(out).values())
    assert sorted(p.parent.name for p in (out / "recordings").rglob("batch.json")) == ["one", "three", "two"]
    assert not (out / ".partial").exists()


def test_a_second_batch_on_the_same_results_is_refused(tmp_path: Path) -> None:
    a = text_archive(tmp_path / "a", {"one.mp4": "ok"})
    out = tmp_path / "results"
    out.mkdir()
    with _locked(out), pytest.raises(BatchLockedError, match="another posture batch"):
        _run(a, out)


def test_a_manifest_whose_disk_fills_up_mid_run_is_one_line(tmp_path: Path, monkeypatch) -> None:
    """SQLite's "database or disk is full" on a result (the machine's disk, not a seam of
    posture's) ends the batch with the one-line bad-input error, never "unexpected error"."""
    a = text_archive(tmp_path / "a", {"one.mp4": "ok", "two.mp4": "ok"})

    def full(*_args: object, **_kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Manifest, "mark_done", full)
    with pytest.raises(
        InputError, match=r"cannot update the batch manifest .*manifest\.sqlite3: database or disk is full"
    ):
        _run(a, tmp_path / "results", workers=1)


@pytest.mark.slow
def test_workers_die_with_the_driver(tmp_path: Path) -> None:
    a = text_archive(tmp_path / "a", {"slow.mp4": "slow 120"})
    script = (
        "import sys; from pathlib import Path\n"
        "from posture.batch import BatchOptions, run_batch\n"
        "from posture.options import AnalysisOptions\n"
        "from posture.batch.engines import LocalEngine\n"
        "from posture.config import Config\n"
        "from tests.fakes import fake_task\n"
        "with LocalEngine(1, fn=fake_task) as e:\n"
        "    run_batch(BatchOptions((sys.argv[1],), Path(sys.argv[2]), Config(), AnalysisOptions(report=False)), engine=e)\n"
    )
    driver = subprocess.Popen([sys.executable, "-c", script, str(a), str(tmp_path / "out")], cwd=ROOT)
    pid_file = a / "slow.mp4.pid"
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert pid_file.exists(), "the worker never started"
        worker = int(pid_file.read_text())
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
        deadline = time.monotonic() + 5
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(worker), "the worker outlived the driver"
    finally:
        if driver.poll() is None:
            driver.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


# --- cohort ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_cohort_csv_repeats_each_summary(tmp_path: Path) -> None:
    a = text_archive(tmp_path / "a", {"alice/one.mp4": "ok", "bob/two.mp4": "ok", "bob/bad.mp4": "bad"})
    out = tmp_path / "results"
    result = _run(a, out)
    with result.cohort_csv.open(encoding="utf-8") as fh:
        rows = {r["recording"]: r for r in csv.DictReader(fh)}
    assert set(rows) == {"alice/one.mp4", "bob/two.mp4", "bob/bad.mp4"}
    assert rows["bob/bad.mp4"]["status"] == "failed" and "not a video" in rows["bob/bad.mp4"]["error"]
    for rel in ("alice/one.mp4", "bob/two.mp4"):
        row = rows[rel]
        summary = json.loads((out / row["result"] / "summary.json").read_text(encoding="utf-8"))
        assert row["status"] == "ok" and row["person"] == rel.split("/")[0]
        assert float(row["duration_s"]) == summary["duration_s"]
        assert int(row["episodes"]) == summary["episodes"] == 1
        assert float(row["share_poor"]) == summary["share"]["poor"]
        assert float(row["poor_share_of_present"]) == summary["poor_share_of_present"]
        assert row["top_findings"].split(":")[0] == summary["top_finding"] == "forward_head"
    html = result.cohort_html.read_text(encoding="utf-8")
    assert html.count("<svg") == 3  # the group's two bar charts and the per-person chart
    assert "alice" in html and "bob" in html and "not a video" in html


# --- command line ------------------------------------------------------------------------------


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", str(tmp_path / "nothing"), "--out", str(tmp_path / "r")]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
    (tmp_path / "empty").mkdir()
    assert main(["batch", str(tmp_path / "empty"), "--out", str(tmp_path / "r")]) == 2
    assert "no videos found" in capsys.readouterr().err
    a = text_archive(tmp_path / "a", {"x.mp4": "ok"})
    for extra, message in [
        (["--workers", "0"], "--workers must be at least 1"),
        (["--max-attempts", "0"], "--max-attempts"),
        (["--ray-address", "x:1"], "--ray-address needs --engine ray"),
        (["--people", str(tmp_path / "none.csv")], "cannot read"),
    ]:
        assert main(["batch", str(a), "--out", str(tmp_path / "r"), *extra]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1


def test_ray_engine_without_ray_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    a = text_archive(tmp_path / "a", {"x.mp4": "ok"})
    assert main(["batch", str(a), "--out", str(tmp_path / "r"), "--engine", "ray", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1
        and 'pip install "posture-monitor[ray]"' in err
        and "pipx inject posture-monitor ray" in err
    )


@pytest.mark.slow
def test_nothing_but_the_ray_engine_imports_ray() -> None:
    code = (
        "import sys, posture._cli.main, posture._cli.analysis, posture.analysis, posture.pipeline, posture.batch, posture.batch.cohort\n"
        "assert 'ray' not in sys.modules, 'ray was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@pytest.mark.slow
def test_ctrl_c_stops_the_workers_and_the_next_run_finishes(tmp_path: Path) -> None:
    a = text_archive(tmp_path / "a", {"slow.mp4": "slow 120", "quick.mp4": "ok"})
    out = tmp_path / "out"
    script = (
        "import sys; from pathlib import Path\n"
        "from posture._cli.main import main\n"
        "import posture.batch.runner as r, posture.batch.engines as e\n"
        "from tests.fakes import fake_task\n"
        "r.LocalEngine = lambda n: e.LocalEngine(1, fn=fake_task)\n"
        "sys.exit(main(['batch', sys.argv[1], '--out', sys.argv[2], '--no-report', '--quiet']))\n"
    )
    driver = subprocess.Popen(
        [sys.executable, "-c", script, str(a), str(out)], cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    pid_file = a / "slow.mp4.pid"
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert pid_file.exists(), "the worker never started"
        worker = int(pid_file.read_text())
        driver.send_signal(signal.SIGINT)
        _, err = driver.communicate(timeout=30)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 130 and err.strip() == "posture: interrupted", err
    assert not _alive(worker)
    assert _states(out)["slow.mp4"].status is Status.INTERRUPTED  # and picked up next time
    assert not (out / ".partial").exists()
    (a / "slow.mp4").write_text("ok\n", encoding="utf-8")
    result = _run(a, out)
    assert result.failed == () and all(s.status is Status.DONE for s in _states(out).values())


@pytest.mark.slow
def test_ray_engine_reports_a_dead_worker_and_retries(tmp_path: Path) -> None:
    if importlib.util.find_spec("ray") is None:
        reason = 'Ray is not installed (pip install -e ".[dev,ray]")'
        if os.environ.get("POSTURE_REQUIRE_RAY") == "1":
            pytest.fail(f"POSTURE_REQUIRE_RAY=1 but {reason}")
        pytest.skip(reason)
    from posture.batch.ray_engine import RayEngine

    a = text_archive(
        tmp_path / "a", {"ok.mp4": "ok", "flaky.mp4": "flaky", "crash.mp4": "crash", "bad.mp4": "bad"}
    )
    out = tmp_path / "results"
    with RayEngine(2, fn=fake_task) as engine:
        assert engine.workers == 2
        result = run_batch(_options(a, out, max_attempts=2), engine=engine)
    states = _states(out)
    assert result.analysed == 2 and result.engine == "ray"
    assert states["flaky.mp4"].status is Status.DONE and states["flaky.mp4"].failures == 1
    assert states["crash.mp4"].status is Status.FAILED and states["crash.mp4"].failures == 2
    assert "Ray worker died" in (states["crash.mp4"].error or "")
    assert states["bad.mp4"].status is Status.FAILED and not states["bad.mp4"].retryable
    assert calls(a).count("crash.mp4") == 2 and calls(a).count("ok.mp4") == 1


@pytest.mark.slow
def test_people_csv_naming_files_not_found_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    a = text_archive(tmp_path / "a", {"alice/one.mp4": "ok"})
    people = tmp_path / "people.csv"
    people.write_text(
        "file,person,baseline\na/alice/one.mp4,Alice,\na/alice/gone.mp4,Alice,\n", encoding="utf-8"
    )
    result = _run(a, tmp_path / "results", people_csv=people)
    assert result.analysed == 1 and _states(tmp_path / "results")["alice/one.mp4"].person == "Alice"
    assert any("names 1 file(s) that are not among the recordings" in r.getMessage() for r in caplog.records)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.slow
@pytest.mark.parametrize(
    ("terminal", "quiet", "bar"), [(True, False, True), (True, True, False), (False, False, False)]
)
def test_one_progress_bar_on_a_terminal_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, terminal: bool, quiet: bool, bar: bool
) -> None:
    import posture.batch.runner as runner

    monkeypatch.setattr(runner, "LocalEngine", lambda n: LocalEngine(1, fn=fake_task))
    err = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    a = text_archive(tmp_path / "a", {"one.mp4": "ok", "two.mp4": "ok", "bad.mp4": "bad"})
    out = io.StringIO()
    args = ["batch", str(a), "--out", str(tmp_path / "r"), "--no-report", *(["--quiet"] if quiet else [])]
    assert main(args, stdout=out) == 1  # bad.mp4 failed
    assert "3 recording(s): 2 analysed now" in out.getvalue()
    shown = err.getvalue()
    if bar:
        assert "recordings: 100%" in shown and "3/3" in shown and "1 failed" in shown and "video-s/s" in shown
        # a small archive's video time in seconds, not "video 0.00 h"
        assert re.search(r"video \d+(\.\d)? s, ", shown) and " h, " not in shown, shown
    else:  # no bar: only the one line of the recording that failed
        assert shown.startswith("posture: failed: bad.mp4: ") and shown.count("\n") == 1, shown


# --- the options ---------------------------------------------------------------------------------


def test_the_stored_options_of_a_batch_are_those_batches_stored_before() -> None:
    """A batch started before AnalysisOptions keeps its options' hash, so nothing is analysed again."""
    import dataclasses

    from posture import __version__
    from posture.batch.runner import _hash, _options_document

    options = BatchOptions(("a",), Path("o"), Config(), AnalysisOptions(calibrate_first_s=5.0, report=False))
    before = {  # what _options_document wrote when the options were BatchOptions' own fields
        "posture": __version__,
        "config": json.loads(json.dumps(dataclasses.asdict(Config()), default=str)),
        "calibrate_first_s": 5.0,
        "annotate": False,
        "report": False,
        "key_frames": True,
    }
    assert _options_document(options) == before
    credited = dataclasses.replace(options, analysis=AnalysisOptions(annotate=True, annotate_fps=5.0))
    assert _options_document(credited)["annotate_fps"] == 5.0  # it decides the result: in the hash
    assert _hash(_options_document(credited)) != _hash(before)


def test_each_recording_runs_on_one_core_without_history_with_its_own_baseline(tmp_path: Path) -> None:
    import functools

    from posture.batch.task import analyse_recording
    from tests.fakes import SerialEngine, fake_run_analysis

    seen: dict[str, AnalysisOptions] = {}

    def spy(video: Path, out_dir: Path, config: Config, options: AnalysisOptions):  # type: ignore[no-untyped-def]
        seen[video.name] = options
        return fake_run_analysis(video, out_dir, config, options)

    a = text_archive(tmp_path / "a", {"alice/one.mp4": "ok", "bob/two.mp4": "ok"})
    (a / "alice" / "profile.json").write_text("{}", encoding="utf-8")  # alice's folder baseline
    run_batch(
        _options(a, tmp_path / "r"), engine=SerialEngine(functools.partial(analyse_recording, analyse=spy))
    )
    assert seen["one.mp4"].baseline == (a / "alice" / "profile.json").resolve()
    assert seen["two.mp4"].baseline is None
    assert all(o.workers == 1 and not o.history and not o.report for o in seen.values())


def test_a_recordings_own_baseline_with_calibrate_first_fails_that_recording_alone(tmp_path: Path) -> None:
    from tests.fakes import SerialEngine

    a = text_archive(tmp_path / "a", {"alice/one.mp4": "ok", "bob/two.mp4": "ok"})
    (a / "alice" / "profile.json").write_text("{}", encoding="utf-8")
    options = _options(a, tmp_path / "r", analysis=AnalysisOptions(calibrate_first_s=3.0, report=False))
    result = run_batch(options, engine=SerialEngine())
    states = _states(tmp_path / "r")
    assert result.analysed == 1 and states["bob/two.mp4"].status is Status.DONE
    one = states["alice/one.mp4"]
    assert one.status is Status.FAILED and not one.retryable
    assert one.error == "use either baseline or calibrate_first_s, not both"

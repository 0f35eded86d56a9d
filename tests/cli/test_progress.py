"""The progress display of analyze and demo: every stage named, never 100 % while work remains."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest

from posture._cli.analysis import _Progress
from posture._cli.main import main
from posture.results import ANALYSING, REPORT, VIDEO, Stage
from tests.builders import write_video
from tests.fakes import Script, ScriptedEstimators


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _renders(text: str) -> list[str]:
    """Each state of the bar as the terminal showed it (tqdm redraws the line after a carriage return)."""
    return [r.strip() for r in re.split(r"[\r\n]", text) if "%|" in r]


def _percent(render: str) -> int:
    return int(re.search(r"(\d+)%\|", render).group(1))  # type: ignore[union-attr]


def test_the_bar_names_each_stage_and_reaches_100_only_when_the_run_returned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    err = _Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    bar = _Progress(True)
    bar.plan([Stage(ANALYSING, 64.0, "s", 6.0), Stage(VIDEO, 64.0, "s", 8.0), Stage(REPORT, 1.0, "", 1.0)])
    for t in (10.0, 40.0, 64.0):
        bar.advance(ANALYSING, t)
    bar.finish(ANALYSING)
    bar.finish(REPORT)  # the report is written alongside the video and may end first
    for t in (20.0, 64.0):
        bar.advance(VIDEO, t)
    bar.finish(VIDEO)  # every stage is done, but the run has not returned yet
    before = _renders(err.getvalue())
    bar.complete()
    bar.close()
    after = _renders(err.getvalue())[len(before) :]

    assert max(_percent(r) for r in before) == 99
    assert all(_percent(r) < 100 for r in before)
    assert [r for r in after if _percent(r) == 100] and after[-1].startswith("done")
    names = [r.split(":")[0].split(" (")[0] for r in before]
    assert names.index(ANALYSING) < names.index(VIDEO)
    assert "analysing (10/64 s of video)" in err.getvalue()
    assert names[-1] == "finishing"  # every stage done, the files not yet in place
    percents = [_percent(r) for r in before]
    assert percents == sorted(percents)  # never backwards


def test_a_report_that_outlasts_the_video_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    err = _Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    bar = _Progress(True)
    bar.plan([Stage(ANALYSING, 8.0, "s", 1.0), Stage(VIDEO, 8.0, "s", 1.0), Stage(REPORT, 1.0, "", 1.0)])
    bar.finish(ANALYSING)
    bar.finish(VIDEO)
    assert _renders(err.getvalue())[-1].startswith("report:  6")  # two of three stages: 2/3, not 100 %
    bar.finish(REPORT)
    bar.close()
    assert all(_percent(r) < 100 for r in _renders(err.getvalue()))


def test_no_bar_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    bar = _Progress(True)
    bar.plan([Stage(ANALYSING, 2.0, "s", 1.0)])
    bar.advance(ANALYSING, 2.0)
    bar.finish(ANALYSING)
    bar.complete()
    bar.close()
    assert err.getvalue() == ""


@pytest.mark.slow
def test_analyze_with_annotate_shows_every_stage_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTURE_DATA_DIR", str(tmp_path / "data"))
    err = _Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    video = write_video(tmp_path / "clip.avi", seconds=2.0)
    argv = ["analyze", str(video), "--out", str(tmp_path / "out"), "--annotate", "--no-history"]
    assert main(argv, stdout=io.StringIO(), estimators=ScriptedEstimators(Script(((60.0, None),)))) == 0
    renders = _renders(err.getvalue())
    shown = {r.split(":")[0].split(" (")[0] for r in renders}
    # (the report is written alongside the video: it is named only when it outlasts the video)
    assert {ANALYSING, VIDEO, "done"} <= shown, renders
    assert all(_percent(r) < 100 for r in renders if not r.startswith("done")), renders
    assert _percent(renders[-1]) == 100

"""The pipeline with a fake source and a scripted estimator: no MediaPipe, no files."""

from __future__ import annotations

import numpy as np
import pytest

from posture.config import Config
from posture.geometry import View
from posture.metrics import measure
from posture.pipeline import Pipeline
from posture.reading import Verdict
from posture.smoothing import MetricSmoother, OneEuroFilter
from posture.summary import durations_s, events_document, session_summary
from tests.builders import side_pose, write_video


def _run(script, config: Config | None = None, fps: float = 10.0):
    """Feed (duration_s, pose-or-None) segments through a Session at ``fps``."""
    config = config or Config()
    session = Pipeline(config).session()
    readings, events = [], []
    t = 0.0
    for duration, pose in script:
        for _ in range(round(duration * fps)):
            reading, evs = session.step(t, measure(pose, config.metrics))
            readings.append(reading)
            events.extend(evs)
            t += 1.0 / fps
    events.extend(session.finish(t))
    return readings, events, session


GOOD = side_pose(trunk_deg=-8.0, neck_deg=8.0, pitch_deg=10.0)
SLOUCH = side_pose(trunk_deg=-5.0, neck_deg=25.0, pitch_deg=28.0)


def test_nobody_frames_are_away_and_never_alert() -> None:
    readings, events, _ = _run([(5.0, None)], Config().replace("detector", hold_s=1.0))
    assert {r.posture for r in readings} == {Verdict.AWAY}
    assert not any(r.alert for r in readings)
    assert not [e for e in events if e.kind == "alert"]


@pytest.mark.slow
def test_sustained_slouch_alerts_after_the_hold_and_glance_does_not() -> None:
    config = Config().replace("detector", hold_s=3.0)
    readings, events, session = _run(
        [(10.0, GOOD), (1.0, SLOUCH), (10.0, GOOD), (8.0, SLOUCH), (10.0, GOOD)], config
    )
    alerts = [e for e in events if e.kind == "alert"]
    assert len(alerts) == 1
    assert 23.0 <= alerts[0].t_s <= 24.2  # slouch starts at 21 s, hold 3 s (smoothing may add a frame)
    assert len(session.detector.episodes) == 1
    ep = session.detector.episodes[0]
    assert "forward_head" in ep.findings
    assert any(r.alert for r in readings)
    assert not any(r.alert for r in readings if r.t_s < 21.0)


def test_metrics_are_smoothed_in_time() -> None:
    filt = OneEuroFilter(min_cutoff_hz=1.0, beta=0.0)
    values = [filt.update(i / 10.0, 10.0 + (1 if i % 2 else -1)) for i in range(50)]
    assert max(values[20:]) - min(values[20:]) < 1.0  # ±1 of jitter shrinks a lot at 1 Hz
    smoother = MetricSmoother(3.0, 0.1)
    assert smoother.update(0.0, {"a": 1.0, "b": None}) == {"a": 1.0, "b": None}
    out = smoother.update(5.0, {"a": 20.0})  # after a long gap the filter restarts
    assert out["a"] == pytest.approx(20.0)


def test_summary_shares_and_episodes() -> None:
    config = Config().replace("detector", hold_s=2.0)
    readings, _, session = _run([(6.0, GOOD), (6.0, SLOUCH), (4.0, None)], config)
    summary = session_summary(readings, session.detector.episodes, step_s=0.1)
    assert summary.duration_s == pytest.approx(16.0, abs=0.2)
    assert summary.share["away"] == pytest.approx(0.25, abs=0.02)
    assert summary.time_s["poor"] == pytest.approx(6.0, abs=0.5)
    assert summary.top_finding == "forward_head"
    # Why it was poor: all six seconds against the habit learnt in the upright stretch before.
    why = summary.finding_reasons["forward_head"]
    assert set(why["time_s"]) == {"habit"} and why["time_s"]["habit"] == pytest.approx(6.0, abs=0.5)
    lo, hi = why["limits"]["head_forward_deg"]
    assert lo <= hi and lo > 0
    assert summary.episodes == 1
    assert summary.metrics["neck_inclination_deg"]["n"] == 120
    doc = events_document(session.detector.episodes, lambda code: (code, "breaks"))
    assert doc["episodes"][0]["advice"][0] == "forward_head"
    assert "breaks" in doc["episodes"][0]["advice"]


def test_the_timeline_says_why_each_frame_was_judged_as_it_was() -> None:
    import csv
    import io

    from posture.outputs.timeline import write_timeline

    config = Config().replace("detector", hold_s=2.0)
    readings, _, _ = _run([(6.0, GOOD), (6.0, SLOUCH)], config)
    buf = io.StringIO()
    write_timeline(readings, buf)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    poor = [row for row in rows if row["posture"] == "poor"]
    assert poor and all(row["reason"].startswith("forward_head: head_forward_deg") for row in poor)
    assert all("(this session's habit)" in row["reason"] for row in poor)
    assert all(row["reason"] == "" for row in rows if float(row["t_s"]) < 1.0)


def test_durations_cap_long_gaps_as_the_detector_does() -> None:
    """A gap counts up to twice the sample step or 2 s (posture.detector.gap_limit_s)."""
    from posture.reading import Reading

    rs = [Reading(t, True, View.SIDE, {}, {}, Verdict.GOOD) for t in (0.0, 0.1, 10.0)]
    assert np.allclose(durations_s(rs, 0.1), [0.1, 2.0, 0.1])
    # A slow sampling's readings stand for their whole step, though the last one is cut short
    # by the end of the video.
    rs = [Reading(t, True, View.SIDE, {}, {}, Verdict.GOOD) for t in (0.0, 10.0, 20.0, 30.0)]
    assert np.allclose(durations_s(rs, 1.0, sample_step_s=10.0), [10.0, 10.0, 10.0, 1.0])


def test_view_flicker_is_held_but_a_lasting_change_goes_through() -> None:
    from posture.smoothing import StickyLabel

    label = StickyLabel(1.0)
    assert label.update(0.0, "side") == "side"
    assert label.update(0.1, "oblique") == "side"
    assert label.update(0.2, "side") == "side"
    assert label.update(0.3, "oblique") == "side"
    assert label.update(1.0, "oblique") == "side"
    assert label.update(1.35, "oblique") == "oblique"


MILD = side_pose(trunk_deg=-6.0, neck_deg=22.0, pitch_deg=25.0)  # under the absolute limits


def test_habitual_reference_flags_a_clear_slouch_for_this_person() -> None:
    """After a stretch of their own upright posture, a slouch plain for this person but under the
    limits set for everyone is poor; met cold (no upright frames seen yet), it is not."""
    readings, _, _ = _run([(10.0, GOOD), (10.0, MILD)])
    late = [r for r in readings if r.t_s >= 12.0]
    assert all(r.posture is Verdict.POOR for r in late)
    assert late[-1].findings["forward_head"] >= 1.0
    cold, _, _ = _run([(10.0, MILD)])
    assert all(r.posture is Verdict.GOOD for r in cold)


def test_habitual_reference_is_not_taught_by_poor_frames() -> None:
    slouch = side_pose(trunk_deg=-5.0, neck_deg=35.0, pitch_deg=28.0)  # poor on the absolute limit
    readings, _, session = _run([(20.0, slouch)])
    assert all(r.posture is Verdict.POOR for r in readings[5:])
    assert session.analyzer._habit is not None and session.analyzer._habit.values is None


def test_habitual_reference_does_not_learn_a_slouch_it_flags() -> None:
    """Two minutes of a mild slouch after one of upright sitting: it stays poor throughout, since
    frames it flags never teach the reference."""
    slouch = side_pose(trunk_deg=-4.0, neck_deg=24.0, pitch_deg=25.0)
    readings, _, _ = _run([(60.0, GOOD), (120.0, slouch)], fps=2.0)
    late = [r for r in readings if r.t_s >= 65.0]
    assert late and all(r.posture is Verdict.POOR for r in late)


SACRAL = side_pose(trunk_deg=-22.0, neck_deg=8.0, pitch_deg=0.0)  # slumped, pelvis slid forward
UPRIGHT = side_pose(trunk_deg=-6.0, neck_deg=6.0, pitch_deg=0.0)


def test_a_session_that_starts_slumped_never_takes_the_slump_for_upright() -> None:
    """A session beginning in a slump: the slump is poor by everyone's limits, teaches the
    habit nothing, and the upright sitting that follows is good on every frame."""
    readings, _, session = _run([(20.0, SACRAL), (30.0, UPRIGHT)])
    slump = [r for r in readings if r.t_s < 20.0]
    upright = [r for r in readings if r.t_s >= 20.0]
    assert all(r.posture is Verdict.POOR for r in slump[3:])
    assert all(r.posture is Verdict.GOOD for r in upright)
    habit = session.analyzer._habit.values
    assert habit is not None and habit["trunk_inclination_deg"] == pytest.approx(-6.0, abs=1.0)


def test_a_session_that_starts_in_a_mild_slouch_learns_only_the_upright_sitting() -> None:
    """A mild slouch that everyone's limits call good teaches the habit nothing either: only
    frames inside the narrow band of clearly upright sitting do."""
    readings, _, session = _run([(30.0, MILD)])
    assert session.analyzer._habit.values is None
    assert all(r.posture is Verdict.GOOD for r in readings)
    readings, _, _ = _run([(30.0, MILD), (20.0, UPRIGHT), (20.0, MILD)])
    assert all(r.posture is Verdict.GOOD for r in readings if 30.0 <= r.t_s < 50.0)
    assert all(r.posture is Verdict.POOR for r in readings if r.t_s >= 51.0)


# -- the whole pipeline over a video, with the scripted estimator ------------------------------------


def test_a_video_with_a_slouch_gives_one_alerting_episode(tmp_path, scripted) -> None:
    clip = write_video(tmp_path / "clip.avi", seconds=12.0)
    config = Config().replace("detector", hold_s=2.0)
    pipeline = Pipeline(config, estimators=scripted((4.0, GOOD), (5.0, SLOUCH), (3.0, GOOD)))
    result = pipeline.analyze_video(clip)
    assert result.model == "scripted"
    assert len(result.readings) == len(result.poses) == pytest.approx(12.0 * 5, abs=2)
    assert [next(iter(e.findings)) for e in result.episodes] == ["forward_head"]
    episode = result.episodes[0]
    assert 4.0 <= episode.start_s <= 4.6 and 8.9 <= episode.end_s <= 9.8
    poor = [r.t_s for r in result.readings if r.posture is Verdict.POOR]
    # refine: the frames between two samples whose verdicts differ are estimated too
    assert min(poor) == pytest.approx(4.0, abs=0.11)


def test_nobody_in_the_video_is_away_and_calibration_from_it_is_refused(tmp_path, scripted) -> None:
    from posture.errors import BaselineError

    clip = write_video(tmp_path / "empty.avi", seconds=3.0)
    pipeline = Pipeline(Config(), estimators=scripted((3.0, None)))
    assert {r.posture for r in pipeline.analyze_video(clip).readings} == {Verdict.AWAY}
    with pytest.raises(BaselineError):
        pipeline.analyze_video(clip, calibrate_first_s=1.0)


@pytest.mark.slow
def test_two_workers_mean_the_same_as_one(tmp_path, scripted) -> None:
    clip = write_video(tmp_path / "clip.avi", seconds=24.0)
    pipeline = Pipeline(
        Config().replace("detector", hold_s=2.0),
        estimators=scripted((10.0, GOOD), (6.0, SLOUCH), (8.0, GOOD)),
    )
    one, two = pipeline.analyze_video(clip, workers=1), pipeline.analyze_video(clip, workers=2)
    assert two.workers == 2
    assert [r.posture for r in one.readings] == [r.posture for r in two.readings]
    assert [(e.start_s, e.end_s) for e in one.episodes] == [(e.start_s, e.end_s) for e in two.episodes]


def test_each_stage_gets_its_own_section() -> None:
    config = Config().replace("detector", hold_s=7.0)
    pipeline = Pipeline(config)
    session = pipeline.session()
    assert session.detector.config is config.detector
    assert session.analyzer.metrics is config.metrics
    assert not hasattr(session.analyzer, "config")


def test_the_sample_step_has_one_home() -> None:
    from pathlib import Path

    from posture.reading import Reading
    from posture.results import AnalysisResult
    from posture.sources.media import VideoInfo

    info = VideoInfo(640, 480, 25.0, 250)
    assert info.sample_step_s(None) == info.sample_step_s(0) == pytest.approx(0.04)  # every frame
    assert info.sample_step_s(4.0) == 0.25
    assert VideoInfo(640, 480, 0.0, 0).sample_step_s(None) == pytest.approx(1 / 30)  # fps unknown
    readings = [Reading(t, True, View.SIDE, {}, {}, Verdict.GOOD) for t in (1.0, 1.5, 2.0)]
    result = AnalysisResult(Path("v.mp4"), info, "m", 2.0, readings=readings)
    assert result.step_s == 0.5
    assert result.duration_s == pytest.approx(1.5)  # the last reading stands for one step too
    assert AnalysisResult(Path("v.mp4"), info, "m", None, readings=readings).duration_s == pytest.approx(1.04)


def test_the_analysis_result_is_plain_json_without_landmarks(tmp_path, scripted) -> None:
    import json

    clip = write_video(tmp_path / "clip.avi", seconds=6.0)
    pipeline = Pipeline(
        Config().replace("detector", hold_s=1.0), estimators=scripted((2.0, GOOD), (4.0, SLOUCH))
    )
    result = pipeline.analyze_video(clip, calibrate_first_s=1.5)
    data = json.loads(json.dumps(result.to_json()))
    assert data["model"] == "scripted" and data["calibrated_from"] == "first 1.5 s"
    assert len(data["readings"]) == len(result.readings) and "xy_px" not in json.dumps(data)
    assert [e["kind"] for e in data["events"]][:2] == ["episode_start", "alert"]
    assert data["episodes"] == [e.to_dict() for e in result.episodes]


@pytest.mark.parametrize(
    ("name", "content"),
    [("recording.bin", b"\0" * (2 << 20)), ("notes.txt", "caf\u00e9".encode("latin-1"))],
)
def test_a_baseline_that_is_neither_image_nor_profile_is_refused(tmp_path, name: str, content: bytes) -> None:
    """A large file (a video given by mistake) is refused by its size, never read into memory."""
    from posture.errors import BaselineError

    spec = tmp_path / name
    spec.write_bytes(content)
    with pytest.raises(BaselineError, match="neither an image nor a baseline profile"):
        Pipeline(Config()).load_baseline(spec)

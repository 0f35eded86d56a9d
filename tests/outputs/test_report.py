"""report.html from hand-built readings and episodes (no MediaPipe), plus one real-footage report."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pytest

from posture.advice import WARNING_TOPIC, load_catalogue
from posture.baseline import Baseline
from posture.config import Config, FindingRules
from posture.detector import Episode, FindingStats
from posture.findings import FINDING_CODES
from posture.outputs.report import (
    MAX_CHART_POINTS,
    build_report_data,
    decimate,
    fixed_limits,
    key_moments,
    render_report,
    write_report,
)
from posture.outputs.session_files import analysis_summary
from posture.reading import Verdict, View
from tests.builders import EVIL_SOURCE, SESSION_FPS, make_result, render, side_reading, side_session, text_of


@pytest.fixture(scope="module")
def side_page() -> str:
    readings, episodes = side_session()
    return render(make_result(readings, episodes), key_frames=False)


def assert_self_contained(page: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "<link " not in page
    assert "<script" not in page.lower()
    assert "@import" not in page
    assert not re.search(r"url\(\s*['\"]?(?!#)", page)  # clip paths use url(#id) only


@pytest.mark.slow
def test_page_has_charts_header_and_headlines(side_page: str) -> None:
    assert side_page.startswith("<!DOCTYPE html>")
    assert side_page.count("<svg") == 3  # timeline, time per verdict, time over threshold
    assert "<?xml" not in side_page and "<!DOCTYPE svg" not in side_page
    text = text_of(side_page)
    for label in ("Source", "Analysed", "Duration", "View", "Frames analysed", "Calibration", "Model"):
        assert label in text
    assert "600 at 10 frames per second of a 30 fps video" in text
    assert "hand-built readings" in text
    # Poor 15 s + 2 s of 52 s present.
    assert "Poor posture 33 %" in text
    assert "Sustained episodes 1" in text
    assert "Top finding Head carried forward" in text


def test_timeline_chart_has_titles_axes_legend_and_thresholds(side_page: str) -> None:
    svg = re.search(r"<svg.*?</svg>", side_page, re.S).group(0)
    for piece in (
        "Neck and upper back over time",
        "Neck inclination",
        "Trunk inclination",
        "Head forward",
        "time since start (s)",
        "angle (°)",
        "Neck flexion",
        "everyone's limit (poor beyond)",
        "limit from this session's habit (poor beyond)",
        "poor posture, by this measure",
        "alert (sustained)",
        "away",
        "head forward 31°",  # FindingRules().forward_head_deg.limit, on the neck inclination
        "head forward 24°",  # the habit's limit, on the head-forward panel where it flagged
        "upper back hunched 23°",
    ):
        assert piece in svg, piece
    assert "<text" in svg  # svg.fonttype = none: text stays text
    assert len(svg) < 200_000


def test_episode_table_rows_link_to_advice(side_page: str) -> None:
    rows = re.findall(r'<tr class="episode">(.*?)</tr>', side_page, re.S)
    assert len(rows) == 1
    row = text_of(rows[0])
    assert "0:10.0" in row and "0:25.0" in row and "15 s" in row
    assert "0:15.0 (after 5.0 s)" in row
    assert "peak 2.3 / mean 1.9" in row
    assert 'href="#advice-forward_head"' in rows[0]
    assert 'id="advice-forward_head"' in side_page


def test_advice_only_for_findings_that_occurred(side_page: str) -> None:
    cat = load_catalogue()
    text = text_of(side_page)
    fh = cat.topic("forward_head")
    assert fh.summary in text
    assert fh.body.splitlines()[0] in text  # the body, not only the summary
    for code in FINDING_CODES:
        if code == "forward_head":
            continue  # hunched_back reached 0.7 only: no advice for it
        topic = cat.topic(code)
        assert f'id="advice-{code}"' not in side_page
        assert topic.summary not in text


def test_warning_signs_attribution_and_disclaimer_always_present(side_page: str) -> None:
    cat = load_catalogue()
    text = text_of(side_page)
    warning = cat.topic(WARNING_TOPIC)
    assert f'id="advice-{WARNING_TOPIC}"' in side_page
    assert warning.title in text and warning.summary in text
    assert "you cannot pass urine" in text  # a bullet of the body
    for key in ("title", "author", "updated"):
        assert cat.source[key] in text
    assert "does not diagnose" in text
    assert cat.topic("about").summary in text


def test_method_section_lists_settings_and_thresholds(side_page: str) -> None:
    method = text_of(side_page.split('id="method"', 1)[1])
    assert "One Euro filter" in method
    assert "ISO 11226" in method
    assert "21° 31°" in method  # head forward band (neck inclination)
    assert "None: every metric shown was measured from a side view" in method


def test_page_loads_nothing_external(side_page: str) -> None:
    assert_self_contained(side_page)
    assert "This report contains no pictures from the video" in text_of(side_page)


def test_source_path_is_escaped(side_page: str) -> None:
    assert "<script>alert(1)</script>" not in side_page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;co.mp4" in side_page
    assert str(EVIL_SOURCE) in text_of(side_page)


def test_empty_session_all_away_still_renders() -> None:
    readings = [side_reading(i / SESSION_FPS, Verdict.AWAY) for i in range(100)]
    page = render(make_result(readings), key_frames=False)
    text = text_of(page)
    assert "Nobody was in view" in text
    assert "No neck or upper-back angle could be measured" in text
    assert "No sustained episode" in text
    assert "No posture finding reached its threshold" in text
    assert "Away 100 %" in text
    assert f'id="advice-{WARNING_TOPIC}"' in page
    assert page.count("<svg") == 1  # time per verdict still shows where the time went
    assert_self_contained(page)


def test_session_without_readings_renders() -> None:
    page = render(make_result([]), key_frames=False)
    assert "The video had no frames to analyse" in text_of(page)
    assert "<svg" not in page
    assert_self_contained(page)


@pytest.mark.slow
def test_front_view_with_baseline_charts_estimates_against_the_baseline() -> None:
    baseline = Baseline(
        view=View.FRONT,
        values={"shoulder_tilt_deg": 2.0, "face_width_frac": 0.1, "head_height_ratio": 0.5},
        frames=50,
    )
    est = frozenset({"face_scale_pct", "head_drop_pct"})
    readings = []
    for i in range(300):
        t = i / SESSION_FPS
        lean = 25.0 if 10 <= t < 20 else 2.0
        readings.append(
            side_reading(
                t,
                Verdict.POOR if lean > 20 else Verdict.GOOD,
                view="front",
                metrics={"face_scale_pct": lean, "head_drop_pct": 3.0, "shoulder_tilt_deg": 2.5},
                findings={"leaning_in": (lean - 5.0) / 15.0},
                estimated=est,
            )
        )
    page = render(make_result(readings, baseline=baseline), key_frames=False)
    svg = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    assert "Face size vs baseline" in svg and "Head drop vs baseline" in svg and "Shoulder tilt" in svg
    assert "Neck inclination" not in svg
    assert "change (%)" in svg and "your baseline" in svg
    assert "leaning sideways 12°" in svg  # baseline 2° + the 10° delta threshold
    text = text_of(page)
    assert "the first 5 s of this video (front view, 50 frames)" in text
    assert "Face size vs baseline (%)" in text.split("Estimates", 1)[1]
    assert 'id="advice-leaning_in"' in page
    assert 'id="advice-forward_head"' not in page


def test_the_estimates_say_why_in_the_view_they_were_made() -> None:
    side = [
        side_reading(i / SESSION_FPS, Verdict.GOOD, head=8.0, estimated=frozenset({"head_forward_deg"}))
        for i in range(50)
    ]
    facts = build_report_data(
        make_result(side), analysis_summary(make_result(side)), key_frames=False
    ).estimates
    assert [(f.label, f.value) for f in facts] == [
        (
            "Head forward (°)",
            "mixes in the face's pitch (the nose's drop below the ears), which the pose model only estimates",
        )
    ]
    # A session seen from the side, then obliquely: both reasons for the same metric.
    oblique = [
        side_reading(
            5.0 + i / SESSION_FPS, Verdict.GOOD, view="oblique", estimated=frozenset({"head_forward_deg"})
        )
        for i in range(50)
    ]
    both = make_result(side + oblique)
    (fact,) = build_report_data(both, analysis_summary(both), key_frames=False).estimates
    assert fact.value.startswith("mixes in the face's pitch") and "; or foreshortened" in fact.value
    assert "oblique view" in fact.value


def test_fixed_limits_absolute_and_relative_to_baseline() -> None:
    rules = FindingRules()

    def limits(metric, ref):
        return [(y, rule) for y, _, rule, _, _ in fixed_limits(metric, rules, ref)]

    assert limits("head_forward_deg", None) == []  # only against your own posture (the habit's moves)
    assert limits("neck_inclination_deg", None) == [(31.0, "forward_head_deg")]
    ref = {"head_forward_deg": 12.0, "trunk_inclination_deg": -5.0}
    assert limits("head_forward_deg", ref) == [(24.0, "forward_head_delta_deg")]
    assert [y for y, _ in limits("trunk_inclination_deg", ref)] == [10.0, -30.0]
    # a calibration without the neck leaves everyone's limit on it (as posture.metrics.assess does)
    assert limits("neck_inclination_deg", ref) == [(31.0, "forward_head_deg")]
    assert limits("neck_inclination_deg", {**ref, "neck_inclination_deg": 8.0}) == []


def test_decimate_bounds_points_and_keeps_peaks() -> None:
    t = np.arange(50_000) / SESSION_FPS
    v = np.sin(t / 30.0)
    v[12_345] = 99.0
    v[20_000:20_500] = np.nan
    tt, vv = decimate(t, v)
    assert len(tt) <= MAX_CHART_POINTS
    assert np.nanmax(vv) == 99.0
    assert np.isnan(vv).any()  # the gap survives
    assert np.all(np.diff(tt) >= 0)
    short_t, _ = decimate(t[:100], v[:100])
    assert len(short_t) == 100


@pytest.mark.slow
def test_long_session_keeps_the_page_small() -> None:
    readings = []
    for i in range(36_000):  # one hour at 10 fps, poor for 20 s out of every 2 min
        t = i / SESSION_FPS
        poor = (t % 120) < 20
        readings.append(
            side_reading(
                t,
                Verdict.POOR if poor else Verdict.GOOD,
                head=30.0 if poor else 5.0,
                findings={"forward_head": 1.4 if poor else 0.0},
                alert=poor and (t % 120) > 10,
            )
        )
    data = build_report_data(make_result(readings), analysis_summary(make_result(readings)), key_frames=False)
    assert data.timeline is not None
    assert len(data.timeline.svg) < 400_000
    assert "time since start (min)" in data.timeline.svg
    assert len(render_report(data)) < 600_000


def test_key_moments_pick_episode_peaks_then_spaced_worst_readings() -> None:
    readings, episodes = side_session()
    second = Episode(50.0, 52.0, 51.0, {"forward_head": FindingStats(1.4, 1.4, 2.0)})
    result = make_result(readings, [*episodes, second])
    picks = key_moments(result)
    assert [ep for _, ep in picks] == [1, 2]  # the worse episode first
    worst_in_first = readings[picks[0][0]]
    assert 17.0 <= worst_in_first.t_s <= 18.0  # the sine peaks halfway through 10..25 s
    no_episodes = key_moments(make_result(readings))
    times = [readings[i].t_s for i, _ in no_episodes]
    assert len(times) == 3 and all(ep is None for _, ep in no_episodes)
    assert times == sorted(times)
    assert all(b - a >= 3.0 for a, b in itertools.pairwise(times))


@pytest.mark.slow
def test_unreadable_source_means_no_key_frames(tmp_path: Path) -> None:
    readings, episodes = side_session()
    fake = tmp_path / "not_a_video.mp4"
    fake.write_bytes(b"not a video at all")
    data = build_report_data(
        make_result(readings, episodes, source=fake), analysis_summary(make_result(readings))
    )
    assert data.key_frames == ()
    gone = make_result(readings, episodes, source=tmp_path / "gone.mp4")
    missing = build_report_data(gone, analysis_summary(gone))
    assert missing.key_frames == ()


@pytest.mark.slow
def test_write_to_path_links_the_annotated_video(tmp_path: Path) -> None:
    readings, episodes = side_session()
    result = make_result(readings, episodes)
    out = tmp_path / "out"
    out.mkdir()
    video = out / "annotated video.mp4"
    target = out / "report.html"
    written = write_report(result, analysis_summary(result), target, {"video": video}, key_frames=False)
    assert written == target
    assert sorted(p.name for p in out.iterdir()) == ["report.html"]  # no .part left behind
    page = target.read_text(encoding="utf-8")
    assert '<video controls preload="metadata" src="annotated%20video.mp4">' in page
    assert '<a href="annotated%20video.mp4">annotated video.mp4</a>' in page
    assert_self_contained(page)


@pytest.mark.slow
def test_report_data_is_plain_and_deterministic() -> None:
    readings, episodes = side_session()
    result = make_result(readings, episodes)
    summary = analysis_summary(result)
    from datetime import datetime

    when = datetime(2025, 3, 1, 9, 30)
    a = build_report_data(result, summary, key_frames=False, generated=when, config=Config())
    b = build_report_data(result, summary, key_frames=False, generated=when)
    assert render_report(a) == render_report(b)
    assert a.generated == "2025-03-01 09:30"
    assert [f.code for f in a.findings] == ["forward_head"]
    assert a.episodes[0].findings[0].anchor == "advice-forward_head"


@pytest.mark.footage
@pytest.mark.mediapipe
def test_report_of_real_footage_embeds_key_frames(footage: Path, tmp_path: Path) -> None:
    from posture.pipeline import Pipeline

    result = Pipeline(Config().replace("detector", hold_s=0.4)).analyze_video(
        footage / "side_video" / "chair_good_bad.mp4"
    )
    assert result.episodes
    target = tmp_path / "report.html"
    write_report(result, analysis_summary(result), target)
    page = target.read_text(encoding="utf-8")
    frames = re.findall(r'src="data:image/jpeg;base64,[A-Za-z0-9+/=]+"', page)
    assert 1 <= len(frames) <= 3
    assert "still frame" in text_of(page)
    assert 'id="advice-forward_head"' in page
    assert_self_contained(page)
    assert len(page) < 1_000_000

"""The annotated video: drawing helpers on synthetic frames, the writer, and whole videos."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from posture.detector import Episode, FindingStats
from posture.landmarks import Landmark as L
from posture.outputs import annotate as ann
from posture.pipeline import AnalysisResult
from posture.reading import METRIC_NAMES, Reading, Verdict
from posture.sources.media import VideoInfo
from tests.builders import front_pose, side_pose

W, H = 640, 480
GREY = 90


def _frame() -> np.ndarray:
    return np.full((H, W, 3), GREY, np.uint8)


def _reading(
    t_s: float = 0.0,
    *,
    posture: Verdict = Verdict.GOOD,
    view: str = "side",
    alert: bool = False,
    findings: dict[str, float] | None = None,
    estimated: frozenset[str] = frozenset(),
    **metrics: float,
) -> Reading:
    values: dict[str, float | None] = dict.fromkeys(METRIC_NAMES)
    values.update(metrics)
    return Reading(
        t_s=t_s,
        person=posture is not Verdict.AWAY,
        view=view if posture is not Verdict.AWAY else "unknown",
        metrics=values,
        findings=findings or {},
        posture=posture,
        alert=alert,
        estimated=estimated,
    )


GOOD_SIDE = _reading(neck_inclination_deg=10.0, trunk_inclination_deg=0.0)
POOR_SIDE = _reading(
    posture=Verdict.POOR,
    findings={"forward_head": 1.6, "hunched_back": 0.2},
    neck_inclination_deg=35.0,
    trunk_inclination_deg=5.0,
)
AWAY = _reading(posture=Verdict.AWAY)


def _has_colour(region: np.ndarray, bgr: tuple[int, int, int], tol: int = 12) -> bool:
    return bool(np.any(np.all(np.abs(region.astype(int) - np.array(bgr)) <= tol, axis=-1)))


def _changed(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return np.any(before != after, axis=-1)


def _around(image: np.ndarray, point: np.ndarray, r: int = 6) -> np.ndarray:
    x, y = round(float(point[0])), round(float(point[1]))
    return image[max(0, y - r) : y + r + 1, max(0, x - r) : x + r + 1]


# --- what the overlay says ---------------------------------------------------------------------


def test_overlay_states_name_the_finding_the_alert_duration_and_the_advice() -> None:
    readings = [
        _reading(0.0),
        _reading(1.0, posture=Verdict.POOR, findings={"forward_head": 1.5}),
        _reading(13.0, posture=Verdict.POOR, findings={"forward_head": 1.8}, alert=True),
        _reading(14.0, alert=True),  # better again, but the alert is still on
        _reading(20.0),
        AWAY,
    ]
    episode = Episode(1.0, 15.0, 13.0, {"forward_head": FindingStats(1.8, 1.6, 13.0)})
    states = ann.overlay_states(readings, [episode])
    assert [s.verdict for s in states] == [r.posture for r in readings]
    assert states[0].label == "GOOD" and states[0].alert is None and states[0].hint is None
    assert states[1].label == "POOR: head forward" and states[1].alert is None
    assert states[1].hint is not None and "screen" in states[1].hint
    assert states[2].alert == "ALERT: head forward for 12 s"
    assert states[3].alert == "ALERT: head forward for 13 s"
    assert states[3].label == "GOOD" and states[3].hint == states[1].hint
    assert states[4].alert is None and states[4].hint is None
    assert states[5].label.startswith("AWAY")


def test_overlay_states_format_long_alerts_in_minutes() -> None:
    r = _reading(185.0, posture=Verdict.POOR, findings={"hunched_back": 1.2}, alert=True)
    episode = Episode(0.0, 185.0, 100.0, {"hunched_back": FindingStats(1.2, 1.1, 185.0)})
    assert ann.overlay_states([r], [episode])[0].alert == "ALERT: upper back hunched for 3 min 05 s"


def test_reading_index_takes_the_latest_reading_at_or_before_the_frame() -> None:
    times = [0.0, 0.2, 0.4]
    assert ann.reading_index(times, 0.0, 0.5) == 0
    assert ann.reading_index(times, 0.19, 0.5) == 0
    assert ann.reading_index(times, 0.2, 0.5) == 1
    assert ann.reading_index(times, 0.45, 0.5) == 2
    assert ann.reading_index(times, 2.0, 0.5) is None  # past the analysed part
    assert ann.reading_index([1.0], 0.5, 0.5) is None  # before the first reading


# --- drawing -------------------------------------------------------------------------------------


def test_skeleton_is_drawn_on_the_visible_upper_body_only() -> None:
    pose = side_pose(hips_visible=False)
    image = _frame()
    ann.draw_skeleton(image, pose)
    shoulder = pose.point(L.LEFT_SHOULDER)
    assert _has_colour(_around(image, shoulder), ann.SKELETON_BGR)
    hip = pose.point(L.LEFT_HIP)
    # The hidden hips get no joint and no shoulder-hip bone near them.
    assert not _changed(_frame(), image)[
        int(hip[1]) - 5 : int(hip[1]) + 6, int(hip[0]) - 5 : int(hip[0]) + 6
    ].any()


def test_side_angles_draw_neck_and_trunk_lines_coloured_by_their_findings() -> None:
    pose = side_pose(trunk_deg=5.0, neck_deg=35.0)
    image = _frame()
    ann.draw_angles(image, pose, POOR_SIDE)
    shoulders = (pose.point(L.LEFT_SHOULDER) + pose.point(L.RIGHT_SHOULDER)) / 2
    ears = (pose.point(L.LEFT_EAR) + pose.point(L.RIGHT_EAR)) / 2
    hips = (pose.point(L.LEFT_HIP) + pose.point(L.RIGHT_HIP)) / 2
    assert _has_colour(_around(image, (shoulders + ears) / 2, 3), ann.POOR_BGR)  # the neck is poor
    assert _has_colour(_around(image, (hips + shoulders) / 2, 3), ann.GOOD_BGR)  # the trunk is not
    # The vertical reference line above the shoulders, away from the neck line.
    above = shoulders + np.array([0.0, -40.0])
    assert _has_colour(_around(image, above, 2), ann.WHITE, tol=40)
    # The label is behind the person (facing image-right, so to the left of the lines).
    changed = _changed(_frame(), image)
    left_of_body = changed[:, : int(min(shoulders[0], hips[0])) - 12]
    assert left_of_body.sum() > 50


def test_side_angles_skip_metrics_the_reading_does_not_have() -> None:
    pose = side_pose()
    image = _frame()
    ann.draw_angles(image, pose, _reading(neck_inclination_deg=10.0))  # no trunk value
    hips = (pose.point(L.LEFT_HIP) + pose.point(L.RIGHT_HIP)) / 2
    shoulders = (pose.point(L.LEFT_SHOULDER) + pose.point(L.RIGHT_SHOULDER)) / 2
    assert not _has_colour(_around(image, (hips + shoulders) / 2, 3), ann.GOOD_BGR)
    assert _has_colour(_around(image, shoulders, 3), ann.GOOD_BGR)


def test_front_angles_draw_the_shoulder_line_and_the_estimates_beside_the_head() -> None:
    pose = front_pose(tilt_deg=6.0)
    reading = _reading(
        view="front",
        posture=Verdict.POOR,
        findings={"side_lean": 1.4, "leaning_in": 0.5},
        shoulder_tilt_deg=6.0,
        face_scale_pct=12.0,
        head_drop_pct=3.0,
        estimated=frozenset({"face_scale_pct", "head_drop_pct"}),
    )
    image = _frame()
    ann.draw_angles(image, pose, reading)
    mid = (pose.point(L.LEFT_SHOULDER) + pose.point(L.RIGHT_SHOULDER)) / 2
    assert _has_colour(_around(image, mid, 3), ann.POOR_BGR)
    ear = pose.point(L.LEFT_EAR)  # image-right ear: the text starts just right of it
    band = _changed(_frame(), image)[int(ear[1]) - 12 : int(ear[1]) + 12, int(ear[0]) + 5 :]
    assert band.sum() > 100


def test_away_frames_get_the_status_bar_but_no_skeleton() -> None:
    image = _frame()
    state = ann.overlay_states([AWAY], [])[0]
    ann.annotate_frame(image, AWAY, side_pose(), state)
    changed = _changed(_frame(), image)
    bar = ann.status_bar_height(image)
    assert changed[:bar].any()
    assert not changed[bar:].any()


def test_status_bar_shows_the_verdict_as_colour_and_text() -> None:
    for reading, colour in ((GOOD_SIDE, ann.GOOD_BGR), (POOR_SIDE, ann.POOR_BGR)):
        image = _frame()
        state = ann.overlay_states([reading], [])[0]
        ann.draw_status_bar(image, state, reading)
        bar = image[: ann.status_bar_height(image)]
        assert _has_colour(bar, colour, tol=2)  # the badge
        ink = ann._ink_for(colour)
        assert _has_colour(bar[:, :200], ink, tol=30)  # its word, in a contrasting ink
        assert (image[ann.status_bar_height(image) :] == GREY).all()  # nothing below the bar


def test_alert_badge_sits_on_the_right_of_the_status_bar() -> None:
    reading = _reading(20.0, posture=Verdict.POOR, findings={"forward_head": 2.0}, alert=True)
    state = ann.overlay_states([reading], [Episode(8.0, 20.0, 18.0, {})])[0]
    assert state.alert == "ALERT: head forward for 12 s"
    image = _frame()
    ann.draw_status_bar(image, state, reading)
    bar = image[: ann.status_bar_height(image)]
    assert _has_colour(bar[:, W // 2 :], ann.ALERT_BGR, tol=2)
    assert _has_colour(bar[:, W // 2 :], ann._ink_for(ann.ALERT_BGR), tol=30)


def test_hint_is_wrapped_on_a_band_at_the_bottom() -> None:
    image = _frame()
    ann.draw_hint(image, "raise the screen to eye level and draw your chin back " * 6)
    changed = _changed(_frame(), image)
    rows = np.flatnonzero(changed.any(axis=1))
    assert rows.min() > H * 0.75 and rows.max() == H - 1
    text = np.all(image[rows.min() :] > 150, axis=-1)  # light text on the darkened band
    text_rows = np.flatnonzero(text.any(axis=1))
    assert text_rows.size and (np.diff(text_rows) > 3).any()  # two separate lines of text


def test_text_helpers_draw_the_degree_sign() -> None:
    assert ann.text_size("32°", 0.6, 1)[0] > ann.text_size("32", 0.6, 1)[0]
    image = np.zeros((40, 120, 3), np.uint8)
    ann.put_text(image, "32°", (5, 30), 0.8, ann.WHITE, 2)
    w32 = ann.text_size("32", 0.8, 2)[0]
    assert image[:, 5 + w32 :].any()  # the ring after the digits


def test_annotate_frame_scales_a_pose_from_a_different_image_size() -> None:
    pose = side_pose(size=(W, H))
    small = np.full((H // 2, W // 2, 3), GREY, np.uint8)
    ann.annotate_frame(small, GOOD_SIDE, pose, ann.overlay_states([GOOD_SIDE], [])[0])
    shoulder = pose.point(L.LEFT_SHOULDER) / 2
    assert _has_colour(_around(small, shoulder, 4), ann.GOOD_BGR)


# --- the writer ------------------------------------------------------------------------------------


def _available(name: str) -> bool:
    enc = next(e for e in ann.ENCODERS if e.name == name)
    if enc.backend == "ffmpeg":
        found = ann._ffmpeg()
        return found is not None and enc.codec in found[1]
    return True


def _encoders(name: str) -> list[ann.Encoder]:
    if not _available(name):
        pytest.skip(f"{name} is not available here")
    return [e for e in ann.ENCODERS if e.name == name]


def test_writer_aborts_cleanly_and_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), ann.VideoWriter(tmp_path / "out", (64, 48), 10.0) as writer:
        writer.write(np.zeros((48, 64, 3), np.uint8))
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_writer_rejects_frames_of_another_size(tmp_path: Path) -> None:
    with pytest.raises(ValueError), ann.VideoWriter(tmp_path / "out", (64, 48), 10.0) as writer:
        writer.write(np.zeros((50, 64, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_writer_without_any_encoder_raises(tmp_path: Path) -> None:
    with pytest.raises(ann.VideoEncodeError):
        ann.VideoWriter(tmp_path / "out", (64, 48), 10.0, encoders=[])
    assert list(tmp_path.iterdir()) == []


# --- whole videos ----------------------------------------------------------------------------------

FPS = 25.0
SECONDS = 2.0


def _synthetic_video(folder: Path, size: tuple[int, int] = (W // 2, H // 2)) -> Path:
    """2 s of frames whose colour changes every frame (MJPG in AVI: every OpenCV can write it)."""
    path = folder / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, size)
    assert writer.isOpened()
    for i in range(int(FPS * SECONDS)):
        frame = np.zeros((size[1], size[0], 3), np.uint8)
        frame[:] = (40 + 3 * i, 80, 160 - 2 * i)
        writer.write(frame)
    writer.release()
    return path


def _result(video: Path, size: tuple[int, int] = (W // 2, H // 2)) -> AnalysisResult:
    """Readings at 5 fps: good, then poor with an alert, then nobody."""
    half = np.array([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]])
    good = side_pose(trunk_deg=-5.0, neck_deg=8.0).transformed(half, size)
    poor = side_pose(trunk_deg=0.0, neck_deg=35.0).transformed(half, size)
    readings, poses = [], []
    for k in range(int(SECONDS * 5)):
        t = k / 5.0
        if t < 0.8:
            readings.append(_reading(t, neck_inclination_deg=8.0, trunk_inclination_deg=-5.0))
            poses.append(good)
        elif t < 1.6:
            r = _reading(
                t,
                posture=Verdict.POOR,
                alert=t >= 1.2,
                findings={"forward_head": 1.7},
                neck_inclination_deg=35.0,
                trunk_inclination_deg=0.0,
            )
            readings.append(r)
            poses.append(poor)
        else:
            readings.append(_reading(t, posture=Verdict.AWAY))
            poses.append(None)
    episode = Episode(0.8, 1.6, 1.2, {"forward_head": FindingStats(1.7, 1.7, 0.8)})
    return AnalysisResult(
        source=video,
        info=VideoInfo(size[0], size[1], FPS, int(FPS * SECONDS)),
        model="test",
        sample_fps=5.0,
        readings=readings,
        poses=poses,
        episodes=[episode],
    )


def _decode(path: Path) -> tuple[int, tuple[int, int], str, list[np.ndarray]]:
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened(), f"OpenCV cannot open {path}"
    fourcc = int(cap.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode("latin-1")
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    size = (frames[0].shape[1], frames[0].shape[0]) if frames else (0, 0)
    return len(frames), size, fourcc, frames


@pytest.mark.parametrize(
    ("encoder", "suffix", "fourccs"),
    [
        ("ffmpeg-h264", ".mp4", {"h264", "avc1"}),
        ("opencv-vp8", ".webm", {"VP80", "vp80", "VP8 "}),
        ("opencv-mp4v", ".mp4", {"mp4v", "FMP4"}),
    ],
)
def test_annotated_video_keeps_frame_count_and_size(
    tmp_path: Path, encoder: str, suffix: str, fourccs: set[str], caplog: pytest.LogCaptureFixture
) -> None:
    video = _synthetic_video(tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    seen: list[float] = []
    path = ann.write_annotated_video(
        _result(video), out_dir / "annotated", progress=seen.append, encoders=_encoders(encoder)
    )
    assert path == out_dir / f"annotated{suffix}"
    assert list(out_dir.iterdir()) == [path]  # no temporary file left beside it
    count, size, fourcc, frames = _decode(path)
    assert abs(count - FPS * SECONDS) <= 1
    assert size == (W // 2, H // 2)
    assert fourcc in fourccs
    assert seen and seen == sorted(seen) and seen[-1] >= SECONDS - 2 / FPS
    # The poor stretch (0.8-1.6 s) shows the poor colour somewhere; the away stretch does not.
    assert _has_colour(frames[int(1.3 * FPS)], ann.ALERT_BGR, tol=40)
    assert not _has_colour(frames[int(1.9 * FPS)][40:], ann.POOR_BGR, tol=40)
    warned = any(r.levelno == logging.WARNING and "browsers" in r.getMessage() for r in caplog.records)
    assert warned == (encoder == "opencv-mp4v")


def test_default_encoder_prefers_browser_formats(tmp_path: Path) -> None:
    video = _synthetic_video(tmp_path)
    path = ann.write_annotated_video(_result(video), tmp_path / "annotated")
    assert path.suffix in (".mp4", ".webm")
    found = ann._ffmpeg()
    if found is not None and "libx264" in found[1]:
        assert path.suffix == ".mp4" and _decode(path)[2] in ("h264", "avc1")


def test_without_ffmpeg_the_default_is_opencv_webm(tmp_path: Path, monkeypatch) -> None:
    # A plain install (no posture[h264] extra, no ffmpeg on the PATH): OpenCV's own VP8 WebM.
    monkeypatch.setattr(ann, "_ffmpeg", lambda: None)
    video = _synthetic_video(tmp_path)
    path = ann.write_annotated_video(_result(video), tmp_path / "annotated")
    assert path.suffix == ".webm"
    count, _, fourcc, _ = _decode(path)
    assert abs(count - FPS * SECONDS) <= 1 and fourcc in {"VP80", "vp80", "VP8 "}


def test_no_encoder_at_all_is_a_clear_error(tmp_path: Path) -> None:
    nothing = [ann.Encoder("none", "opencv", "XXXX", ".mkv", True)]
    with pytest.raises(ann.VideoEncodeError, match=r"posture\[h264\]"):
        ann.VideoWriter(tmp_path / "out", (64, 48), 10.0, encoders=nothing)
    assert list(tmp_path.iterdir()) == []


def test_odd_frame_sizes_are_padded_for_h264(tmp_path: Path) -> None:
    encoders = _encoders("ffmpeg-h264")
    size = (W // 2 + 1, H // 2 + 1)
    # OpenCV's writer rounds odd sizes down, so the odd-sized source comes from ffmpeg itself.
    video = tmp_path / "odd.mkv"
    exe = ann._ffmpeg()[0]
    lavfi = f"testsrc=size={size[0]}x{size[1]}:rate={FPS:g}:duration={SECONDS:g}"
    cmd = [exe, "-v", "error", "-f", "lavfi", "-i", lavfi, "-c:v", "ffv1", str(video)]
    subprocess.run(cmd, check=True, timeout=60)
    path = ann.write_annotated_video(_result(video, size), tmp_path / "a", encoders=encoders)
    count, out_size, _, _ = _decode(path)
    assert abs(count - FPS * SECONDS) <= 1
    assert out_size == (size[0] + 1, size[1] + 1)


def test_a_failure_midway_leaves_no_file(tmp_path: Path) -> None:
    video = _synthetic_video(tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    def stop(t_s: float) -> None:
        if t_s > 0.5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ann.write_annotated_video(_result(video), out_dir / "annotated", progress=stop)
    assert list(out_dir.iterdir()) == []


@pytest.mark.footage
@pytest.mark.mediapipe
def test_annotates_real_footage(footage: Path, tmp_path: Path) -> None:
    from posture.config import Config
    from posture.pipeline import Pipeline

    clip = footage / "side_video" / "chair_good_bad.mp4"
    result = Pipeline(Config().replace("detector", hold_s=0.4)).analyze_video(clip)
    path = ann.write_annotated_video(result, tmp_path / "annotated")
    count, size, _, _ = _decode(path)
    assert size == (result.info.width, result.info.height)  # 630x360: even, so never padded
    assert abs(count - result.info.frame_count) <= 1
    assert list(tmp_path.iterdir()) == [path]

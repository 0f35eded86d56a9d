"""The annotated video: what the overlay says per reading, and whole videos written and read back."""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from posture.detector import Episode, FindingStats
from posture.outputs import annotate as ann
from posture.outputs import video as vid
from posture.outputs.overlay import ALERT_BGR, POOR_BGR
from posture.reading import Verdict
from posture.results import AnalysisResult
from posture.sources.media import VideoInfo
from tests.builders import has_colour, make_reading, side_pose
from tests.fakes import ClosedVideoWriter

# --- what the overlay says ---------------------------------------------------------------------


def test_overlay_states_name_the_finding_the_alert_duration_and_the_advice() -> None:
    readings = [
        make_reading(0.0),
        make_reading(1.0, posture=Verdict.POOR, findings={"forward_head": 1.5}),
        make_reading(13.0, posture=Verdict.POOR, findings={"forward_head": 1.8}, alert=True),
        make_reading(14.0, alert=True),  # better again, but the alert is still on
        make_reading(20.0),
        make_reading(posture=Verdict.AWAY),
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
    r = make_reading(185.0, posture=Verdict.POOR, findings={"hunched_back": 1.2}, alert=True)
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


# --- whole videos ----------------------------------------------------------------------------------

FPS = 25.0
SECONDS = 2.0


def _synthetic_video(folder: Path, size: tuple[int, int] = (320, 240)) -> Path:
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


def _result(video: Path, size: tuple[int, int] = (320, 240)) -> AnalysisResult:
    """Readings at 5 fps: good, then poor with an alert, then nobody."""
    half = np.array([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]])
    good = side_pose(trunk_deg=-5.0, neck_deg=8.0).transformed(half, size)
    poor = side_pose(trunk_deg=0.0, neck_deg=35.0).transformed(half, size)
    readings, poses = [], []
    for k in range(int(SECONDS * 5)):
        t = k / 5.0
        if t < 0.8:
            readings.append(make_reading(t, neck_inclination_deg=8.0, trunk_inclination_deg=-5.0))
            poses.append(good)
        elif t < 1.6:
            r = make_reading(
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
            readings.append(make_reading(t, posture=Verdict.AWAY))
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


def _needs(encoder: vid.Encoder) -> vid.Encoder:
    if encoder is vid.H264_MP4 and not vid.h264_available():
        pytest.skip("the h264 extra (imageio-ffmpeg) is not installed here")
    return encoder


@pytest.mark.parametrize(
    ("encoder", "fourccs"),
    [(vid.H264_MP4, {"h264", "avc1"}), (vid.VP8_WEBM, {"VP80", "vp80", "VP8 "})],
    ids=lambda e: e.name if isinstance(e, vid.Encoder) else "",
)
def test_annotated_video_keeps_frame_count_and_size(
    tmp_path: Path, encoder: vid.Encoder, fourccs: set[str]
) -> None:
    video = _synthetic_video(tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    seen: list[float] = []
    path = ann.write_annotated_video(
        _result(video), out_dir / "annotated", progress=seen.append, encoder=_needs(encoder)
    )
    assert path == out_dir / f"annotated{encoder.suffix}"
    assert list(out_dir.iterdir()) == [path]  # no temporary file left beside it
    count, size, fourcc, frames = _decode(path)
    assert abs(count - FPS * SECONDS) <= 1
    assert size == (320, 240)
    assert fourcc in fourccs
    assert seen and seen == sorted(seen) and seen[-1] >= SECONDS - 2 / FPS
    # The poor stretch (0.8-1.6 s) shows the poor colour somewhere; the away stretch does not.
    assert has_colour(frames[int(1.3 * FPS)], ALERT_BGR, tol=40)
    assert not has_colour(frames[int(1.9 * FPS)][40:], POOR_BGR, tol=40)


def test_a_lower_frame_rate_writes_one_frame_per_step_of_source_time(tmp_path: Path) -> None:
    # The demo's case: a source whose picture changes more slowly than its frame rate.
    video = _synthetic_video(tmp_path)
    path = ann.write_annotated_video(_result(video), tmp_path / "annotated", encoder=vid.VP8_WEBM, fps=5.0)
    cap = cv2.VideoCapture(str(path))
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(5.0)
    cap.release()
    count, size, _, frames = _decode(path)
    assert count == round(5.0 * SECONDS) and size == (320, 240)
    # Frame k is the source frame at k/5 s: its colour (blue 40 + 3 i for source frame i) says so.
    blues = [int(np.median(f[:, :, 0])) for f in frames]
    source_index = [round(k / 5.0 * FPS) for k in range(count)]
    assert all(abs(b - (40 + 3 * i)) <= 7 for b, i in zip(blues, source_index, strict=True)), blues
    # The alert (1.2-1.6 s) is still shown, in the frames of its time.
    assert has_colour(frames[7], ALERT_BGR, tol=40)


def test_a_frame_rate_above_the_sources_keeps_the_sources(tmp_path: Path) -> None:
    video = _synthetic_video(tmp_path)
    path = ann.write_annotated_video(_result(video), tmp_path / "annotated", encoder=vid.VP8_WEBM, fps=60.0)
    assert abs(_decode(path)[0] - FPS * SECONDS) <= 1


def test_the_hint_leaves_a_credit_band_at_the_bottom_uncovered(tmp_path: Path) -> None:
    video = _synthetic_video(tmp_path)
    band = 24
    plain = _decode(ann.write_annotated_video(_result(video), tmp_path / "a", encoder=vid.VP8_WEBM))[3]
    kept = _decode(
        ann.write_annotated_video(_result(video), tmp_path / "b", encoder=vid.VP8_WEBM, credit_band_px=band)
    )[3]
    source = _decode(video)[3]
    k = int(1.3 * FPS)  # poor with an alert: the hint is drawn
    diff = lambda a, b: float(np.abs(a[-band:].astype(int) - b[-band:].astype(int)).mean())  # noqa: E731
    assert diff(plain[k], source[k]) > 20  # by default the hint's band covers the bottom rows
    assert diff(kept[k], source[k]) < 4  # with the credit band kept: only the codec's noise
    assert diff(kept[k][:-band], source[k][:-band]) > diff(kept[k], source[k])  # the hint moved up


def test_the_demo_clip_has_its_credit_band_where_the_demo_says() -> None:
    from posture.sources import demo

    with demo.clip_path() as clip:
        cap = cv2.VideoCapture(str(clip))
        ok, frame = cap.read()
        cap.release()
    assert ok
    band, above = frame[-demo.CREDIT_BAND_PX :], frame[-demo.CREDIT_BAND_PX - 8 : -demo.CREDIT_BAND_PX]
    assert np.median(band) == pytest.approx(32, abs=3)  # samples/make_demo_clip.py's band grey
    assert abs(float(np.median(above)) - 32) > 10  # the photo, right above it
    assert (
        "BAND_PX = 48" in (Path(__file__).resolve().parents[2] / "samples" / "make_demo_clip.py").read_text()
    )
    assert demo.CREDIT_BAND_PX == 48


def test_default_encoder_prefers_h264_where_the_extra_is_installed(tmp_path: Path) -> None:
    video = _synthetic_video(tmp_path)
    path = ann.write_annotated_video(_result(video), tmp_path / "annotated")
    if vid.h264_available():
        assert path.suffix == ".mp4" and _decode(path)[2] in ("h264", "avc1")
    else:
        assert path.suffix == ".webm" and _decode(path)[2] in {"VP80", "vp80", "VP8 "}


def test_without_the_h264_extra_the_default_is_opencv_webm(tmp_path: Path, monkeypatch) -> None:
    # A plain install (no h264 extra): OpenCV's own VP8 WebM.
    monkeypatch.setattr(vid, "h264_available", lambda: False)
    video = _synthetic_video(tmp_path)
    path = ann.write_annotated_video(_result(video), tmp_path / "annotated")
    assert path.suffix == ".webm"
    count, _, fourcc, _ = _decode(path)
    assert abs(count - FPS * SECONDS) <= 1 and fourcc in {"VP80", "vp80", "VP8 "}


def test_no_encoder_at_all_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    video = _synthetic_video(tmp_path)
    monkeypatch.setattr(vid, "h264_available", lambda: False)
    monkeypatch.setattr(cv2, "VideoWriter", ClosedVideoWriter)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(vid.NoEncoderError, match=r"posture-monitor\[h264\]") as raised:
        ann.write_annotated_video(_result(video), out_dir / "annotated")
    assert raised.value.exit_code == 2 and "\n" not in str(raised.value)
    assert list(out_dir.iterdir()) == []


def test_odd_frame_sizes_are_padded_for_h264(tmp_path: Path) -> None:
    encoder = _needs(vid.H264_MP4)
    size = (321, 241)
    # OpenCV's writer rounds odd sizes down, so the odd-sized source comes from ffmpeg itself.
    video = tmp_path / "odd.mkv"
    import imageio_ffmpeg

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    lavfi = f"testsrc=size={size[0]}x{size[1]}:rate={FPS:g}:duration={SECONDS:g}"
    cmd = [exe, "-v", "error", "-f", "lavfi", "-i", lavfi, "-c:v", "ffv1", str(video)]
    subprocess.run(cmd, check=True, timeout=60)
    path = ann.write_annotated_video(_result(video, size), tmp_path / "a", encoder=encoder)
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

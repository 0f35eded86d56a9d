"""The shipped pose model: the very bytes the build script makes, a valid Tasks bundle, found as
package data, and a model MediaPipe loads and finds a person with."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from posture.errors import ModelUnavailableError
from posture.pose.estimator import BUNDLED_MODEL, bundled_model, find_task_models, open_estimator

ROOT = Path(__file__).resolve().parents[2]


def _recorded_sha256() -> str:
    sums = (bundled_model().parent / "SHA256SUMS").read_text().split()
    return dict(zip(sums[1::2], sums[0::2], strict=False))[BUNDLED_MODEL]


def test_shipped_model_matches_the_recorded_checksum() -> None:
    assert hashlib.sha256(bundled_model().read_bytes()).hexdigest() == _recorded_sha256()


def test_recorded_checksum_is_the_one_the_build_script_reported() -> None:
    # models/README.md states the checksum a rebuild must give; the two records must not drift.
    assert _recorded_sha256() in (ROOT / "models" / "README.md").read_text()


def test_bundle_is_a_deterministic_tasks_zip() -> None:
    with zipfile.ZipFile(bundled_model().open("rb")) as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == ["pose_detector.tflite", "pose_landmarks_detector.tflite"]
        for info in infos:
            assert info.compress_type == zipfile.ZIP_STORED  # MediaPipe maps the members directly
            assert info.date_time == (1980, 1, 1, 0, 0, 0)  # no build time in the file
            assert zf.read(info)[4:8] == b"TFL3"  # a TFLite flatbuffer


def test_model_licence_and_notice_ship_beside_it() -> None:
    folder = bundled_model().parent
    assert "Apache License" in (folder / "LICENSE").read_text()
    assert "Version 2.0" in (folder / "LICENSE").read_text()
    notice = (folder / "NOTICE").read_text()
    assert "mediapipe 0.10.21" in notice and "Changes made by the posture project" in notice


def test_lite_or_heavy_without_a_task_file_is_refused_not_downloaded() -> None:
    for complexity, name in ((0, "lite"), (2, "heavy")):
        with pytest.raises(ModelUnavailableError, match=f"pose_landmarker_{name}.task"):
            open_estimator(None, video=False, model_complexity=complexity)
    with pytest.raises(ModelUnavailableError, match="0, 1 or 2"):
        open_estimator(None, video=False, model_complexity=5)


def test_user_task_models_are_found_in_the_models_folder(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "pose_landmarker_lite.task").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    monkeypatch.setenv("POSTURE_MODELS_DIR", str(tmp_path))
    assert [p.name for p in find_task_models()] == ["pose_landmarker_lite.task"]
    assert find_task_models(tmp_path / "absent") == []


def test_a_file_that_is_not_a_task_model_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "pose.tflite"
    bogus.write_bytes(b"not a model")
    with pytest.raises(ModelUnavailableError, match=r"not a \.task model"):
        open_estimator(bogus, video=False)
    with pytest.raises(ModelUnavailableError, match="not found"):
        open_estimator(tmp_path / "absent.task", video=False)


@pytest.mark.mediapipe
def test_bundled_model_finds_the_person_in_video_and_image_mode() -> None:
    import cv2

    from posture.sources.media import Frame

    clip = bundled_model().parent.parent / "data" / "demo"
    video = next(iter(sorted(clip.glob("*.mp4"))), None) if clip.is_dir() else None
    assert video is not None, "the demo clip ships in posture/data/demo/"
    cap = cv2.VideoCapture(str(video))
    cap.set(cv2.CAP_PROP_POS_MSEC, 2000)
    ok, image = cap.read()
    cap.release()
    assert ok
    h, w = image.shape[:2]
    for video_mode in (True, False):
        with open_estimator(None, video=video_mode) as est:
            assert "bundled pose_landmarker_full.task" in est.name
            poses = [est.estimate(Frame(image, i, i / 10)) for i in range(3)]
        assert all(p is not None for p in poses)
        nose = poses[-1].xy_px[0]
        assert 0 <= nose[0] < w and 0 <= nose[1] < h


@pytest.mark.mediapipe
def test_sampled_video_frames_may_step_back_in_time() -> None:
    # analyze looks closer between two samples, so frames may go back in time; VIDEO mode refuses
    # timestamps that do not increase, so the sampled estimator runs on a clock of its own.
    import cv2

    from posture.sources.media import Frame

    clip = bundled_model().parent.parent / "data" / "demo" / "demo_desk.mp4"
    cap = cv2.VideoCapture(str(clip))
    frames = []
    for t_s in (2.0, 3.0, 2.5, 4.0):
        cap.set(cv2.CAP_PROP_POS_MSEC, t_s * 1000)
        ok, image = cap.read()
        assert ok
        frames.append(Frame(image, len(frames), t_s))
    cap.release()
    with open_estimator(None, video=True, sampled=True) as est:
        poses = [est.estimate(f) for f in frames]
    assert all(p is not None for p in poses)

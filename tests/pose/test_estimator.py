"""TaskPoseEstimator with the bundled model: modes, timestamps, selection and release."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from posture.errors import ModelUnavailableError
from posture.pose.estimator import TaskPoseEstimator, estimate_still, open_estimator
from posture.sources.media import Frame, ImageSource

pytestmark = pytest.mark.mediapipe

PHOTO = Path("side_photos") / "fixtures" / "straight_armsfolded.jpg"


def _blank(t_s: float = 0.0) -> Frame:
    return Frame(np.full((240, 320, 3), 128, np.uint8), 0, t_s)


def test_nobody_in_a_blank_picture_in_both_modes() -> None:
    for video in (False, True):
        with TaskPoseEstimator(video=video) as est:
            assert est.estimate(_blank()) is None
            assert "bundled pose_landmarker_full.task" in est.name


def test_video_mode_accepts_repeated_and_backward_times() -> None:
    """MediaPipe needs strictly increasing milliseconds; the estimator makes them so."""
    with TaskPoseEstimator(video=True) as est:
        for t_s in (0.0, 0.0, 0.0004, 0.2, 0.1):
            assert est.estimate(_blank(t_s)) is None


def test_close_twice_is_harmless() -> None:
    est = TaskPoseEstimator(video=False)
    est.close()
    est.close()


def test_a_file_that_is_not_a_model_is_a_typed_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.task"
    bogus.write_bytes(b"not a model")
    with pytest.raises(ModelUnavailableError):
        TaskPoseEstimator(bogus, video=False)


@pytest.mark.footage
def test_a_person_in_a_photo_is_found_in_pixels_of_that_photo(footage: Path) -> None:
    with ImageSource(footage / PHOTO) as src:
        frame = next(iter(src))
    h, w = frame.image.shape[:2]
    with open_estimator(None, video=False) as est:
        pose = estimate_still(est, frame)
    assert pose is not None
    assert pose.image_size == (w, h)
    x0, y0, x1, y1 = pose.bbox_px
    assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    assert pose.world_m is not None and pose.world_m.shape == (33, 3)

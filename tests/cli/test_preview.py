"""The monitor's preview window draws with the one drawer: skeleton, finding words, limits."""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from posture._cli.live import _preview_window
from posture.config import Config
from posture.errors import InputError
from posture.geometry import View
from posture.landmarks import Landmark as L
from posture.metric_registry import METRIC_NAMES
from posture.outputs import overlay
from posture.reading import Reading, Verdict
from posture.sources.media import Frame
from tests.builders import side_pose


def _poor_reading() -> Reading:
    metrics: dict[str, float | None] = dict.fromkeys(METRIC_NAMES)
    metrics.update(neck_inclination_deg=35.0, trunk_inclination_deg=5.0, head_forward_deg=30.0)
    return Reading(
        t_s=3.0,
        person=True,
        view=View.SIDE,
        metrics=metrics,
        findings={"forward_head": 1.6},
        posture=Verdict.POOR,
        alert=True,
    )


def test_the_preview_draws_the_overlay_with_finding_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", ":0")
    shown: list[np.ndarray] = []
    monkeypatch.setattr(cv2, "imshow", lambda name, image: shown.append(image))
    monkeypatch.setattr(cv2, "waitKey", lambda ms: ord("q"))
    labels: list[overlay.OverlayState] = []
    real = overlay.annotate_frame
    monkeypatch.setattr(overlay, "annotate_frame", lambda *a: (labels.append(a[3]), real(*a))[1])

    show = _preview_window(Config())
    frame = Frame(np.full((480, 640, 3), 90, np.uint8), 0, 3.0)
    pose = side_pose()
    state = SimpleNamespace(alert_active=True, findings=["forward_head"])
    assert show(frame, pose, _poor_reading(), state) is False  # "q" closes it
    assert labels[0].label == "POOR: head forward" and labels[0].alert == "ALERT: head forward"
    image = shown[0]
    assert (frame.image == 90).all()  # drawn on a copy
    nose = pose.point(L.NOSE)  # a joint of the skeleton, away from the angle markers
    x, y = round(float(nose[0])), round(float(nose[1]))
    patch = image[y - 6 : y + 7, x - 6 : x + 7].astype(int)
    assert np.any(np.all(np.abs(patch - np.array(overlay.SKELETON_BGR)) <= 12, axis=-1))
    assert (image[-40:, :300] > 200).any()  # the limits, in white, at the bottom left


def test_the_preview_needs_a_display(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(InputError, match="display"):
        _preview_window(Config())

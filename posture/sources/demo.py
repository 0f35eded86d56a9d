"""The demo material shipped inside the package: the clip, its timeline, its attribution.

``posture demo`` must work from any install (a wheel, ``pip install .``, pipx), so the clip lives
in ``posture/data/demo/`` and is found through :mod:`importlib.resources`, never beside a clone.
``demo_desk.json`` beside it is written by ``samples/make_demo_clip.py``: the stretches of the
clip (what the person does when) and the photos each was made from, so tests and the generator's
check can hold the analysis to what the clip shows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from posture.errors import InputError

__all__ = [
    "ATTRIBUTION",
    "CALIBRATE_S",
    "CLIP_NAME",
    "CREDIT_BAND_PX",
    "HOLD_S",
    "LICENCE_NOTE",
    "VIDEO_FPS",
    "Stretch",
    "clip_path",
    "load_timeline",
]

log = logging.getLogger(__name__)

CLIP_NAME = "demo_desk.mp4"
TIMELINE_NAME = "demo_desk.json"
CALIBRATE_S = 6.0  # the clip's first stretch is upright; its first photo is held for 6 s
HOLD_S = 5.0  # the clip is a minute long: ISO holding times (minutes) would never be reached
# The annotated demo video's frame rate. The clip is a time-lapse at 10 fps whose picture changes
# only on whole seconds (each photo is held 4-6 s) and it is analysed 5 times a second, so 5 fps
# shows every photo from its first second and the readings at that rate, in half the encoding time.
VIDEO_FPS = 5.0
# The band under each photo that carries the credit (samples/make_demo_clip.py draws it): the
# annotated video's advice hint is drawn above it, so the credit stays readable.
CREDIT_BAND_PX = 48

# Said wherever the clip is shown: the report's footer, `posture demo`'s output, samples/README.md.
ATTRIBUTION = (
    "Demo clip: a time-lapse of real photos of one person at a desk by Roboflow user "
    '"ikornproject" (sitting-posture dataset, via PSVedant/smart-posture-corrector), '
    "licensed CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/); "
    "arranged into a clip with a caption by the posture project."
)
LICENCE_NOTE = "CC BY 4.0, see posture/data/demo/NOTICE"


@dataclass(frozen=True)
class Stretch:
    """One stretch of the demo clip: what the person does from ``start_s`` to ``end_s``."""

    start_s: float
    end_s: float
    posture: str  # "upright", "hunched" or "head_down"
    photos: tuple[str, ...]

    @property
    def poor(self) -> bool:
        return self.posture != "upright"


def _resource(name: str) -> Any:
    return resources.files("posture") / "data" / "demo" / name


@contextmanager
def clip_path() -> Iterator[Path]:
    """The demo clip as a real file for the duration of the ``with`` (OpenCV needs a path; from a
    zipped install the clip is extracted to a temporary file and removed afterwards)."""
    res = _resource(CLIP_NAME)
    if not res.is_file():
        raise InputError(f"the demo clip {CLIP_NAME} is missing from this installation of posture")
    with resources.as_file(res) as path:
        log.info("demo clip: %s", path)
        yield Path(path)


def load_timeline() -> list[Stretch]:
    """The clip's stretches, in order, from ``demo_desk.json``."""
    res = _resource(TIMELINE_NAME)
    if not res.is_file():
        raise InputError(f"the demo timeline {TIMELINE_NAME} is missing from this installation of posture")
    doc = json.loads(res.read_text(encoding="utf-8"))
    return [
        Stretch(float(s["start_s"]), float(s["end_s"]), str(s["posture"]), tuple(s["photos"]))
        for s in doc["stretches"]
    ]

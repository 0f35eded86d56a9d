"""Hand-built test data: poses, readings, sessions, analysed results, history rows, and the small
media files tests make (clips, photos, an archive cut from the footage).

Shared by the test modules, which import helpers only from here and from ``tests/fakes.py``.
"""

from __future__ import annotations

import io
import math
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from posture.baseline import Baseline
from posture.config import FindingRules
from posture.detector import Episode, FindingStats
from posture.findings import FINDING_CODES
from posture.landmarks import N_LANDMARKS, Pose
from posture.landmarks import Landmark as L
from posture.metric_registry import METRIC_NAMES
from posture.outputs.history import DaySummary, record_analysis
from posture.reading import Reading, Reason, Reference, Verdict, View
from posture.results import AnalysisResult
from posture.sources.media import VideoInfo
from posture.summary import SessionSummary

# -- poses -------------------------------------------------------------------------------------------


def _polar(origin: np.ndarray, length: float, angle_deg: float, facing: int) -> np.ndarray:
    """A point ``length`` px from ``origin`` at ``angle_deg`` from straight up, + toward ``facing``."""
    a = math.radians(angle_deg)
    return origin + np.array([facing * length * math.sin(a), -length * math.cos(a)])


def side_pose(
    *,
    trunk_deg: float = 0.0,
    neck_deg: float = 10.0,
    pitch_deg: float = 10.0,
    facing: int = 1,
    hips_visible: bool = True,
    standing: bool = False,
    size: tuple[int, int] = (640, 480),
) -> Pose:
    """A person in profile with chosen trunk and neck inclinations and head pitch (image pixels).

    World landmarks put one shoulder behind the other (yaw 90°), as a real side view does.
    """
    xy = np.zeros((N_LANDMARKS, 2))
    vis = np.full(N_LANDMARKS, 0.95)
    hip = np.array([320.0, 400.0])
    shoulder = _polar(hip, 200.0, trunk_deg, facing)
    ear = _polar(shoulder, 80.0, neck_deg, facing)
    p = math.radians(pitch_deg)
    ahead = np.array([facing * math.cos(p), math.sin(p)])  # the face's forward direction
    down = np.array([-facing * math.sin(p), math.cos(p)])  # and its downward direction
    nose = ear + 40.0 * ahead
    for lm in L:
        xy[lm] = shoulder
    for a, b, point in (
        (L.LEFT_HIP, L.RIGHT_HIP, hip),
        (L.LEFT_SHOULDER, L.RIGHT_SHOULDER, shoulder),
        (L.LEFT_EAR, L.RIGHT_EAR, ear),
    ):
        xy[a] = point + np.array([1.0, 0.0])
        xy[b] = point - np.array([1.0, 0.0])
    xy[L.NOSE] = nose
    for lm in (L.LEFT_EYE, L.RIGHT_EYE, L.LEFT_EYE_INNER, L.RIGHT_EYE_INNER):
        xy[lm] = ear + 28.0 * ahead - 8.0 * down
    for lm in (L.MOUTH_LEFT, L.MOUTH_RIGHT):
        xy[lm] = ear + 30.0 * ahead + 22.0 * down
    # Seated: the thighs run forward from the hips, nearly horizontal.
    for knee in (L.LEFT_KNEE, L.RIGHT_KNEE):
        xy[knee] = hip + np.array([facing * 180.0, 10.0])
    if standing:  # thighs hanging straight down, knees still inside the picture
        for knee in (L.LEFT_KNEE, L.RIGHT_KNEE):
            xy[knee] = hip + np.array([facing * 5.0, 75.0])
    if not hips_visible:
        vis[[L.LEFT_HIP, L.RIGHT_HIP, L.LEFT_KNEE, L.RIGHT_KNEE]] = 0.1
    world = np.zeros((N_LANDMARKS, 3))
    world[L.LEFT_SHOULDER] = [0.0, -0.5, 0.15]
    world[L.RIGHT_SHOULDER] = [0.0, -0.5, -0.15]
    return Pose(xy, vis, world, size)


def front_pose(
    *,
    shoulder_width: float = 200.0,
    head_height: float = 110.0,
    face_width: float = 70.0,
    tilt_deg: float = 0.0,
    centre: tuple[float, float] = (320.0, 300.0),
    hips_visible: bool = False,
    size: tuple[int, int] = (640, 480),
    head_forward_m: float = 0.02,
) -> Pose:
    """A person facing the camera (not mirrored: their left is image-right); ``head_forward_m``:
    how far the ears are nearer the camera than the shoulders, in MediaPipe's world metres."""
    xy = np.zeros((N_LANDMARKS, 2))
    vis = np.full(N_LANDMARKS, 0.95)
    c = np.array(centre)
    t = math.radians(tilt_deg)
    half = np.array([math.cos(t), -math.sin(t)]) * shoulder_width / 2  # + tilt raises the left side
    xy[L.LEFT_SHOULDER], xy[L.RIGHT_SHOULDER] = c + half, c - half
    ears = c + np.array([0.0, -head_height])
    xy[L.LEFT_EAR], xy[L.RIGHT_EAR] = (
        ears + np.array((face_width / 2, 0)),
        ears - np.array((face_width / 2, 0)),
    )
    xy[L.NOSE] = ears + np.array((0.0, 10.0))
    xy[L.LEFT_EYE], xy[L.RIGHT_EYE] = ears + np.array((15.0, -8.0)), ears - np.array((15.0, 8.0))
    xy[L.MOUTH_LEFT], xy[L.MOUTH_RIGHT] = ears + np.array((10.0, 28.0)), ears + np.array((-10.0, 28.0))
    xy[L.LEFT_HIP], xy[L.RIGHT_HIP] = c + np.array((70.0, 250.0)), c + np.array((-70.0, 250.0))
    if not hips_visible:
        vis[[L.LEFT_HIP, L.RIGHT_HIP]] = 0.1
    world = np.zeros((N_LANDMARKS, 3))
    world[L.LEFT_SHOULDER] = [0.18, -0.5, 0.0]
    world[L.RIGHT_SHOULDER] = [-0.18, -0.5, 0.0]
    world[L.LEFT_EAR] = [0.07, -0.7, -head_forward_m]
    world[L.RIGHT_EAR] = [-0.07, -0.7, -head_forward_m]
    return Pose(xy, vis, world, size)


UPRIGHT = side_pose(trunk_deg=-8.0, neck_deg=8.0, pitch_deg=10.0)  # sitting well, in profile
SLOUCHED = side_pose(trunk_deg=-5.0, neck_deg=32.0, pitch_deg=28.0)  # head forward and down


# -- readings ----------------------------------------------------------------------------------------


def make_reading(
    t_s: float = 0.0,
    *,
    posture: Verdict = Verdict.GOOD,
    view: str = "side",
    alert: bool = False,
    findings: dict[str, float] | None = None,
    estimated: frozenset[str] = frozenset(),
    **metrics: float,
) -> Reading:
    """A reading with the metrics named (the others None); away readings show nobody."""
    values: dict[str, float | None] = dict.fromkeys(METRIC_NAMES)
    values.update(metrics)
    return Reading(
        t_s=t_s,
        person=posture is not Verdict.AWAY,
        view=View(view) if posture is not Verdict.AWAY else View.UNKNOWN,
        metrics=values,
        findings=findings or {},
        posture=posture,
        alert=alert,
        estimated=estimated,
    )


# -- a hand-built session: 60 s in profile, with one alerted episode -----------------------------------

SESSION_FPS = 10.0
EVIL_SOURCE = Path("/videos/<script>alert(1)</script>&co.mp4")  # a name that must never become markup


def side_reading(
    t_s: float,
    posture: Verdict,
    *,
    view: str = "side",
    head: float = 0.0,
    trunk: float = 0.0,
    findings: dict[str, float] | None = None,
    metrics: dict[str, float] | None = None,
    alert: bool = False,
    estimated: frozenset[str] = frozenset(),
) -> Reading:
    """One hand-built reading as the pipeline judges a side view (``head``: the head forward,
    against the session's habit; ``trunk``: the trunk's inclination); away readings carry no
    metrics."""
    values: dict[str, float | None] = dict.fromkeys(METRIC_NAMES)
    sev = dict.fromkeys(FINDING_CODES, 0.0)
    person = posture is not Verdict.AWAY
    if person:
        if view == "side":
            values.update(
                neck_inclination_deg=head - 2.0,
                trunk_inclination_deg=trunk,
                head_forward_deg=head,
                neck_flexion_deg=head - 2.0 - trunk,
            )
        values.update(metrics or {})
        sev.update(findings or {})
    return Reading(
        t_s=t_s,
        person=person,
        view=View(view) if person else View.UNKNOWN,
        metrics=values,
        findings=sev,
        posture=posture,
        alert=alert,
        estimated=estimated,
        reasons=_reasons(sev, values) if person and view == "side" else (),
    )


# The hand-built side session's rules: the head forward of a habit of 10° (severity 1.0 at 24°),
# the trunk against everyone's limit.
HABIT_HEAD_DEG, HEAD_BAND_DEG = 10.0, 14.0


def _reasons(sev: dict[str, float], values: dict[str, float | None]) -> tuple[Reason, ...]:
    out = []
    head, trunk = values.get("head_forward_deg"), values.get("trunk_inclination_deg")
    if sev["forward_head"] > 0 and head is not None:
        limit = HABIT_HEAD_DEG + HEAD_BAND_DEG
        out.append(
            Reason(
                "forward_head", "head_forward_deg", head, limit, True, Reference.HABIT, sev["forward_head"]
            )
        )
    if sev["hunched_back"] > 0 and trunk is not None:
        limit = FindingRules().hunched_back_deg.limit
        out.append(
            Reason(
                "hunched_back",
                "trunk_inclination_deg",
                trunk,
                limit,
                True,
                Reference.EVERYONE,
                sev["hunched_back"],
            )
        )
    return tuple(out)


def side_session() -> tuple[list[Reading], list[Episode]]:
    """60 s at 10 fps: good, a 15 s forward-head stretch (alert after 5 s), away, good, a short
    glance over threshold that never became an episode. Hunched back rises but stays below 1."""
    readings = []
    for i in range(600):
        t = i / SESSION_FPS
        if 10.0 <= t < 25.0:
            head = 26.0 + 8.0 * np.sin((t - 10.0) / 15.0 * np.pi)
            sev = (head - 10.0) / 14.0
            readings.append(
                side_reading(
                    t,
                    Verdict.POOR,
                    head=head,
                    trunk=12.0,
                    findings={"forward_head": sev, "hunched_back": 0.7},
                    alert=t >= 15.0,
                )
            )
        elif 32.0 <= t < 40.0:
            readings.append(side_reading(t, Verdict.AWAY))
        elif 50.0 <= t < 52.0:
            readings.append(side_reading(t, Verdict.POOR, head=30.0, findings={"forward_head": 1.4}))
        else:
            readings.append(
                side_reading(t, Verdict.GOOD, head=4.0, trunk=-3.0, findings={"forward_head": 0.1})
            )
    episodes = [
        Episode(
            start_s=10.0,
            end_s=25.0,
            alert_s=15.0,
            findings={"forward_head": FindingStats(peak=2.3, mean=1.9, poor_s=15.0)},
        )
    ]
    return readings, episodes


def make_result(
    readings: list[Reading],
    episodes: list[Episode] | None = None,
    *,
    source: Path = EVIL_SOURCE,
    baseline: Baseline | None = None,
) -> AnalysisResult:
    """An analysed 640x480 video of these readings, sampled at SESSION_FPS, with no poses."""
    return AnalysisResult(
        source=source,
        info=VideoInfo(640, 480, 30.0, int(30 * len(readings) / SESSION_FPS)),
        model="hand-built readings",
        sample_fps=SESSION_FPS,
        readings=readings,
        poses=[None] * len(readings),
        episodes=episodes or [],
        baseline=baseline,
        calibrated_from="first 5 s" if baseline is not None else None,
    )


# -- the history ---------------------------------------------------------------------------------------


def summary_of(duration: float = 100.0, poor: float = 30.0, away: float = 10.0) -> SessionSummary:
    """A session's summary with these seconds poor and away out of ``duration`` (5 s uncertain)."""
    good = duration - poor - away - 5.0
    time_s = {"good": good, "poor": poor, "away": away, "uncertain": 5.0}
    return SessionSummary(
        duration_s=duration,
        frames_analysed=500,
        view=View.SIDE,
        views={View.SIDE: 450},
        time_s=time_s,
        share={k: v / duration for k, v in time_s.items()},
        poor_share_of_present=round(poor / (duration - away), 4),
        alert_s=12.0,
        finding_poor_s={"forward_head": 25.0, "hunched_back": 5.0},
        top_finding="forward_head",
        episodes=2,
        metrics={},
    )


def record_session(
    result: SimpleNamespace | None = None, source: str = "/videos/desk/clip.mp4", **summary
) -> int:
    """An analysed clip recorded in the history (``POSTURE_DATA_DIR``'s); its id."""
    return record_analysis(result or clip_result(), summary_of(**summary), source=source)


def clip_result(alerts: int = 1) -> SimpleNamespace:
    """What the history reads of an analysed clip's result: its source, events and wall time."""
    events = [SimpleNamespace(kind="episode_start")] + [SimpleNamespace(kind="alert")] * alerts
    return SimpleNamespace(source=Path("/videos/desk/clip.mp4"), events=events, wall_s=4.0)


# poor share, finding seconds, alerts, breaks per day, oldest first (None: no session that day)
WEEK = (
    (0.35, {"forward_head": 900.0, "hunched_back": 300.0}, 4, 1),
    (0.30, {"forward_head": 800.0}, 3, 2),
    None,
    (0.15, {"forward_head": 400.0, "side_lean": 100.0}, 1, 3),
    (0.10, {"forward_head": 300.0}, 1, 4),
    (0.12, {"hunched_back": 200.0}, 0, 4),
    (0.08, {"forward_head": 100.0}, 0, 5),
)
PRESENT_S = 3600.0


def week_of_days() -> list[DaySummary]:
    """The WEEK's days as the history sums them up, ending on 10 March 2026."""
    today = date(2026, 3, 10)
    out = []
    for i, spec in enumerate(WEEK):
        if spec is None:
            continue
        share, findings, alerts, breaks = spec
        out.append(
            DaySummary(
                today - timedelta(days=6 - i), 1, PRESENT_S, PRESENT_S * share, 1, alerts, breaks, findings
            )
        )
    return out


# -- files: profiles, clips, photos, archives ----------------------------------------------------------


def profile_document(**changes) -> dict:
    """A saved profile's JSON document (a good one, with ``changes``)."""
    good = {
        "kind": "posture-baseline",
        "version": 1,
        "created": "2026-01-01T00:00:00+00:00",
        "source": "x",
        "view": "side",
        "frames": 10,
        "values": {"neck_inclination_deg": 10.0, "trunk_inclination_deg": -5.0},
    }
    good.update(changes)
    return good


def write_video(
    path: Path,
    seconds: float = 2.0,
    fps: float = 10.0,
    *,
    size: tuple[int, int] = (160, 120),
    fourcc: str = "MJPG",
    grey: int | None = None,
) -> Path:
    """A small synthetic clip (nobody in it) for runs that must reach the outputs: its frames
    change (so nothing is skipped as a still picture), or are all of one ``grey`` level."""
    import cv2

    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    try:
        for i in range(round(seconds * fps)):
            writer.write(np.full((h, w, 3), 40 + (i * 5) % 200 if grey is None else grey, np.uint8))
    finally:
        writer.release()
    return path


def write_png(path: Path, size: tuple[int, int] = (64, 48)) -> Path:
    """A plain photo (nobody in it)."""
    from PIL import Image

    Image.new("RGB", size, (90, 120, 150)).save(path)
    return path


def has_colour(region: np.ndarray, bgr: tuple[int, int, int], tol: int = 12) -> bool:
    """Whether some pixel of ``region`` is within ``tol`` of the colour ``bgr``."""
    return bool(np.any(np.all(np.abs(region.astype(int) - np.array(bgr)) <= tol, axis=-1)))


def hex_rgb(colour: str) -> tuple[int, int, int]:
    """``#rrggbb`` as an (r, g, b) tuple."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def text_archive(root: Path, kinds: dict[str, str]) -> Path:
    """Files named like recordings whose text says how their (fake) analysis goes
    (:func:`tests.fakes.fake_run_analysis`), at the paths ``kinds`` gives."""
    for rel, content in kinds.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content + "\n", encoding="utf-8")
    return root


# A small archive of recordings cut from ../shared/footage, for the batch tests and bench/batch.py:
# short clips (a few seconds each, written with OpenCV into a temporary folder) so that a whole batch
# runs in seconds; never committed, never kept.

# (source clip under the footage folder, start s, length s, output width px)
CUTS: tuple[tuple[str, float, float, int], ...] = (
    ("side_video/chair_good_bad.mp4", 0.0, 3.0, 480),
    ("side_video/chair_good_bad.mp4", 3.0, 3.0, 480),
    ("side_video/home_office_cuts.mp4", 0.0, 3.0, 480),
    ("side_video/home_office_cuts.mp4", 6.0, 3.0, 480),
    ("side_video/home_office_cuts.mp4", 10.0, 3.5, 480),
    ("eval/side_clip.mp4", 2.0, 3.0, 218),
    ("eval/side_clip.mp4", 20.0, 3.0, 218),
    ("eval/desk_clip.mp4", 10.0, 3.0, 480),
)


@dataclass(frozen=True)
class Archive:
    root: Path
    good: tuple[Path, ...]  # complete recordings
    truncated_ok: Path  # cut short, still readable: analysed as far as it goes, with a note
    bad: tuple[Path, ...]  # cannot be analysed: failed, with a reason
    people_csv: Path

    @property
    def analysable(self) -> tuple[Path, ...]:
        return (*self.good, self.truncated_ok)


def cut_clip(
    src: Path, dst: Path, start_s: float, length_s: float, width: int, fourcc: str = "mp4v"
) -> float:
    """Writes ``length_s`` of ``src`` from ``start_s`` to ``dst``, scaled to ``width``; returns
    the seconds written."""
    import cv2

    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    cap.set(cv2.CAP_PROP_POS_MSEC, start_s * 1000.0)
    writer = None
    n = 0
    try:
        while n < round(length_s * fps):
            ok, frame = cap.read()
            if not ok:
                break
            h, w = frame.shape[:2]
            size = (width, round(h * width / w / 2) * 2)
            if writer is None:
                writer = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*fourcc), fps, size)
            writer.write(cv2.resize(frame, size, interpolation=cv2.INTER_AREA))
            n += 1
    finally:
        cap.release()
        if writer is not None:
            writer.release()
    if n == 0:
        raise RuntimeError(f"no frames read from {src} at {start_s} s")
    return n / fps


def build_archive(footage: Path, root: Path) -> Archive:
    """Twelve recordings: eight cuts (one in a nested folder), a byte-for-byte copy of one of
    them, an AVI cut short but readable, an MP4 cut short (its index is lost) and a text file
    named .mp4. People: a CSV names two people; the nested folder's recording is nobody's in it."""
    root.mkdir(parents=True, exist_ok=True)
    good = []
    for k, (rel, start, length, width) in enumerate(CUTS):
        folder = root / "nested" / "deeper" if k == len(CUTS) - 1 else root
        folder.mkdir(parents=True, exist_ok=True)
        dst = folder / f"clip{k:02d}.mp4"
        cut_clip(footage / rel, dst, start, length, width)
        good.append(dst)
    copy = root / "clip00_copy.mp4"
    shutil.copyfile(good[0], copy)
    good.append(copy)

    full = root / "whole.avi"
    cut_clip(footage / "side_video/chair_good_bad.mp4", full, 0.0, 4.0, 320, fourcc="MJPG")
    data = full.read_bytes()
    truncated_ok = root / "cut_short.avi"
    truncated_ok.write_bytes(data[: len(data) // 2])
    full.unlink()

    broken = root / "broken_index.mp4"
    broken.write_bytes(good[1].read_bytes()[: good[1].stat().st_size // 2])
    text = root / "notes.mp4"
    text.write_text("this is a text file with a video's name\n", encoding="utf-8")

    people = root / "people.csv"
    rows = ["file,person,baseline"]
    for k, path in enumerate([*good, truncated_ok, broken, text]):
        if path.parent != root:
            continue
        rows.append(f"{path.name},{'alice' if k % 2 == 0 else 'bob'},")
    people.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return Archive(root, tuple(good), truncated_ok, (broken, text), people)


# -- pages ------------------------------------------------------------------------------------------


class _Text(HTMLParser):
    """The page's visible text (entities decoded), for assertions that ignore markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag in ("style", "svg"):
            self._skip += 1

    def handle_endtag(self, tag) -> None:
        if tag in ("style", "svg"):
            self._skip -= 1

    def handle_data(self, data) -> None:
        if not self._skip:
            self.parts.append(data)


def text_of(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


def render(result: AnalysisResult, **options) -> str:
    """``report.html`` of a result, as text (written to memory, no files)."""
    from posture.outputs.report import write_report
    from posture.outputs.session_files import analysis_summary

    buf = io.StringIO()
    assert write_report(result, analysis_summary(result), buf, **options) is None
    return buf.getvalue()

"""Pure geometry on a :class:`~posture.landmarks.Pose`: the camera's view and the raw angles.

No OpenCV, no MediaPipe: numpy only, so every function is tested with hand-built landmarks.
Image y points down, so "up" in the formulas below is -y. Angles are in degrees.
"""

from __future__ import annotations

import math

import numpy as np

from posture.landmarks import Landmark as L
from posture.landmarks import Pose
from posture.reading import View  # the reading's own type; classified here

__all__ = [
    "View",
    "classify_view",
    "face_width_px",
    "facing_sign",
    "front_angles",
    "head_pitch_deg",
    "head_height_ratio",
    "inside_frame",
    "upper_body_problem",
    "inclination_deg",
    "neck_sagittal_3d_deg",
    "shoulder_yaw_deg",
    "side_angles",
]


# Shoulder-line yaw bands for the view (0° = shoulders square to the camera, 90° = true profile).
SIDE_MIN_YAW_DEG = 60.0
FRONT_MAX_YAW_DEG = 30.0


def _mid(pose: Pose, a: L, b: L) -> np.ndarray:
    return (pose.xy_px[a] + pose.xy_px[b]) / 2.0


def inclination_deg(lower: np.ndarray, upper: np.ndarray, facing: int) -> float:
    """Angle of the segment lower→upper against the image vertical.

    Reference axis: straight up in the image. Sign: + when ``upper`` is ahead of ``lower`` in the
    direction the person faces (``facing`` = +1 for facing image-right, -1 for image-left).
    """
    dx = (upper[0] - lower[0]) * facing
    dy = lower[1] - upper[1]  # positive when upper is above lower
    return math.degrees(math.atan2(dx, dy))


def facing_sign(pose: Pose, min_visibility: float = 0.5) -> int:
    """+1 when the person faces image-right, -1 image-left, 0 when it cannot be told.

    A vote of three cues, each counted only when its landmarks are seen: the nose ahead of the
    ears (in profile about half an ear-to-shoulder distance ahead; a face turned toward the camera
    brings it back over the ears and that cue abstains), the knees ahead of the hips (a seated
    person's thighs point forward), and the wrists ahead of the shoulders (hands on a desk or a
    keyboard). Head rotation alone can therefore never flip the direction a body faces.
    """
    ears = _mid(pose, L.LEFT_EAR, L.RIGHT_EAR)
    shoulders = _mid(pose, L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
    scale = max(float(np.linalg.norm(ears - shoulders)), 1e-6)
    votes = 0.0
    dx = float(pose.xy_px[L.NOSE][0] - ears[0])
    if abs(dx) >= 0.08 * scale:
        votes += 1.0 if dx > 0 else -1.0
    yaw = shoulder_yaw_deg(pose)
    if yaw is None or yaw < 45.0:  # the body's cues mean nothing when it faces the camera
        return 0 if votes == 0 else (1 if votes > 0 else -1)
    for near, far in ((L.LEFT_KNEE, L.LEFT_HIP), (L.RIGHT_KNEE, L.RIGHT_HIP)):
        if min(pose.visibility[near], pose.visibility[far]) >= max(min_visibility, 0.6):
            d = float(pose.xy_px[near][0] - pose.xy_px[far][0])
            if abs(d) >= 0.3 * scale:
                votes += 0.5 if d > 0 else -0.5
    for hand, shoulder in ((L.LEFT_WRIST, L.LEFT_SHOULDER), (L.RIGHT_WRIST, L.RIGHT_SHOULDER)):
        if min(pose.visibility[hand], pose.visibility[shoulder]) >= max(min_visibility, 0.6):
            d = float(pose.xy_px[hand][0] - pose.xy_px[shoulder][0])
            if abs(d) >= 0.5 * scale:
                votes += 0.25 if d > 0 else -0.25
    if abs(votes) < 0.5:
        return 0
    return 1 if votes > 0 else -1


def shoulder_yaw_deg(pose: Pose) -> float | None:
    """How far the shoulder line is turned away from the image plane, 0..90°.

    From MediaPipe's world landmarks (metres): 0° when both shoulders are at the same depth (front
    view), 90° when one is straight behind the other (side view). Falls back to the image: the
    shoulder width relative to the shoulder-to-hip (or shoulder-to-ear) length, which is small in
    profile.
    """
    if pose.world_m is not None:
        d = pose.world_m[L.LEFT_SHOULDER] - pose.world_m[L.RIGHT_SHOULDER]
        if np.all(np.isfinite(d)) and (abs(d[0]) + abs(d[2])) > 1e-6:
            return math.degrees(math.atan2(abs(d[2]), abs(d[0])))
    width = abs(pose.xy_px[L.LEFT_SHOULDER][0] - pose.xy_px[L.RIGHT_SHOULDER][0])
    shoulders = _mid(pose, L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
    ears = _mid(pose, L.LEFT_EAR, L.RIGHT_EAR)
    # A frontal shoulder-joint width is about twice the ear-to-shoulder height in adults.
    ref = 2.0 * float(np.linalg.norm(ears - shoulders))
    if ref <= 1e-6:
        return None
    return math.degrees(math.acos(min(1.0, width / ref)))


def classify_view(pose: Pose, min_visibility: float) -> View:
    """Side, front or oblique from the shoulder yaw; unknown when shoulders or head are unseen."""
    if pose.vis(L.LEFT_SHOULDER, L.RIGHT_SHOULDER) < min_visibility:
        return View.UNKNOWN
    if max(pose.visibility[L.LEFT_EAR], pose.visibility[L.RIGHT_EAR]) < min_visibility:
        return View.UNKNOWN
    yaw = shoulder_yaw_deg(pose)
    if yaw is None:
        return View.UNKNOWN
    if yaw >= SIDE_MIN_YAW_DEG:
        return View.SIDE if facing_sign(pose, min_visibility) != 0 else View.OBLIQUE
    if yaw <= FRONT_MAX_YAW_DEG:
        return View.FRONT
    return View.OBLIQUE


def side_angles(pose: Pose, min_visibility: float) -> dict[str, float | None]:
    """Sagittal angles from a side (or oblique) view, on the body's midline.

    The midpoints of both ears, both shoulders and both hips are used: in profile the two sides
    project almost onto each other, and their midpoint is the midline's projection, steadier than
    either side alone. ``neck_inclination_deg`` is shoulders→ears against the vertical and
    ``trunk_inclination_deg`` hips→shoulders against the vertical, both + forward, - reclined;
    ``head_pitch_deg`` (see :func:`head_pitch_deg`) is + looking down. Hip-based values are
    None unless the hips are actually visible (MediaPipe guesses hidden hips).
    """
    out: dict[str, float | None] = {
        "neck_inclination_deg": None,
        "trunk_inclination_deg": None,
        "neck_flexion_deg": None,
        "cva_deg": None,
        "head_pitch_deg": None,
    }
    facing = facing_sign(pose, min_visibility)
    if facing == 0:
        return out
    head_ok = max(pose.visibility[L.LEFT_EAR], pose.visibility[L.RIGHT_EAR]) >= min_visibility
    shoulders_ok = max(pose.visibility[L.LEFT_SHOULDER], pose.visibility[L.RIGHT_SHOULDER]) >= min_visibility
    hips_ok = max(pose.visibility[L.LEFT_HIP], pose.visibility[L.RIGHT_HIP]) >= min_visibility
    ears = _mid(pose, L.LEFT_EAR, L.RIGHT_EAR)
    shoulders = _mid(pose, L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
    if head_ok and shoulders_ok:
        neck = inclination_deg(shoulders, ears, facing)
        out["neck_inclination_deg"] = neck
        out["cva_deg"] = 90.0 - neck
        out["head_pitch_deg"] = head_pitch_deg(pose, min_visibility)
    if shoulders_ok and hips_ok:
        hips = _mid(pose, L.LEFT_HIP, L.RIGHT_HIP)
        trunk = inclination_deg(hips, shoulders, facing)
        out["trunk_inclination_deg"] = trunk
        if out["neck_inclination_deg"] is not None:
            out["neck_flexion_deg"] = out["neck_inclination_deg"] - trunk
    return out


def head_pitch_deg(pose: Pose, min_visibility: float) -> float | None:
    """How far the face is tipped down, from vertical distances only: + looking down.

    The nose's drop below the ears, against the face's own height (eyes to mouth), as an angle.
    A turn of the head about the vertical axis (toward the camera, another screen) moves the nose
    sideways but not up or down, so unlike an ears→nose angle this does not read a turned head
    as a dropped one. An estimate: its zero depends on the camera's height, so it is used only
    against the same person's upright posture, never as an absolute threshold.
    """
    face = (L.NOSE, L.LEFT_EYE, L.RIGHT_EYE, L.MOUTH_LEFT, L.MOUTH_RIGHT)
    if pose.vis(*face) < min_visibility:
        return None
    if max(pose.visibility[L.LEFT_EAR], pose.visibility[L.RIGHT_EAR]) < min_visibility:
        return None
    ear_y = _visible_mid_y(pose, L.LEFT_EAR, L.RIGHT_EAR)
    eyes = _mid(pose, L.LEFT_EYE, L.RIGHT_EYE)
    mouth = _mid(pose, L.MOUTH_LEFT, L.MOUTH_RIGHT)
    face_h = abs(float(mouth[1] - eyes[1]))
    if face_h <= 1e-6:
        return None
    return math.degrees(math.atan2(float(pose.xy_px[L.NOSE][1] - ear_y), face_h))


def _visible_mid_y(pose: Pose, a: L, b: L) -> float:
    """The y of the better seen of two twin landmarks, or of their midpoint when both are seen."""
    va, vb = pose.visibility[a], pose.visibility[b]
    if min(va, vb) >= 0.5:
        return float((pose.xy_px[a][1] + pose.xy_px[b][1]) / 2.0)
    return float(pose.xy_px[a if va >= vb else b][1])


def _tilt_deg(left: np.ndarray, right: np.ndarray) -> float:
    """Angle of the right→left line against the image horizontal; + when the left point is higher.

    Uses the landmarks' anatomical sides, so it reads the same on mirrored and unmirrored images.
    """
    dx = abs(left[0] - right[0])
    dy = right[1] - left[1]  # positive when left is higher (smaller y)
    return math.degrees(math.atan2(dy, max(dx, 1e-9)))


def front_angles(pose: Pose, min_visibility: float) -> dict[str, float | None]:
    """Lateral angles from a front view, against the image axes.

    ``shoulder_tilt_deg``: shoulder line vs horizontal, + when the left shoulder is higher.
    ``head_roll_deg``: ear line vs horizontal, + when the left ear is higher.
    ``trunk_side_lean_deg``: hips→shoulders midline vs vertical, + leaning to the person's left;
    only with visible hips.
    """
    out: dict[str, float | None] = {
        "shoulder_tilt_deg": None,
        "head_roll_deg": None,
        "trunk_side_lean_deg": None,
    }
    if pose.vis(L.LEFT_SHOULDER, L.RIGHT_SHOULDER) >= min_visibility:
        out["shoulder_tilt_deg"] = _tilt_deg(pose.xy_px[L.LEFT_SHOULDER], pose.xy_px[L.RIGHT_SHOULDER])
        if pose.vis(L.LEFT_HIP, L.RIGHT_HIP) >= min_visibility:
            shoulders = _mid(pose, L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
            hips = _mid(pose, L.LEFT_HIP, L.RIGHT_HIP)
            # The person's left is the side of the left landmarks, whichever way the image is.
            left_dir = 1 if pose.xy_px[L.LEFT_SHOULDER][0] > pose.xy_px[L.RIGHT_SHOULDER][0] else -1
            out["trunk_side_lean_deg"] = inclination_deg(hips, shoulders, left_dir)
    if pose.vis(L.LEFT_EAR, L.RIGHT_EAR) >= min_visibility:
        out["head_roll_deg"] = _tilt_deg(pose.xy_px[L.LEFT_EAR], pose.xy_px[L.RIGHT_EAR])
    return out


def face_width_px(pose: Pose, min_visibility: float) -> float | None:
    """Ear-to-ear distance in pixels (eye-to-eye x 2.2 when an ear is hidden): the face's scale.

    Under a pinhole camera it is inversely proportional to the distance to the camera.
    """
    if pose.vis(L.LEFT_EAR, L.RIGHT_EAR) >= min_visibility:
        return float(np.linalg.norm(pose.xy_px[L.LEFT_EAR] - pose.xy_px[L.RIGHT_EAR]))
    if pose.vis(L.LEFT_EYE, L.RIGHT_EYE) >= min_visibility:
        return 2.2 * float(np.linalg.norm(pose.xy_px[L.LEFT_EYE] - pose.xy_px[L.RIGHT_EYE]))
    return None


def head_height_ratio(pose: Pose, min_visibility: float) -> float | None:
    """Height of the nose above the shoulder line, over the shoulder width.

    Falls as the head comes forward and down in front of a frontal camera, and as the body sinks
    into a slump; scale-free. The nose rather than the ears: it is always seen from the front,
    and it drops further when the head tips down (measured on the front sources, it separates
    poor from good more cleanly than the ears do: see ``bench/accuracy.py``).
    """
    if pose.vis(L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.NOSE) < min_visibility:
        return None
    shoulders = _mid(pose, L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
    width = float(np.linalg.norm(pose.xy_px[L.LEFT_SHOULDER] - pose.xy_px[L.RIGHT_SHOULDER]))
    if width <= 1e-6:
        return None
    return float(shoulders[1] - pose.xy_px[L.NOSE][1]) / width


def neck_sagittal_3d_deg(pose: Pose, min_visibility: float) -> float | None:
    """Shoulders→ears inclination in MediaPipe's world frame, projected on the y-z plane.

    + when the ears are nearer the camera than the shoulders (head forward toward a front camera).
    MediaPipe's depth is biased on frontal images, so this is only meaningful as a change from
    the user's own baseline.
    """
    if pose.world_m is None:
        return None
    if pose.vis(L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_EAR, L.RIGHT_EAR) < min_visibility:
        return None
    w = pose.world_m
    shoulders = (w[L.LEFT_SHOULDER] + w[L.RIGHT_SHOULDER]) / 2.0
    ears = (w[L.LEFT_EAR] + w[L.RIGHT_EAR]) / 2.0
    forward = shoulders[2] - ears[2]  # z grows away from the camera
    up = shoulders[1] - ears[1]  # y grows downward
    return math.degrees(math.atan2(forward, up))


# Thighs within this angle of the vertical mean standing; seated thighs are near horizontal.
STANDING_THIGH_MAX_DEG = 35.0


def is_standing(pose: Pose, min_visibility: float) -> bool:
    """True when, from the side, both hips and knees are clearly seen inside the picture and
    the thighs hang close to vertical.

    Someone who stood up from the desk is not sitting poorly; the monitor counts it as away.
    Only a side view shows the thighs' angle; knees outside the picture or barely visible (the
    usual desk view, where MediaPipe guesses them) never count as standing.
    """
    legs = (L.LEFT_HIP, L.RIGHT_HIP, L.LEFT_KNEE, L.RIGHT_KNEE)
    if pose.vis(*legs) < max(min_visibility, 0.8):
        return False
    w, h = pose.image_size
    pts = pose.xy_px[list(legs)]
    if not (
        np.all(pts[:, 0] >= 0) and np.all(pts[:, 0] < w) and np.all(pts[:, 1] >= 0) and np.all(pts[:, 1] < h)
    ):
        return False
    yaw = shoulder_yaw_deg(pose)
    if yaw is None or yaw < SIDE_MIN_YAW_DEG:
        return False
    hips = _mid(pose, L.LEFT_HIP, L.RIGHT_HIP)
    knees = _mid(pose, L.LEFT_KNEE, L.RIGHT_KNEE)
    dx, dy = knees[0] - hips[0], knees[1] - hips[1]
    if dy <= 0:  # knees above the hips: not standing
        return False
    return math.degrees(math.atan2(abs(dx), dy)) <= STANDING_THIGH_MAX_DEG


# What a seated body can show. Outside these the landmarks are wrong (a limb taken for another, a
# person lying down or upside down), and a verdict would be a guess.
PLAUSIBLE_NECK_DEG = (-60.0, 75.0)
PLAUSIBLE_TRUNK_DEG = (-65.0, 65.0)
PLAUSIBLE_TILT_DEG = 30.0  # shoulder line or head against the horizontal, front view
PLAUSIBLE_SIDE_LEAN_DEG = 40.0


def inside_frame(pose: Pose, *lms: L, margin: float = 0.02) -> bool:
    """Whether the landmarks lie inside the picture (MediaPipe extrapolates points beyond it)."""
    w, h = pose.image_size
    pts = pose.xy_px[list(lms)]
    mx, my = margin * w, margin * h
    return bool(
        np.all(pts[:, 0] >= -mx)
        and np.all(pts[:, 0] <= w + mx)
        and np.all(pts[:, 1] >= -my)
        and np.all(pts[:, 1] <= h + my)
    )


def upper_body_problem(pose: Pose, view: View, min_visibility: float) -> str | None:
    """Why this pose cannot be judged, or None when it can: the head or the shoulders unseen or
    out of the picture, the head not above the shoulders, or only a face in the picture."""
    ears = (L.LEFT_EAR, L.RIGHT_EAR)
    shoulders = (L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
    if max(pose.visibility[e] for e in ears) < min_visibility:
        return "head not seen"
    if max(pose.visibility[s] for s in shoulders) < min_visibility:
        return "shoulders not seen"
    seen_ears = [e for e in ears if pose.visibility[e] >= min_visibility]
    seen_shoulders = [s for s in shoulders if pose.visibility[s] >= min_visibility]
    if not inside_frame(pose, *seen_ears, L.NOSE):
        return "head out of the picture"
    if not inside_frame(pose, *seen_shoulders):
        return "shoulders out of the picture"
    ear_y = float(np.mean([pose.xy_px[e][1] for e in seen_ears]))
    shoulder_y = float(np.mean([pose.xy_px[s][1] for s in seen_shoulders]))
    if ear_y >= shoulder_y:
        return "head not above the shoulders"
    if view is View.FRONT and pose.vis(*shoulders) >= min_visibility:
        shoulder_w = float(np.linalg.norm(pose.xy_px[L.LEFT_SHOULDER] - pose.xy_px[L.RIGHT_SHOULDER]))
        face_w = face_width_px(pose, min_visibility)
        if face_w is not None and shoulder_w < 1.2 * face_w:
            return "only the face in the picture"
    return None

#!/usr/bin/env python3
"""Build ``samples/demo_desk.mp4``, the synthetic desk clip that ``posture demo`` analyses.

What it does
    Takes one still photo and animates it on a 640x480 canvas at 15 fps, imitating a person at a
    desk seen by a webcam from the front (timeline in SEGMENTS below and in samples/README.md):

    * upright, calm (the first 10 s; ``posture`` calibrates its baseline from the first seconds);
    * leaning in toward the screen: a smooth zoom (x1.40) about the chin;
    * upright again;
    * head drop / slump: the head is cut out as a soft-edged layer and sinks toward the shoulders
      (65 photo px, scaled x0.91) while the rest of the picture grows x1.10 about a point below
      the frame, as a trunk coming forward would; what the head uncovers is painted in from the
      surrounding backdrop (OpenCV inpainting);
    * upright again.

    Tiny sway and breathing, a slight light flicker and sensor grain keep it from looking frozen; a
    soft, low-contrast "webcam" look keeps the file small. A caption at the bottom says the clip is
    generated. Everything is deterministic (fixed seed); the bytes depend only on the OpenCV build.

Source image and licence
    The portrait of NASA astronaut Eileen Collins shipped with scikit-image as
    ``skimage.data.astronaut()`` (512x512 RGB). It is a NASA photograph and therefore in the public
    domain (works of the US federal government are not subject to copyright); scikit-image
    documents it as such. No other footage or image is used.

Requirements
    numpy and opencv (both runtime dependencies of posture) plus scikit-image, which is only a
    development tool for regenerating this clip and NOT a dependency of posture::

        pip install scikit-image

    ``--check`` also needs mediapipe (a runtime dependency of posture).

How to run (from the repository root)
    python samples/make_demo_clip.py            # writes samples/demo_desk.mp4
    python samples/make_demo_clip.py --check    # then verifies it with MediaPipe Pose
    python samples/make_demo_clip.py --check-only [--step 3]   # verify an existing clip only

The verification runs the legacy ``mediapipe.solutions.pose.Pose(model_complexity=1)`` in video
mode and, per segment, prints the detection rate, the share of frontal views and the change of the
face width (ear to ear) and of the head-height ratio (ears above the shoulder line / shoulder width)
against the mean of the first 5 s, using ``posture.geometry``. It exits non-zero when the clip does
not show what the timeline promises.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "demo_desk.mp4"

WIDTH, HEIGHT = 640, 480
FPS = 15
SEED = 20240611
CAPTION = "posture demo clip \u2014 generated from a public-domain NASA portrait"

# ---------------------------------------------------------------------------------------------
# Timeline. Each transition lasts TRANSITION_S and belongs to the segment it leads into; the
# "hold" part of a segment (after its transition) is what the verification measures.
# ---------------------------------------------------------------------------------------------
TRANSITION_S = 2.0


@dataclass(frozen=True)
class Segment:
    name: str
    kind: str  # "upright", "lean_in" or "slump"
    start_s: float
    end_s: float
    transition_s: float  # leading transition into this segment's pose (0 for the first)

    @property
    def hold_start_s(self) -> float:
        return self.start_s + self.transition_s


SEGMENTS: tuple[Segment, ...] = (
    Segment("upright (calibration)", "upright", 0.0, 10.0, 0.0),
    Segment("leaning in", "lean_in", 10.0, 24.0, TRANSITION_S),
    Segment("upright", "upright", 24.0, 34.0, TRANSITION_S),
    Segment("head drop / slump", "slump", 34.0, 48.0, TRANSITION_S),
    Segment("upright", "upright", 48.0, 58.0, TRANSITION_S),
)
DURATION_S = SEGMENTS[-1].end_s
BASELINE_S = 5.0  # the verification's reference: the mean over the first 5 s

# ---------------------------------------------------------------------------------------------
# Geometry of the source photo (pixels of the 512x512 image), measured once with MediaPipe.
# ---------------------------------------------------------------------------------------------
PHOTO_SCALE = 1.25  # photo px -> canvas px; the canvas shows photo rows 0..384 (a 4:3 crop)
FACE_CENTRE = (229.0, 118.0)  # between the ears
# The head layer that the slump moves: hair and face as two ellipses, (centre x, centre y, half
# width, half height); the chin is at y ~ 178, the suit's neck ring starts just below it.
HEAD_ELLIPSES = ((227.0, 72.0, 76.0, 60.0), (229.0, 134.0, 41.0, 46.0))
HEAD_FEATHER_PX = 3.0

SWAY_UPDATE_HZ = 5.0
CAMERA_BLUR_SIGMA = 1.5
CAMERA_CONTRAST = 0.8
CAMERA_SATURATION = 0.8
CAMERA_NOISE_SIGMA = 1.5

LEAN_IN_ZOOM = 1.40  # picture scale at full lean-in
LEAN_IN_CENTRE = (229.0, 180.0)  # the zoom's fixed point, at the chin (photo px)
SLUMP_DROP_PX = 65.0  # how far the head sinks toward the shoulders at full slump (photo px)
SLUMP_HEAD_SCALE = 0.91  # the head's scale at full slump (about its centre)
SLUMP_TRUNK_SCALE = 1.10  # the trunk's scale at full slump, about TRUNK_PIVOT (canvas px)
TRUNK_PIVOT = (WIDTH / 2.0, HEIGHT * 1.5)


def _smoothstep(x: np.ndarray | float) -> np.ndarray | float:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def pose_amounts(t: float) -> tuple[float, float]:
    """(lean-in, slump) amounts in [0, 1] at time t: smooth steps at the segment boundaries."""
    lean = slump = 0.0
    for i, seg in enumerate(SEGMENTS):
        if not seg.start_s <= t < seg.end_s and not (i == len(SEGMENTS) - 1 and t >= seg.end_s):
            continue
        prev = SEGMENTS[i - 1].kind if i > 0 else seg.kind
        a = 1.0 if seg.transition_s <= 0 else float(_smoothstep((t - seg.start_s) / seg.transition_s))
        target = {"lean_in": (1.0, 0.0), "slump": (0.0, 1.0), "upright": (0.0, 0.0)}
        lean = (1 - a) * target[prev][0] + a * target[seg.kind][0]
        slump = (1 - a) * target[prev][1] + a * target[seg.kind][1]
    return lean, slump


def _sway_time(t: float) -> float:
    """The sway's clock, which ticks SWAY_UPDATE_HZ times a second.

    The sway moves well under a pixel per frame, so updating it a few times a second looks the
    same but lets the encoder skip the unchanged frames in between, which keeps the file small.
    """
    return math.floor(t * SWAY_UPDATE_HZ) / SWAY_UPDATE_HZ


class Sway:
    """Slow, small, deterministic body motion: a sum of a few sines per degree of freedom."""

    def __init__(self, rng: np.random.Generator) -> None:
        def waves(n: int, amp: float) -> list[tuple[float, float, float]]:
            freqs = rng.uniform(0.04, 0.25, n)
            phases = rng.uniform(0, 2 * math.pi, n)
            amps = amp * rng.uniform(0.5, 1.0, n) / n
            return list(zip(amps, freqs, phases))

        self.dx = waves(3, 5.0)  # canvas px
        self.dy = waves(3, 3.0)
        self.rot = waves(3, 1.2)  # degrees
        self.breath = (0.004, rng.uniform(0.22, 0.28), rng.uniform(0, 2 * math.pi))  # scale, ~15/min
        self.light = waves(2, 0.03)

    @staticmethod
    def _eval(ws: list[tuple[float, float, float]], t: float) -> float:
        return sum(a * math.sin(2 * math.pi * f * t + p) for a, f, p in ws)

    def at(self, t: float) -> dict[str, float]:
        a, f, p = self.breath
        return {
            "dx": self._eval(self.dx, t),
            "dy": self._eval(self.dy, t) + 1.5 * math.sin(2 * math.pi * f * t + p),
            "rot_deg": self._eval(self.rot, t),
            "scale": 1.0 + a * math.sin(2 * math.pi * f * t + p),
            "gain": 1.0 + self._eval(self.light, t),
        }


TOP_PAD = 128  # rows of synthesized backdrop above the photo, revealed when the head drops


def _extend_backdrop(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The photo with TOP_PAD rows of plausible studio backdrop added above it.

    The photo's top edge is inpainted upward, blurred (so it has no streaks) and given a faint
    mottle like the original backdrop, then blended into the photo's first rows.
    """
    h, w = photo.shape[:2]
    ext = np.zeros((h + TOP_PAD, w, 3), np.uint8)
    ext[TOP_PAD:] = photo
    mask = np.zeros((h + TOP_PAD, w), np.uint8)
    mask[:TOP_PAD] = 255
    ext = cv2.inpaint(ext, mask, 9, cv2.INPAINT_TELEA)
    pad = ext[: TOP_PAD + 8].astype(np.float32)
    pad = cv2.GaussianBlur(pad, (0, 0), sigmaX=14, sigmaY=6)
    mottle = cv2.GaussianBlur(rng.normal(0, 1, pad.shape[:2]).astype(np.float32), (0, 0), 9)
    pad += (mottle / (mottle.std() + 1e-6) * 4.0)[..., None]
    out = ext.astype(np.float32)
    out[: TOP_PAD + 8] = pad
    # Feather the seam over 8 rows of the photo.
    a = np.linspace(1.0, 0.0, 8, dtype=np.float32)[:, None, None]
    out[TOP_PAD : TOP_PAD + 8] = a * pad[TOP_PAD:] + (1 - a) * photo[:8].astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def _head_mask(shape: tuple[int, int]) -> np.ndarray:
    """Soft alpha (float32, 0..1) of the head layer in the padded photo."""
    mask = np.zeros(shape, np.uint8)
    for cx, cy, ax, ay in HEAD_ELLIPSES:
        centre = (round(cx * 4), round((cy + TOP_PAD) * 4))
        cv2.ellipse(mask, centre, (round(ax * 4), round(ay * 4)), 0, 0, 360, 255, -1, cv2.LINE_AA, shift=2)
    return cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), HEAD_FEATHER_PX)


def _clean_plate(photo: np.ndarray, head_alpha: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The padded photo with the head painted out: what the sinking head uncovers."""
    hole = cv2.dilate((head_alpha > 0.02).astype(np.uint8) * 255, np.ones((9, 9), np.uint8))
    plate = cv2.inpaint(photo, hole, 12, cv2.INPAINT_TELEA).astype(np.float32)
    smooth = cv2.GaussianBlur(plate, (0, 0), 6)
    mottle = cv2.GaussianBlur(rng.normal(0, 1, hole.shape).astype(np.float32), (0, 0), 5)
    smooth += (mottle / (mottle.std() + 1e-6) * 3.0)[..., None]
    inside = cv2.GaussianBlur((hole > 0).astype(np.float32), (0, 0), 3)[..., None]
    return np.clip(smooth * inside + plate * (1 - inside), 0, 255).astype(np.uint8)


def _similarity(scale: float, rot_deg: float, centre: tuple[float, float], shift: tuple[float, float]):
    """3x3 matrix: scale and rotate about ``centre``, then translate by ``shift``."""
    c, s = math.cos(math.radians(rot_deg)) * scale, math.sin(math.radians(rot_deg)) * scale
    cx, cy = centre
    return np.array(
        [
            [c, -s, cx - c * cx + s * cy + shift[0]],
            [s, c, cy - s * cx - c * cy + shift[1]],
            [0.0, 0.0, 1.0],
        ]
    )


class ClipRenderer:
    def __init__(self, photo_bgr: np.ndarray, seed: int = SEED) -> None:
        self.photo = _extend_backdrop(photo_bgr, np.random.default_rng(seed + 1))
        self.head_alpha = _head_mask(self.photo.shape[:2])
        self.plate = _clean_plate(self.photo, self.head_alpha, np.random.default_rng(seed + 2))
        self.rng = np.random.default_rng(seed)
        self.sway = Sway(self.rng)
        ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
        self.canvas_xy = np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])  # 3 x N
        self.caption = _caption_overlay()
        self._noise_tick = -1.0
        self._noise = np.zeros((HEIGHT, WIDTH, 1), np.float32)

    def _maps(self, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
        """Source coordinates (in the padded photo) of every canvas pixel: body, then head layer."""
        lean, slump = pose_amounts(t)
        sw = self.sway.at(_sway_time(t))
        photo_to_canvas = np.diag([PHOTO_SCALE, PHOTO_SCALE, 1.0])
        lean_centre = (LEAN_IN_CENTRE[0] * PHOTO_SCALE, LEAN_IN_CENTRE[1] * PHOTO_SCALE)
        zoom = _similarity(1.0 + (LEAN_IN_ZOOM - 1.0) * lean, 0.0, lean_centre, (0.0, 0.0))
        # Sway pivots about a point below the frame (the hips), as a seated body does.
        pivot = (WIDTH / 2.0, HEIGHT * 1.4)
        body = _similarity(sw["scale"], sw["rot_deg"], pivot, (sw["dx"], sw["dy"]))
        head_to_canvas = body @ zoom @ photo_to_canvas  # photo -> canvas, for the head layer
        # The slumped trunk comes forward, nearer the camera: it grows about the hips, which also
        # lifts the shoulders toward the sinking head.
        trunk = _similarity(1.0 + (SLUMP_TRUNK_SCALE - 1.0) * slump, 0.0, TRUNK_PIVOT, (0.0, 0.0))
        px, py, _ = np.linalg.inv(body @ zoom @ trunk @ photo_to_canvas) @ self.canvas_xy
        # The head layer sinks by `drop` (and scales about the face centre).
        qx, qy, _ = np.linalg.inv(head_to_canvas) @ self.canvas_xy
        drop = SLUMP_DROP_PX * slump
        hs = 1.0 + (SLUMP_HEAD_SCALE - 1.0) * slump
        fx, fy = FACE_CENTRE
        hx = fx + (qx - fx) / hs
        hy = fy + (qy - drop - fy) / hs
        shape = (HEIGHT, WIDTH)
        return (
            px.reshape(shape).astype(np.float32),
            (py + TOP_PAD).reshape(shape).astype(np.float32),
            hx.reshape(shape).astype(np.float32),
            (hy + TOP_PAD).reshape(shape).astype(np.float32),
            slump,
        )

    def frame(self, index: int) -> np.ndarray:
        t = index / FPS
        bx, by, hx, hy, slump = self._maps(t)
        border = cv2.BORDER_REPLICATE
        body = cv2.remap(self.photo, bx, by, cv2.INTER_LINEAR, borderMode=border).astype(np.float32)
        if slump > 0:
            # Behind the head: the painted-out plate, faded in over the first part of the drop so
            # that upright frames are the untouched photo.
            k = float(_smoothstep(slump / 0.25))
            plate = cv2.remap(self.plate, bx, by, cv2.INTER_LINEAR, borderMode=border).astype(np.float32)
            body += k * (plate - body)
        head = cv2.remap(self.photo, hx, hy, cv2.INTER_LINEAR, borderMode=border).astype(np.float32)
        a = cv2.remap(self.head_alpha, hx, hy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)[..., None]
        img = np.clip(head * a + body * (1.0 - a), 0, 255).astype(np.uint8)
        return self._add_caption(self._camera_look(img, t))

    def _camera_look(self, img: np.ndarray, t: float) -> np.ndarray:
        """A cheap webcam: soft optics, flat contrast, muted colour, light flicker, sensor noise.

        The softness and flat contrast also keep the clip small: OpenCV's MPEG-4 writer has a fixed
        quantiser and key-frame interval, so the file size is set by the picture's detail.
        """
        img = cv2.GaussianBlur(img, (0, 0), CAMERA_BLUR_SIGMA)
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
        hsv[..., 1] = (hsv[..., 1].astype(np.float32) * CAMERA_SATURATION).astype(np.uint8)
        f = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR).astype(np.float32)
        f = (f - 128.0) * CAMERA_CONTRAST + 128.0 + 6.0
        tick = _sway_time(t)
        f *= self.sway.at(tick)["gain"]
        if tick != self._noise_tick:  # new grain on every sway tick
            self._noise_tick = tick
            self._noise = self.rng.normal(0.0, CAMERA_NOISE_SIGMA, (HEIGHT, WIDTH, 1)).astype(np.float32)
        f += self._noise
        return np.clip(f, 0, 255).astype(np.uint8)

    def _add_caption(self, img: np.ndarray) -> np.ndarray:
        alpha, colour = self.caption
        h = alpha.shape[0]
        band = img[HEIGHT - h :].astype(np.float32)
        band *= 0.45  # darken the strip so the caption reads on any background
        a = alpha[..., None]
        band = band * (1 - a) + colour * a
        img[HEIGHT - h :] = np.clip(band, 0, 255).astype(np.uint8)
        return img

    def frames(self) -> Iterator[np.ndarray]:
        for i in range(round(DURATION_S * FPS)):
            yield self.frame(i)


def _caption_font(image_font):
    """DejaVu Sans (system-wide, or the copy bundled with matplotlib), or None."""
    candidates = ["DejaVuSans.ttf"]
    try:
        import matplotlib

        candidates.append(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"))
    except ImportError:
        pass
    for name in candidates:
        try:
            return image_font.truetype(name, 13)
        except OSError:
            continue
    return None


def _caption_overlay() -> tuple[np.ndarray, np.ndarray]:
    """(alpha HxW in [0,1], BGR colour) of the caption strip, drawn with Pillow when available."""
    strip_h = 22
    try:
        from PIL import Image, ImageDraw, ImageFont

        font, text = _caption_font(ImageFont), CAPTION
        if font is None:  # Pillow's own font has no em dash
            font, text = ImageFont.load_default(), CAPTION.replace("\u2014", "-")
        canvas = Image.new("L", (WIDTH, strip_h), 0)
        draw = ImageDraw.Draw(canvas)
        box = draw.textbbox((0, 0), text, font=font)
        x = (WIDTH - (box[2] - box[0])) // 2 - box[0]
        y = (strip_h - (box[3] - box[1])) // 2 - box[1]
        draw.text((x, y), text, fill=255, font=font)
        alpha = np.asarray(canvas, dtype=np.float32) / 255.0
    except ImportError:
        mask = np.zeros((strip_h, WIDTH), np.uint8)
        text = CAPTION.replace("\u2014", "-")
        (tw, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.42, 1)
        cv2.putText(mask, text, ((WIDTH - tw) // 2, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.42, 255, 1, cv2.LINE_AA)
        alpha = mask.astype(np.float32) / 255.0
    # Whole strip gets darkened in _add_caption; alpha only marks the glyphs.
    return alpha, np.array([235.0, 235.0, 235.0], dtype=np.float32)


def load_photo() -> np.ndarray:
    try:
        from skimage import data
    except ImportError:
        sys.exit(
            "make_demo_clip.py needs scikit-image for the source photo (skimage.data.astronaut()).\n"
            "It is a development tool for regenerating the clip, not a dependency of posture:\n"
            "    pip install scikit-image"
        )
    rgb = data.astronaut()
    if rgb.shape != (512, 512, 3):
        sys.exit(f"unexpected skimage.data.astronaut() shape {rgb.shape}; expected (512, 512, 3)")
    return np.ascontiguousarray(rgb[:, :, ::-1])  # RGB -> BGR for OpenCV


def write_clip(out: Path) -> None:
    renderer = ClipRenderer(load_photo())
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".tmp" + out.suffix)
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    if not writer.isOpened():
        sys.exit(f"OpenCV could not open a video writer for {tmp}")
    n = 0
    for img in renderer.frames():
        writer.write(img)
        n += 1
    writer.release()
    tmp.replace(out)
    print(f"wrote {out} ({n} frames, {n / FPS:.1f} s, {out.stat().st_size / 1e6:.2f} MB)")


# ---------------------------------------------------------------------------------------------
# Verification with MediaPipe
# ---------------------------------------------------------------------------------------------


def _import_geometry():
    root = HERE.parent
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from posture import geometry
    from posture.landmarks import N_LANDMARKS, Pose

    return geometry, Pose, N_LANDMARKS


def measure_clip(path: Path, step: int = 1) -> list[dict]:
    """Per analysed frame: t, person found, view, face width px, head-height ratio, shoulder tilt."""
    try:
        import mediapipe as mp
    except ImportError:
        sys.exit("--check needs mediapipe (pip install mediapipe==0.10.21)")
    geo, Pose, n_lm = _import_geometry()
    vis = 0.5  # posture's default metrics.min_visibility
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        sys.exit(f"cannot open {path}")
    fps = cap.get(cv2.CAP_PROP_FPS) or FPS
    rows = []
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1) as pose_model:
        i = -1
        while True:
            ok, img = cap.read()
            if not ok:
                break
            i += 1
            if i % step:
                continue
            h, w = img.shape[:2]
            res = pose_model.process(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            row = {"t": i / fps, "person": res.pose_landmarks is not None}
            if row["person"]:
                lms = res.pose_landmarks.landmark
                xy = np.array([[p.x * w, p.y * h] for p in lms[:n_lm]])
                v = np.array([p.visibility for p in lms[:n_lm]])
                world = None
                if res.pose_world_landmarks is not None:
                    world = np.array([[p.x, p.y, p.z] for p in res.pose_world_landmarks.landmark[:n_lm]])
                pose = Pose(xy, v, world, (w, h))
                row["view"] = geo.classify_view(pose, vis).value
                row["face_w"] = geo.face_width_px(pose, vis)
                row["head_ratio"] = geo.head_height_ratio(pose, vis)
                row["tilt"] = geo.front_angles(pose, vis)["shoulder_tilt_deg"]
            rows.append(row)
    cap.release()
    return rows


def _mean(xs: list[float]) -> float:
    return float(np.mean(xs)) if xs else float("nan")


def check_clip(path: Path, step: int = 1) -> bool:
    rows = measure_clip(path, step)
    if not rows:
        print("no frames read")
        return False

    def vals(key: str, t0: float, t1: float) -> list[float]:
        return [r[key] for r in rows if t0 <= r["t"] < t1 and r["person"] and r.get(key) is not None]

    base_w = _mean(vals("face_w", 0.0, BASELINE_S))
    base_r = _mean(vals("head_ratio", 0.0, BASELINE_S))
    base_tilt = _mean(vals("tilt", 0.0, BASELINE_S))
    n_all = len(rows)
    n_person = sum(r["person"] for r in rows)
    n_front = sum(r.get("view") == "front" for r in rows)
    print(
        f"{path}: {n_all} frames analysed (every {step}), person on {100 * n_person / n_all:.1f} %, "
        f"front view on {100 * n_front / n_all:.1f} %"
    )
    print(
        f"baseline (first {BASELINE_S:.0f} s): face width {base_w:.1f} px, head-height ratio {base_r:.3f}, "
        f"shoulder tilt {base_tilt:+.1f} deg"
    )
    hdr = (
        f"{'segment':24} {'hold (s)':>11} {'frames':>6} {'person':>7} {'front':>6} "
        f"{'face w':>8} {'[p5, p95]':>16} {'head ratio':>10} {'[p5, p95]':>16} {'tilt':>6}"
    )
    print(hdr)
    print("-" * len(hdr))
    ok = n_person >= 0.98 * n_all and n_front >= 0.95 * n_all
    for seg in SEGMENTS:
        t0, t1 = seg.hold_start_s, seg.end_s
        seg_rows = [r for r in rows if t0 <= r["t"] < t1]
        fw = np.array(vals("face_w", t0, t1)) / base_w - 1.0
        hr = np.array(vals("head_ratio", t0, t1)) / base_r - 1.0
        tl = np.array(vals("tilt", t0, t1)) - base_tilt
        person = sum(r["person"] for r in seg_rows) / max(len(seg_rows), 1)
        front = sum(r.get("view") == "front" for r in seg_rows) / max(len(seg_rows), 1)

        def pct(a: np.ndarray) -> str:
            return f"{100 * a.mean():+7.1f}%" if a.size else "    n/a"

        def rng(a: np.ndarray) -> str:
            if not a.size:
                return ""
            return f"[{100 * np.percentile(a, 5):+5.1f}, {100 * np.percentile(a, 95):+5.1f}]"

        print(
            f"{seg.name:24} {t0:5.1f}-{t1:5.1f} {len(seg_rows):6d} {100 * person:6.1f}% {100 * front:5.1f}% "
            f"{pct(fw):>8} {rng(fw):>16} {pct(hr):>10} {rng(hr):>16} "
            f"{(f'{tl.mean():+5.1f}°' if tl.size else 'n/a'):>6}"
        )
        if not fw.size or not hr.size:
            ok = False
            continue
        if seg.kind == "upright":
            ok &= abs(fw.mean()) <= 0.05 and abs(hr.mean()) <= 0.05
        elif seg.kind == "lean_in":
            ok &= fw.mean() >= 0.25
        elif seg.kind == "slump":
            ok &= hr.mean() <= -0.25
    print("verdict:", "OK - the clip shows the timeline" if ok else "FAILED - adjust the warp parameters")
    return bool(ok)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    ap.add_argument(
        "-o", "--out", type=Path, default=DEFAULT_OUT, help=f"output clip (default {DEFAULT_OUT.name})"
    )
    ap.add_argument("--check", action="store_true", help="after writing, verify the clip with MediaPipe Pose")
    ap.add_argument(
        "--check-only", action="store_true", help="verify an existing clip without regenerating it"
    )
    ap.add_argument("--step", type=int, default=1, help="analyse every Nth frame when checking (default 1)")
    args = ap.parse_args(argv)
    if not args.check_only:
        write_clip(args.out)
    if args.check or args.check_only:
        return 0 if check_clip(args.out, max(1, args.step)) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

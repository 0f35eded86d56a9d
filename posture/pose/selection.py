"""Choosing the person at the desk when the estimator sees several people.

Pure: the person at the desk is large in the picture, near its centre, and where they were a
moment ago; a passer-by behind them is smaller, off to one side, or somewhere new.
"""

from __future__ import annotations

from collections.abc import Sequence

from posture.landmarks import Pose

__all__ = ["PersonSelector", "desk_score"]


def desk_score(pose: Pose) -> float:
    """Larger and more central scores higher: box area fraction times a centrality weight."""
    w, h = pose.image_size
    x0, y0, x1, y1 = pose.bbox_px
    area = max(x1 - x0, 0.0) * max(y1 - y0, 0.0) / max(w * h, 1)
    cx = (x0 + x1) / 2.0 / max(w, 1)
    off_centre = abs(cx - 0.5) * 2.0  # 0 centred, 1 at the edge
    return area * (1.0 - 0.5 * off_centre)


def _centre(pose: Pose) -> tuple[float, float]:
    x0, y0, x1, y1 = pose.bbox_px
    w, h = pose.image_size
    return (x0 + x1) / 2.0 / max(w, 1), (y0 + y1) / 2.0 / max(h, 1)


class PersonSelector:
    """Keeps following the same person; switches only when they are gone for ``forget_s``."""

    def __init__(self, forget_s: float = 2.0, max_jump: float = 0.25) -> None:
        self.forget_s = forget_s
        self.max_jump = max_jump  # largest centre move per frame, as a fraction of the image
        self._centre: tuple[float, float] | None = None  # where the chosen person was last seen
        self._seen_t_s: float | None = None  # when

    def select(self, poses: Sequence[Pose], t_s: float) -> Pose | None:
        if not poses:
            return None
        chosen: Pose | None = None
        recent = self._seen_t_s is not None and t_s - self._seen_t_s <= self.forget_s
        if recent and self._centre is not None:
            near = [p for p in poses if _dist(_centre(p), self._centre) <= self.max_jump]
            if near:
                chosen = min(near, key=lambda p: _dist(_centre(p), self._centre))  # type: ignore[arg-type]
            else:
                return None  # the tracked person is not in this frame; don't jump to someone else
        if chosen is None:
            chosen = max(poses, key=desk_score)
        self._centre = _centre(chosen)
        self._seen_t_s = t_s
        return chosen


def _dist(a: tuple[float, float], b: tuple[float, float]) -> float:
    return ((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5

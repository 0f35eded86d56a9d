"""A small archive of recordings cut from ../shared/footage, for the batch tests and bench/batch.py.

Short clips (a few seconds each, written with OpenCV into a temporary folder) so that a whole
batch runs in seconds; never committed, never kept.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

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

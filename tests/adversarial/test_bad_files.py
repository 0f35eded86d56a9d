"""Bad files given to every command that reads one: exit 2, one line, no traceback, no hang.

Each file kind is tried as a photo (measure), a video (analyze), a live stand-in (monitor
--source, calibrate --source), a baseline (--baseline) and a config file (--config).
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.adversarial.helpers import assert_one_line_error, run_cli
from tests.builders import write_png, write_video

pytestmark = pytest.mark.adversarial


def _missing(d: Path) -> Path:
    return d / "missing.mp4"


def _empty(d: Path) -> Path:
    p = d / "empty.jpg"
    p.write_bytes(b"")
    return p


def _random(d: Path) -> Path:
    p = d / "random.mp4"
    p.write_bytes(os.urandom(4096))
    return p


def _text(d: Path) -> Path:
    p = d / "notes.jpg"
    p.write_text("just some words\n" * 50)
    return p


def _directory(d: Path) -> Path:
    p = d / "folder.mp4"
    p.mkdir()
    return p


def _fifo(d: Path) -> Path:
    p = d / "pipe.mp4"
    os.mkfifo(p)
    return p


def _dev_null(d: Path) -> Path:
    return Path("/dev/null")


def _dev_zero(d: Path) -> Path:
    return Path("/dev/zero")


def _dangling(d: Path) -> Path:
    p = d / "dangling.jpg"
    p.symlink_to(d / "nowhere.jpg")
    return p


def _truncated_png(d: Path) -> Path:
    whole = write_png(d / "whole.png", (200, 150)).read_bytes()
    p = d / "truncated.png"
    p.write_bytes(whole[: len(whole) // 3])
    return p


def _png_header_only(d: Path) -> Path:
    p = d / "header.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(64))
    return p


def _zip_as_video(d: Path) -> Path:
    import zipfile

    p = d / "archive.mp4"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("a.txt", "hello")
    return p


def _html_as_image(d: Path) -> Path:
    p = d / "page.png"
    p.write_text("<html><body>not an image</body></html>")
    return p


def _escape_name(d: Path) -> Path:
    return d / "\x1b[31mred\x1b]0;title\x07.jpg"  # missing, with terminal escapes in its name


def _bomb_png(d: Path) -> Path:
    """A PNG whose header claims 30000 x 30000 pixels (900 MP) with almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    p = d / "bomb.png"
    p.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )
    return p


BAD_FILES: dict[str, Callable[[Path], Path]] = {
    "missing": _missing,
    "empty": _empty,
    "random-bytes": _random,
    "text": _text,
    "directory": _directory,
    "fifo": _fifo,
    "dev-null": _dev_null,
    "dev-zero": _dev_zero,
    "dangling-symlink": _dangling,
    "truncated-png": _truncated_png,
    "png-header-only": _png_header_only,
    "zip-as-video": _zip_as_video,
    "html-as-image": _html_as_image,
    "escapes-in-name": _escape_name,
    "bomb-png": _bomb_png,
}


def _argv(use: str, bad: Path, tmp: Path) -> list[str]:
    if use == "measure":
        return ["measure", str(bad)]
    if use == "analyze":
        return ["analyze", str(bad), "--out", str(tmp / "out"), "--quiet", "--no-history"]
    if use == "monitor":
        return ["monitor", "--source", str(bad), "--no-history", "--no-context", "--alerts", "console"]
    if use == "calibrate":
        return ["calibrate", "--source", str(bad), "--profile", str(tmp / "p.json")]
    if use == "baseline":
        return ["measure", str(write_png(tmp / "ok.png")), "--baseline", str(bad)]
    if use == "config":
        return ["measure", str(write_png(tmp / "ok.png")), "--config", str(bad)]
    raise AssertionError(use)


USES = ("measure", "analyze", "monitor", "calibrate", "baseline", "config")
# Pairs where the file is not bad: an empty TOML file is a valid config (all defaults); a PNG
# given as a video is tested on its own below.
_NOT_BAD = {("empty", "config"), ("bomb-png", "analyze"), ("bomb-png", "monitor"), ("bomb-png", "calibrate")}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "use"), [(k, u) for k in sorted(BAD_FILES) for u in USES if (k, u) not in _NOT_BAD]
)
def test_bad_file_is_one_line_exit_2(kind: str, use: str, tmp_path: Path, capsys) -> None:
    bad = BAD_FILES[kind](tmp_path)
    code, _, err = run_cli(_argv(use, bad, tmp_path), capsys)
    line = assert_one_line_error(code, err)
    assert "\x1b" not in line and "\x07" not in line
    assert not (tmp_path / "p.json").exists()  # calibrate saved nothing
    out = tmp_path / "out"
    assert not out.exists() or not any(out.iterdir())  # analyze left nothing behind


@pytest.mark.slow
def test_a_bomb_image_is_refused_not_decoded(tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(["measure", str(_bomb_png(tmp_path))], capsys)
    assert "too large" in assert_one_line_error(code, err)


@pytest.mark.parametrize("use", ["analyze", "monitor"])
def test_a_photo_given_as_a_video(use: str, tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(_argv(use, write_png(tmp_path / "photo.png"), tmp_path), capsys)
    assert_one_line_error(code, err)


def test_a_video_given_as_a_photo(tmp_path: Path, capsys) -> None:
    code, _, err = run_cli(["measure", str(write_video(tmp_path / "clip.avi"))], capsys)
    assert "not an image" in assert_one_line_error(code, err)

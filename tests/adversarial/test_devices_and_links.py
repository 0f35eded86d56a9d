"""Writing "atomically" onto what is not a regular file: devices, FIFOs and symbolic links.

``posture advice --html X`` and ``posture calibrate --profile X`` write through
:mod:`posture.atomic`. A character device or a FIFO is written through (or refused), never
replaced by a regular file; a symbolic link is followed, never replaced by a file. The device
nodes are clones made with ``mknod`` in a temporary folder (root only), so a regression can never
replace the machine's own ``/dev/null``.
"""

from __future__ import annotations

import os
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from posture.atomic import atomic_path, atomic_write
from posture.geometry import View
from tests.adversarial.helpers import assert_one_line_error, posture_cmd, run_cli

pytestmark = pytest.mark.adversarial

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")


def _char_device(path: Path, minor: int) -> Path:
    """A clone of /dev/null (minor 3) or /dev/full (minor 7)."""
    os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    return path


def _is_char_device(path: Path, minor: int) -> bool:
    st = os.lstat(path)
    return stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == minor


def _advice_html(target: Path, capsys) -> tuple[int, str, str]:
    return run_cli(["advice", "--html", str(target)], capsys)


def _only(folder: Path, *names: str) -> None:
    """Nothing but ``names`` in ``folder``: no temporary file left beside the target."""
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)


@root_only
def test_advice_html_onto_a_null_device_writes_through_and_keeps_the_device(tmp_path: Path, capsys) -> None:
    node = _char_device(tmp_path / "null", 3)
    code, out, err = _advice_html(node, capsys)
    assert code == 0 and err == "", err
    assert "wrote" in out
    assert _is_char_device(node, 3)
    _only(tmp_path, "null")


@root_only
def test_advice_html_onto_a_full_device_is_one_line_and_keeps_the_device(tmp_path: Path, capsys) -> None:
    node = _char_device(tmp_path / "full", 7)
    code, _, err = _advice_html(node, capsys)
    line = assert_one_line_error(code, err)
    assert str(node) in line and "No space left" in line
    assert _is_char_device(node, 7)
    _only(tmp_path, "full")


def test_advice_html_onto_dev_null(tmp_path: Path, capsys) -> None:
    """The machine's own /dev/null: never replaced (as root a regression would break the machine,
    so this runs only where the clone above cannot be made)."""
    if os.geteuid() == 0:
        pytest.skip("as root, the mknod clone above stands in for /dev/null")
    code, _, err = _advice_html(Path("/dev/null"), capsys)
    assert code == 0, err
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


def test_advice_html_onto_a_fifo_nobody_reads_is_refused_at_once(tmp_path: Path, capsys) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    started = time.monotonic()
    code, _, err = _advice_html(fifo, capsys)
    assert time.monotonic() - started < 5  # no wait for a reader
    line = assert_one_line_error(code, err)
    assert "nothing is reading" in line
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    _only(tmp_path, "pipe")


def test_advice_html_onto_a_fifo_with_a_reader_writes_through(tmp_path: Path, capsys) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    opened = threading.Event()

    def read() -> None:
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader from now on
        opened.set()
        data = b""
        deadline = time.monotonic() + 10
        try:
            while time.monotonic() < deadline:
                try:
                    chunk = os.read(fd, 1 << 16)
                except BlockingIOError:  # the writer is there, nothing new yet
                    chunk = None
                if chunk:
                    data += chunk
                elif chunk == b"" and data:  # end of file after the page
                    break
                else:
                    time.sleep(0.01)
        finally:
            os.close(fd)
        received.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert opened.wait(5)
    code, _, err = _advice_html(fifo, capsys)
    reader.join(10)
    assert code == 0, err
    assert received and received[0].startswith(b"<!DOCTYPE html>")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    _only(tmp_path, "pipe")


def test_a_link_to_a_file_is_followed_and_stays_a_link(tmp_path: Path, capsys) -> None:
    target = tmp_path / "real" / "advice.html"
    target.parent.mkdir()
    target.write_text("the old page")
    target.chmod(0o640)
    link = tmp_path / "link.html"
    link.symlink_to(target)
    code, _, err = _advice_html(link, capsys)
    assert code == 0, err
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert target.stat().st_mode & 0o777 == 0o640  # the file's own permissions are kept
    _only(tmp_path, "link.html", "real")
    _only(target.parent, "advice.html")


def test_a_dangling_link_is_followed(tmp_path: Path, capsys) -> None:
    link = tmp_path / "link.html"
    link.symlink_to(tmp_path / "made.html")
    code, _, err = _advice_html(link, capsys)
    assert code == 0, err
    assert link.is_symlink() and (tmp_path / "made.html").read_text(encoding="utf-8").startswith("<!DOCTYPE")


def test_a_link_loop_is_one_line(tmp_path: Path, capsys) -> None:
    loop = tmp_path / "loop.html"
    loop.symlink_to(loop)
    code, _, err = _advice_html(loop, capsys)
    assert_one_line_error(code, err)
    assert loop.is_symlink()
    _only(tmp_path, "loop.html")


def test_a_folder_is_one_line(tmp_path: Path, capsys) -> None:
    code, _, err = _advice_html(tmp_path, capsys)
    assert_one_line_error(code, err)
    assert tmp_path.is_dir() and list(tmp_path.iterdir()) == []


@root_only
def test_a_link_to_a_device_writes_through_and_keeps_both(tmp_path: Path, capsys) -> None:
    node = _char_device(tmp_path / "null", 3)
    link = tmp_path / "out.html"
    link.symlink_to(node)
    code, _, err = _advice_html(link, capsys)
    assert code == 0, err
    assert link.is_symlink() and _is_char_device(node, 3)
    _only(tmp_path, "null", "out.html")


def test_the_profile_calibrate_saves_follows_a_link(tmp_path: Path) -> None:
    """``calibrate --profile X`` saves with :meth:`Baseline.save`: a link is followed."""
    from posture.baseline import Baseline

    target = tmp_path / "profiles" / "me.json"
    target.parent.mkdir()
    link = tmp_path / "profile.json"
    link.symlink_to(target)
    Baseline(view=View.SIDE, values={"neck_inclination_deg": 10.0}, frames=20).save(link)
    assert link.is_symlink()
    assert Baseline.load(target).values["neck_inclination_deg"] == 10.0


@root_only
def test_the_profile_onto_a_full_device_is_a_baseline_error(tmp_path: Path) -> None:
    from posture.baseline import Baseline
    from posture.errors import BaselineError

    node = _char_device(tmp_path / "full", 7)
    with pytest.raises(BaselineError, match="cannot save the profile"):
        Baseline(view=View.SIDE, values={}, frames=1).save(node)
    assert _is_char_device(node, 7)


@root_only
def test_a_path_for_an_encoder_is_copied_through_to_a_device(tmp_path: Path) -> None:
    """:func:`atomic_path` (OpenCV, ffmpeg, SQLite write to a name): copied through when complete."""
    node = _char_device(tmp_path / "full", 7)
    with pytest.raises(OSError, match="No space left"), atomic_path(node, suffix=".webm") as tmp:
        tmp.write_bytes(b"x" * 1000)
    assert _is_char_device(node, 7)
    assert not tmp.exists()


def test_a_failed_write_through_leaves_the_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="nothing is reading"), atomic_write(fifo) as fh:
        fh.write("never")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.slow
def test_advice_html_through_a_link_to_proc_self_fd_1(tmp_path: Path) -> None:
    """The case of the issue: X links to /proc/self/fd/1, posture's own standard output (a pipe)."""
    link = tmp_path / "stdout.html"
    link.symlink_to("/proc/self/fd/1")
    res = subprocess.run(
        posture_cmd("advice", "--html", str(link)), capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    assert res.stdout.startswith("<!DOCTYPE html>") and res.stdout.rstrip().endswith(f"wrote {link}")
    assert link.is_symlink() and os.readlink(link) == "/proc/self/fd/1"
    _only(tmp_path, "stdout.html")


@pytest.mark.slow
@pytest.mark.parametrize("redirect", [">>", ">"])
def test_dev_stdout_redirected_to_a_file(redirect: str, tmp_path: Path) -> None:
    """``posture advice --html /dev/stdout >> log.txt`` (or ``> page.html``): the page goes where
    the shell sends standard output, in order with posture's own line; the file is never renamed
    over (with ``>>`` its earlier lines stay)."""
    log = tmp_path / "log.txt"
    log.write_text("yesterday's lines\n")
    with log.open("a" if redirect == ">>" else "w") as fh:
        res = subprocess.run(
            posture_cmd("advice", "--html", "/dev/stdout"),
            stdout=fh,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert res.returncode == 0 and res.stderr == "", res.stderr
    text = log.read_text(encoding="utf-8")
    before = "yesterday's lines\n" if redirect == ">>" else ""
    assert text.startswith(f"{before}<!DOCTYPE html>")
    assert text.endswith("</html>\nwrote /dev/stdout\n")
    _only(tmp_path, "log.txt")

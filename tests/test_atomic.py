from __future__ import annotations

import os
from pathlib import Path

import pytest

from posture.atomic import atomic_path, atomic_write


def test_the_file_appears_whole(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    with atomic_write(target) as fh:
        fh.write("{}")
        assert not target.exists()
    assert target.read_text() == "{}"
    assert os.listdir(tmp_path) == ["a.json"]


def test_a_failure_keeps_the_old_file_and_leaves_no_part(tmp_path: Path) -> None:
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_write(target, binary=True) as fh:
        fh.write(b"new")
        raise RuntimeError
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["a.bin"]


def test_a_path_keeps_its_suffix_and_gets_the_usual_mode(tmp_path: Path) -> None:
    target = tmp_path / "v.webm"
    with atomic_path(target, suffix=".webm") as tmp:
        assert tmp.name.endswith(".webm") and ".part-" in tmp.name and tmp.parent == tmp_path
        tmp.write_bytes(b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077])
def test_the_mode_follows_the_umask_which_is_left_as_it_was(mask: int, tmp_path: Path) -> None:
    old = os.umask(mask)
    try:
        with atomic_write(tmp_path / "a.txt") as fh:
            fh.write("x")
        assert os.umask(mask) == mask  # unchanged by the write
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~mask


def test_an_explicit_mode_wins(tmp_path: Path) -> None:
    with atomic_write(tmp_path / "secret", mode=0o600) as fh:
        fh.write("x")
    assert (tmp_path / "secret").stat().st_mode & 0o777 == 0o600


def test_the_umask_is_read_where_proc_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import posture.atomic as atomic

    def no_proc(*args: object, **kwargs: object) -> None:
        raise FileNotFoundError("/proc/self/status")

    old = os.umask(0o027)
    try:
        monkeypatch.setattr(atomic, "open", no_proc, raising=False)
        assert atomic._umask() == 0o027
        assert os.umask(0o027) == 0o027  # restored
    finally:
        os.umask(old)

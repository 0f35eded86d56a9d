"""Files that are valid though unusual, and messages that stay short and printable (issue 19,
items 12 and 13): a config or profile saved with a byte-order mark is read; an error about
20,000 unknown keys or a 10 MB value is one short line; names never reach the terminal raw.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posture.baseline import Baseline
from posture.config import load_config
from posture.untrusted import printable
from tests.adversarial.helpers import assert_one_line_error, run_cli
from tests.builders import profile_document, write_png

pytestmark = pytest.mark.adversarial

BOM = b"\xef\xbb\xbf"


def test_a_config_saved_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "posture.toml"
    path.write_bytes(BOM + b"[policy]\r\nmax_per_hour = 2\r\n")  # as Notepad saves it
    assert load_config(path).policy.max_per_hour == 2


def test_a_profile_saved_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    path.write_bytes(BOM + json.dumps(profile_document()).encode())
    assert Baseline.load(path).values["neck_inclination_deg"] == 10.0


def _error_for(config_text: str, tmp_path: Path, capsys) -> str:
    path = tmp_path / "posture.toml"
    path.write_text(config_text)
    code, _out, err = run_cli(["measure", str(write_png(tmp_path / "ok.png")), "--config", str(path)], capsys)
    return assert_one_line_error(code, err)


def test_twenty_thousand_unknown_keys_make_one_short_line(tmp_path: Path, capsys) -> None:
    keys = "".join(f"unknown_key_number_{i} = 1\n" for i in range(20_000))
    line = _error_for("[policy]\n" + keys, tmp_path, capsys)
    assert "unknown_key_number_0" in line and "and 19995 more" in line
    assert len(line) < 600, len(line)


def test_twenty_thousand_unknown_sections(tmp_path: Path, capsys) -> None:
    line = _error_for("".join(f"[section_{i}]\n" for i in range(20_000)), tmp_path, capsys)
    assert "and 19995 more" in line and len(line) < 600, len(line)


@pytest.mark.parametrize(
    "text",
    [
        '[analysis]\nmodel = "' + "x" * 1_000_000 + '"\n',
        '[policy]\nquiet_hours = ["' + "x" * 1_000_000 + '", "07:00"]\n',
        '[policy]\nmax_per_hour = "' + "x" * 1_000_000 + '"\n',
        '[policy]\n"' + "k" * 1_000_000 + '" = 1\n',
        "[metrics.rules]\nforward_head_deg = [" + ", ".join(["1"] * 100_000) + "]\n",
    ],
    ids=["path-1MB", "quiet-hours-1MB", "wrong-type-1MB", "key-1MB", "band-of-100000"],
)
def test_a_huge_value_is_not_echoed_whole(tmp_path: Path, capsys, text: str) -> None:
    line = _error_for(text, tmp_path, capsys)
    assert len(line) <= 1100, len(line)


@pytest.mark.parametrize(
    "name",
    [
        "\x1b]0;pwned\x07clip.png",
        "\x1b[2J\x1b[Hclip.png",
        "clip\u202egnp.png",
        "clip\r\nposture: fake line.png",
    ],
)
def test_names_with_escape_sequences_reach_the_terminal_as_text(tmp_path: Path, capsys, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"not an image")
    code, out, err = run_cli(["measure", str(path)], capsys)
    line = assert_one_line_error(code, err)
    for shown in (out, line):
        assert "\x1b" not in shown and "\u202e" not in shown and "\r" not in shown


def test_printable_cuts_and_cleans() -> None:
    assert printable("a\x1b[2Jb") == "a?[2Jb"
    assert printable("x" * 10_000_000, 40) == "x" * 39 + "…"
    assert printable("short", 40) == "short"
    assert printable(Path("a\nb")) == "a?b"

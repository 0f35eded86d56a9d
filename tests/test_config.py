"""Configuration: defaults, the example file, precedence and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from posture.config import Band, Config, load_config
from posture.errors import ConfigError

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "posture.toml"


def test_example_config_is_valid_and_equals_the_defaults() -> None:
    assert load_config(SAMPLE) == Config()


def test_file_overrides_defaults_and_flags_override_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        "[analysis]\nsample_fps = 5\n[metrics.rules]\nhunched_back_deg = [4, 12]\n[detector]\nhold_s = 20\n"
    )
    config = load_config(cfg)
    assert config.analysis.sample_fps == 5.0
    assert config.metrics.rules.hunched_back_deg == Band(4.0, 12.0)
    assert config.detector.hold_s == 20.0
    assert config.replace("detector", hold_s=3.0).detector.hold_s == 3.0


@pytest.mark.parametrize(
    "text,match",
    [
        ("[nope]\nx = 1\n", "unknown key"),
        ("[metrics.rules]\nhunched_back_deg = [15, 5]\n", "limit must exceed"),
        ("[metrics.rules]\nhunched_back_deg = 3\n", "pair"),
        ("[analysis]\nsample_fps = -1\n", "positive"),
        ("[detector]\nrelease_severity = 2\n", "release_severity"),
        ("not toml at all [", "cannot read"),
    ],
)
def test_bad_config_is_a_config_error(tmp_path: Path, text: str, match: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_config(cfg)


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")


def test_config_is_frozen() -> None:
    with pytest.raises(AttributeError):
        Config().analysis.sample_fps = 3  # type: ignore[misc]

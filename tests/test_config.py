"""Configuration: defaults, the example file, precedence and strict validation."""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

import pytest

from posture.config import (
    Band,
    CalibrationConfig,
    Config,
    FindingRules,
    GateConfig,
    MonitorConfig,
    SamplingConfig,
    load_config,
)
from posture.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "posture.toml"


def _keys(cls: type, prefix: str = "") -> dict[str, object]:
    """Every leaf key of a config dataclass as ``section.key`` (tables recursed), with its default."""
    out: dict[str, object] = {}
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        name = f"{prefix}{f.name}"
        if isinstance(default, FindingRules):  # a table of the finding registry's bands
            out.update({f"{name}.{band}": value for band, value in default.items()})
        elif dataclasses.is_dataclass(default) and not isinstance(default, Band):
            out.update(_keys(type(default), name + "."))
        else:
            out[name] = default
    return out


def _sample_keys() -> tuple[set[str], set[str]]:
    """The keys the sample sets, and those it shows only in a comment (``# key = ...``)."""
    text = SAMPLE.read_text(encoding="utf-8")

    def flatten(table: dict, prefix: str = "") -> set[str]:
        keys: set[str] = set()
        for k, v in table.items():
            keys |= flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k}
        return keys

    set_keys = flatten(tomllib.loads(text))
    commented: set[str] = set()
    section = ""
    for line in text.splitlines():
        if m := re.match(r"^\[([\w.]+)\]", line):
            section = m.group(1)
        elif m := re.match(r"^#\s*(\w+)\s*=", line):
            commented.add(f"{section}.{m.group(1)}")
    return set_keys, commented


def test_example_config_is_valid_and_equals_the_defaults() -> None:
    assert load_config(SAMPLE) == Config()


def test_example_config_lists_every_key_of_every_section() -> None:
    expected = _keys(Config)
    set_keys, commented = _sample_keys()
    assert set(expected) - set_keys - commented == set(), "keys missing from samples/posture.toml"
    assert set_keys | commented <= set(expected), "samples/posture.toml names keys Config does not have"
    # Only keys that are unset by default (TOML has no null) may appear as a comment alone.
    assert {k for k in commented - set_keys if expected[k] is not None} == set()


def test_example_config_lists_the_bands_as_the_finding_registry_gives_them() -> None:
    """The [metrics.rules] table follows from the finding registry: paste FindingRules.toml()."""
    text = SAMPLE.read_text(encoding="utf-8")
    assert FindingRules.toml() in text, (
        "samples/posture.toml: replace [metrics.rules] with FindingRules.toml()"
    )


def test_the_key_walk_sees_every_section() -> None:
    keys = _keys(Config)
    for name in ("sampling.watch_fps", "change_gate.enabled", "monitor.retry_max_s", "calibration.seconds"):
        assert name in keys
    assert "metrics.rules.forward_head_deg" in keys and "metrics.rules" not in keys


def test_file_overrides_defaults_and_flags_override_the_file(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        "[analysis]\nsample_fps = 5\n[metrics.rules]\nhunched_back_deg = [4, 12]\n[detector]\nhold_s = 20\n"
        "[sampling]\nwatch_fps = 3\n[change_gate]\nenabled = false\n[monitor]\nretry_max_s = 60.0\n"
        "[calibration]\nseconds = 5\n"
    )
    config = load_config(cfg)
    assert config.analysis.sample_fps == 5.0 and isinstance(config.analysis.sample_fps, float)
    assert config.metrics.rules.hunched_back_deg == Band(4.0, 12.0)
    assert config.detector.hold_s == 20.0
    assert config.sampling == SamplingConfig(watch_fps=3.0)
    assert config.change_gate == GateConfig(enabled=False)
    assert config.monitor == MonitorConfig(retry_max_s=60.0)
    assert config.calibration == CalibrationConfig(seconds=5.0)
    assert config.replace("detector", hold_s=3.0).detector.hold_s == 3.0
    assert config.replace("calibration", seconds=2.0).calibration.seconds == 2.0


@pytest.mark.parametrize(
    "text,message",
    [
        # unknown names, with a suggestion where one is close
        ("[nope]\nx = 1\n", "unknown section [nope]"),
        ("[polciy]\ncooldown_s = 1\n", "unknown section [polciy] (did you mean [policy]?)"),
        ("[analysis]\nsample_fsp = 5\n", "unknown key analysis.sample_fsp (did you mean sample_fps?)"),
        (
            "[metrics.rules]\nforward_hed_deg = [1, 2]\n",
            "metrics.rules.forward_hed_deg (did you mean forward_head_deg?)",
        ),
        ("[change_gate]\nenable = false\n", "change_gate.enable (did you mean enabled?)"),
        # wrong types, never coerced
        ('[smoothing]\nenabled = "no"\n', "smoothing.enabled must be true or false, got 'no'"),
        ("[change_gate]\nenabled = 0\n", "change_gate.enabled must be true or false, got 0"),
        ('[sampling]\nsteady_fps = "1"\n', "sampling.steady_fps must be a number, got '1'"),
        ("[monitor]\nretry_max_s = true\n", "monitor.retry_max_s must be a number, got True"),
        ("[analysis]\nmodel_complexity = 1.0\n", "analysis.model_complexity must be a whole number, got 1.0"),
        ('[analysis]\nmodel = ""\n', "analysis.model must be a file path in quotes"),
        (
            "[context]\nmeeting_apps = ['zoom', 3]\n",
            "context.meeting_apps[1] must be a string in quotes, got 3",
        ),
        ("[policy]\nquiet_hours = ['22:00']\n", "policy.quiet_hours must be a list of 2 values"),
        ("[calibration]\nseconds = nan\n", "calibration.seconds must be a number, got nan"),
        (
            "[metrics.rules]\nhunched_back_deg = 3\n",
            "metrics.rules.hunched_back_deg must be a [start, limit] pair",
        ),
        ("[metrics]\nrules = 3\n", "metrics.rules must be a table"),
        ("[monitor.retry_max_s]\na = 1\n", "monitor.retry_max_s must be a value, not a table"),
        ("sampling = 3\n", "sampling must be a table ([sampling]), got 3"),
        # the sections' own value checks, naming the key
        (
            "[metrics.rules]\nhunched_back_deg = [15, 5]\n",
            "metrics.rules.hunched_back_deg: a band's limit must exceed",
        ),
        ("[analysis]\nsample_fps = -1\n", "analysis.sample_fps must be from 0.01 to 240"),
        ("[analysis]\nmodel_complexity = 5\n", "analysis.model_complexity must be 0, 1 or 2"),
        ("[detector]\nrelease_severity = 2\n", "detector.release_severity"),
        ("[policy]\nescalation = 0.5\n", "policy.escalation must be >= 1"),
        ("[smoothing]\nbeta = -1\n", "smoothing.beta must be >= 0"),
        ("[sampling]\naway_fps = 5\n", "sampling.away_fps, steady_fps and watch_fps"),
        ("[change_gate]\nchanged_share = 0\n", "change_gate.changed_share"),
        ("[monitor]\nretry_first_s = 60\n", "monitor.retry_max_s must be >= monitor.retry_first_s"),
        ("[monitor]\nhistory_flush_s = 0\n", "monitor.history_flush_s must be positive"),
        ("[calibration]\nmin_brightness = 220\n", "calibration.min_brightness and max_brightness"),
        ("[calibration]\nseconds = 0\n", "calibration.seconds must be positive"),
        ("not toml at all [", "cannot read"),
    ],
)
def test_bad_config_is_a_config_error_naming_file_section_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(cfg)
    assert message in str(info.value)
    assert str(cfg) in str(info.value)


def test_an_unknown_key_without_a_close_match_lists_the_sections_keys(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[monitor]\nxyzzy = 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(cfg)
    text = str(info.value)
    assert "did you mean" not in text
    assert "the keys of [monitor] are: history_flush_s, retry_first_s" in text


def test_replace_is_checked_too() -> None:
    with pytest.raises(ConfigError, match=r"calibration\.seconds must be positive"):
        Config().replace("calibration", seconds=0.0)
    with pytest.raises(
        ConfigError, match=r"unknown section \[calibrate\] \(did you mean \[calibration\]\?\)"
    ):
        Config().replace("calibrate", seconds=1.0)
    with pytest.raises(ConfigError, match=r"^policy\.escalation must be >= 1"):
        Config().replace("policy", escalation=0.1)
    with pytest.raises(ConfigError, match=r"^\[monitor\]: .*retry_max"):
        Config().replace("monitor", retry_max=1.0)


def test_the_user_config_is_found_through_the_config_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("POSTURE_CONFIG_DIR", str(tmp_path))
    assert load_config() == Config()  # no file there: the defaults
    (tmp_path / "posture.toml").write_text("[calibration]\nseconds = 4\n[smoothing]\nbeta = true\n")
    with pytest.raises(ConfigError, match=r"\(user config\): smoothing.beta must be a number"):
        load_config()


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")


def test_importing_the_config_stays_light() -> None:
    """``posture status``, ``pause`` and ``resume`` build a Config: no numpy (~0.2 s) for that."""
    import subprocess

    code = "import sys, posture.config; print('numpy' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert res.stdout.strip() == "False"


def test_config_is_frozen() -> None:
    with pytest.raises(AttributeError):
        Config().analysis.sample_fps = 3  # type: ignore[misc]

"""Configuration: frozen dataclasses with one set of defaults, validated once.

Precedence: these defaults < a TOML file (``--config``, or ``posture.toml`` in the user's config
folder) < command-line flags. ``samples/posture.toml`` is a commented example of every key.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from posture.detector import DetectorConfig
from posture.errors import ConfigError
from posture.live.context import ContextConfig
from posture.policy import PolicyConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

__all__ = [
    "AnalysisConfig",
    "Band",
    "Config",
    "FindingRules",
    "MetricsConfig",
    "SmoothingConfig",
    "default_config_path",
    "load_config",
]


@dataclass(frozen=True)
class Band:
    """Maps a value onto a severity: 0 up to ``start``, 1.0 at ``limit``, linear beyond.

    ``start`` is the dead zone (the measurement's own noise, ~5° for camera angles), ``limit`` the
    threshold at which the posture counts as poor.
    """

    start: float
    limit: float

    def __post_init__(self) -> None:
        if not self.limit > self.start:
            raise ConfigError(f"a band's limit must exceed its start, got [{self.start}, {self.limit}]")

    def severity(self, value: float | None) -> float:
        if value is None or value <= self.start:
            return 0.0
        return (value - self.start) / (self.limit - self.start)


@dataclass(frozen=True)
class FindingRules:
    """Where each finding starts and where it reaches its threshold (severity 1.0).

    The absolute side-view limits (``forward_head_deg``, ``hunched_back_deg``,
    ``slumped_recline_deg``) and the front-view limits (``head_drop_pct``, ``leaning_in_pct``)
    were fitted leave-one-source-out on every labelled source in ``../shared/footage`` by
    ``bench/fit_rules.py``; the figures it printed, per source, are in the README. They apply to
    MediaPipe's landmark proxies, which differ from the anatomical points of the standards: the
    shoulder *joint* stands in for C7 and the hip *joint* for the trochanter, so people sitting
    upright read a trunk of about -12°..+3° and a neck of 2°..25°. The ``*_delta`` bands apply to
    the change from the user's own good posture (a calibration, or the upright posture learnt
    in the session); their dead zone of 5° is the minimal detectable change of such angles.
    """

    # side view, no baseline (fitted)
    forward_head_deg: Band = Band(19.0, 29.0)  # neck_inclination_deg
    hunched_back_deg: Band = Band(13.0, 23.0)  # trunk_inclination_deg
    slumped_recline_deg: Band = Band(27.0, 37.0)  # -trunk_inclination_deg, whatever the head does
    # the classic slump: a lesser recline with the head pulled forward of the trunk (both needed;
    # ISO 11226 allows a neck flexion up to 25°, and the proxies read an upright neck ~15° more)
    slumped_pulled_recline_deg: Band = Band(15.0, 25.0)  # -trunk_inclination_deg
    slumped_pulled_flexion_deg: Band = Band(30.0, 40.0)  # neck_flexion_deg
    # front view, no baseline (ISO 11226: lateral tilt within ±10°)
    side_lean_deg: Band = Band(5.0, 10.0)  # |shoulder_tilt_deg| or |trunk_side_lean_deg|
    # relative to the user's good posture
    forward_head_delta_deg: Band = Band(5.0, 12.0)  # head_forward_deg
    hunched_back_delta_deg: Band = Band(5.0, 15.0)
    neck_flexion_delta_deg: Band = Band(5.0, 20.0)
    slumped_recline_delta_deg: Band = Band(12.0, 25.0)  # a supported recline of ~20° is fine
    side_lean_delta_deg: Band = Band(5.0, 10.0)
    leaning_in_pct: Band = Band(13.0, 26.0)  # face_scale_pct (fitted)
    head_drop_pct: Band = Band(6.0, 12.0)  # head_drop_pct (fitted)


@dataclass(frozen=True)
class MetricsConfig:
    min_visibility: float = 0.5  # landmarks below this are treated as unseen
    standing_is_away: bool = True  # standing up counts as leaving the desk (off for standing desks)
    rules: FindingRules = field(default_factory=FindingRules)

    def __post_init__(self) -> None:
        if not 0.0 < self.min_visibility < 1.0:
            raise ConfigError("metrics.min_visibility must be between 0 and 1")


@dataclass(frozen=True)
class SmoothingConfig:
    """One Euro filter on the metrics: cut-off in hertz, beta per (unit per second)."""

    enabled: bool = True
    # Light by default: the shipped model tracks its landmarks from frame to frame in video; this
    # removes the remaining jitter above a few hertz without delaying a real change by more than a
    # frame or two.
    min_cutoff_hz: float = 3.0
    beta: float = 0.1
    view_hold_s: float = 1.0  # a change of view counts once it has held this long

    def __post_init__(self) -> None:
        if self.min_cutoff_hz <= 0 or self.beta < 0 or self.view_hold_s < 0:
            raise ConfigError("smoothing: min_cutoff_hz must be > 0, beta and view_hold_s >= 0")


@dataclass(frozen=True)
class AnalysisConfig:
    sample_fps: float | None = 5.0  # analysed frames per second of video; None = every frame
    refine: bool = True  # where the verdict changes between two samples, analyse the frames between
    model: Path | None = None  # a .task file for the Tasks API; None = the bundled full model
    model_complexity: int = 1  # 1 = the shipped full model; 0 (lite) and 2 (heavy) need a .task file

    def __post_init__(self) -> None:
        if self.sample_fps is not None and self.sample_fps <= 0:
            raise ConfigError("analysis.sample_fps must be positive")


@dataclass(frozen=True)
class Config:
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    context: ContextConfig = field(default_factory=ContextConfig)

    def replace(self, section: str, **changes: Any) -> Config:
        """A copy with some fields of one section changed (used for command-line flags)."""
        try:
            updated = dataclasses.replace(getattr(self, section), **changes)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        return dataclasses.replace(self, **{section: updated})


def default_config_path() -> Path:
    """``posture.toml`` in the user config folder (``POSTURE_CONFIG_DIR`` overrides the folder)."""
    import os

    override = os.environ.get("POSTURE_CONFIG_DIR")
    if override:
        return Path(override).expanduser() / "posture.toml"
    from platformdirs import user_config_path

    return user_config_path("posture") / "posture.toml"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _coerce(section: str, name: str, ftype: Any, value: Any) -> Any:
    """``value`` from the TOML file as the field's type; a wrong-typed value is a ConfigError."""
    kind = str(ftype)
    key = f"{section}.{name}"
    if "Band" in kind and not isinstance(value, Band):
        if not (isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)):
            raise ConfigError(f"{key} must be a [start, limit] pair of numbers, got {_shown(value)}")
        return Band(float(value[0]), float(value[1]))
    if "Path" in kind:
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a file path in quotes, got {_shown(value)}")
        return Path(value).expanduser()
    if "tuple" in kind:
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise ConfigError(f"{key} must be a list of strings, got {_shown(value)}")
        return tuple(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {_shown(value)}")
        return value
    if kind.startswith("float"):
        if not _is_number(value):
            raise ConfigError(f"{key} must be a number, got {_shown(value)}")
        return float(value)
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"{key} must be a whole number, got {_shown(value)}")
        return value
    return value


def _is_section(f: dataclasses.Field) -> bool:  # type: ignore[type-arg]
    factory = f.default_factory
    return factory is not dataclasses.MISSING and dataclasses.is_dataclass(factory())


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _build(cls: type, table: Mapping[str, Any], section: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.name.startswith("_")}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ConfigError(f"unknown key(s) in [{section}]: {', '.join(unknown)}")
    kwargs: dict[str, Any] = {}
    for name, value in table.items():
        ftype = fields[name].type
        if isinstance(value, dict):
            nested = fields[name].default_factory  # type: ignore[misc]
            if nested is dataclasses.MISSING:
                raise ConfigError(f"{section}.{name} must not be a table")
            kwargs[name] = _build(type(nested()), value, f"{section}.{name}")
        elif _is_section(fields[name]):
            raise ConfigError(f"{section}.{name} must be a table ([{name}]), got {_shown(value)}")
        else:
            kwargs[name] = _coerce(section, name, ftype, value)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[{section}]: {exc}") from None


def load_config(path: Path | None = None) -> Config:
    """Defaults, overlaid with ``path`` (or the user's config file when it exists)."""
    explicit = path is not None
    if path is None:
        path = default_config_path()
        if not path.is_file():
            return Config()
    if not path.is_file():
        what = "is not a regular file" if path.exists() else "not found"
        raise ConfigError(f"config file {what}: {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise ConfigError(f"cannot read config {path}: nested too deep") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from None
    try:
        return _build(Config, data, "config")
    except ConfigError as exc:
        where = path if explicit else f"{path} (user config)"
        raise ConfigError(f"{where}: {exc}") from None

"""Configuration: one typed :class:`Config`, frozen dataclasses with one set of defaults, validated once.

Precedence: these defaults < a TOML file (``--config``, or ``posture.toml`` in the user's config
folder) < command-line flags (``Config.replace``). ``samples/posture.toml`` is a commented example
of every key. Each section is built from its own table and handed to the stage that uses it; the
stages' own section types (detector, policy, context) are defined beside them and only imported
here, so imports point one way: ``config`` knows those stages, a stage never sees ``Config``. The
rest are defined here (the monitor and calibration import ``Config``; the metrics and the
sampler import their section from here, which keeps ``import posture.config`` free of numpy).

Loading is strict: the type of every key comes from the dataclasses' annotations
(``typing.get_type_hints``) and a TOML value of another type, an unknown key or an unknown section
is a :class:`ConfigError` naming the file, the section and the key; nothing is coerced.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import sys
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from posture.detector import DetectorConfig
from posture.durations import time_of_day
from posture.errors import ConfigError
from posture.findings import FINDINGS
from posture.findings import bands as finding_bands
from posture.paths import config_path
from posture.policy import PolicyConfig
from posture.untrusted import printable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

__all__ = [
    "DEFAULT_MEETING_APPS",
    "MAX_LIVE_FPS",
    "MAX_SAMPLE_FPS",
    "MIN_SAMPLE_FPS",
    "ContextConfig",
    "AnalysisConfig",
    "Band",
    "CalibrationConfig",
    "Config",
    "EndOfDayConfig",
    "FindingRules",
    "MetricsConfig",
    "GateConfig",
    "HabitConfig",
    "MonitorConfig",
    "SamplingConfig",
    "SmoothingConfig",
    "load_config",
]


def _require(ok: bool, message: str) -> None:
    """A section's value check: ``message`` names the key (``section.key``)."""
    if not ok:
        raise ConfigError(message)


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


class FindingRules(Mapping[str, Band]):
    """Where each finding starts and where it reaches its threshold (severity 1.0): the
    ``[metrics.rules]`` section, one :class:`Band` per band of the finding registry
    (:mod:`posture.findings`), by name (``rules.forward_head_deg`` or ``rules["forward_head_deg"]``).
    A band not given keeps the registry's default, so a finding's bands, their defaults, their
    check and their place in ``samples/posture.toml`` (:meth:`toml`) all come from its entry.

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

    __slots__ = ("_bands",)

    def __init__(self, **bands: Band) -> None:
        known = finding_bands()
        for name, value in bands.items():
            if name not in known:
                raise TypeError(f"FindingRules has no band {name!r}")
            if not isinstance(value, Band):
                raise TypeError(f"metrics.rules.{name} must be a Band, got {value!r}")
        self._bands: dict[str, Band] = {
            name: bands[name] if name in bands else Band(b.start, b.limit) for name, b in known.items()
        }

    def __getitem__(self, name: str) -> Band:
        return self._bands[name]

    def __getattr__(self, name: str) -> Band:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._bands[name]
        except KeyError:
            raise AttributeError(f"FindingRules has no band {name!r}") from None

    def __iter__(self) -> typing.Iterator[str]:
        return iter(self._bands)

    def __len__(self) -> int:
        return len(self._bands)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FindingRules) and self._bands == other._bands

    def __hash__(self) -> int:
        return hash(tuple(self._bands.items()))

    def __repr__(self) -> str:
        return f"FindingRules({', '.join(f'{k}={v!r}' for k, v in self._bands.items())})"

    def __reduce__(self) -> tuple[Any, ...]:  # pickled as its bands (to the parallel workers)
        return (_rules_from_items, (tuple(self._bands.items()),))

    def replace(self, **bands: Band) -> FindingRules:
        """A copy with some bands changed."""
        return FindingRules(**{**self._bands, **bands})

    @staticmethod
    def toml() -> str:
        """The ``[metrics.rules]`` table of every band's default, finding by finding, with what
        each measures: ``samples/posture.toml`` lists exactly this (a test checks)."""
        lines = ["[metrics.rules]"]
        for finding in FINDINGS.values():
            lines.append(f"# {finding.code}: {finding.title.lower()}")
            for b in finding.bands:
                measured = "/".join(b.metrics) + (" vs your good posture" if b.personal else "")
                lines.append(
                    f"{b.name} = [{b.start!r}, {b.limit!r}]".ljust(40) + f"  # {measured}: {b.words}"
                )
        return "\n".join(lines) + "\n"


def _rules_from_items(items: tuple[tuple[str, Band], ...]) -> FindingRules:
    rules = FindingRules.__new__(FindingRules)
    object.__setattr__(rules, "_bands", dict(items))
    return rules


@dataclass(frozen=True)
class HabitConfig:
    """How an uncalibrated session learns the person's own usual upright posture (side view).

    Anything learnt during a session may only make the tool more sensitive to deviations from
    good posture, never less: it learns only from frames inside the narrow band of clearly
    upright sitting for everyone (``upright_*``, as the landmarks measure it: people sitting
    upright read a trunk of about -12°..+3° and a neck of 2°..25°; the neck's band stops at 15°,
    well below the forward-head limit, so that a head already drifting forward is never learnt),
    only once it has seen
    ``min_frames`` of them over ``min_span_s`` seconds, and a posture inside that band is never
    called poor against it. A clear upright stretch of ``reset_s`` seconds that differs from what
    was learnt (the chair or the camera moved) replaces it.
    """

    enabled: bool = True
    upright_neck_deg: tuple[float, float] = (-5.0, 15.0)  # neck_inclination_deg
    upright_trunk_deg: tuple[float, float] = (-15.0, 5.0)  # trunk_inclination_deg
    min_frames: int = 5
    min_span_s: float = 1.0
    window_s: float = 600.0  # what it remembers
    reset_s: float = 10.0

    def __post_init__(self) -> None:
        for name in ("upright_neck_deg", "upright_trunk_deg"):
            lo, hi = getattr(self, name)
            _require(lo < hi, f"metrics.habit.{name} must be a [low, high] pair with low < high")
        _require(self.min_frames >= 1, "metrics.habit.min_frames must be at least 1")
        for name in ("min_span_s", "window_s", "reset_s"):
            value = getattr(self, name)
            _require(0 <= value < math.inf, f"metrics.habit.{name} must be >= 0")
        _require(self.window_s > self.min_span_s, "metrics.habit.window_s must exceed min_span_s")


@dataclass(frozen=True)
class MetricsConfig:
    min_visibility: float = 0.5  # landmarks below this are treated as unseen
    standing_is_away: bool = True  # standing up counts as leaving the desk (off for standing desks)
    rules: FindingRules = field(default_factory=FindingRules)
    habit: HabitConfig = field(default_factory=HabitConfig)

    def __post_init__(self) -> None:
        _require(0.0 < self.min_visibility < 1.0, "metrics.min_visibility must be between 0 and 1")


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
        _require(self.min_cutoff_hz > 0, "smoothing.min_cutoff_hz must be positive")
        _require(self.beta >= 0, "smoothing.beta must be >= 0")
        _require(self.view_hold_s >= 0, "smoothing.view_hold_s must be >= 0")


# Analysed frames a second of a recorded video: from one every 100 s (a sample step may be
# longer than the clip; it is then cut to the clip) to more than any video has (--every-frame).
MIN_SAMPLE_FPS = 0.01
MAX_SAMPLE_FPS = 240.0
MAX_LIVE_FPS = 30.0  # the live monitor looks at most this often (a webcam delivers about 30)


@dataclass(frozen=True)
class AnalysisConfig:
    sample_fps: float | None = 5.0  # analysed frames per second of video; None = every frame
    refine: bool = True  # where the verdict changes between two samples, analyse the frames between
    model: Path | None = None  # a .task file for the Tasks API; None = the bundled full model
    model_complexity: int = 1  # 1 = the shipped full model; 0 (lite) and 2 (heavy) need a .task file

    def __post_init__(self) -> None:
        _require(
            self.sample_fps is None or MIN_SAMPLE_FPS <= self.sample_fps <= MAX_SAMPLE_FPS,
            f"analysis.sample_fps must be from {MIN_SAMPLE_FPS:g} to {MAX_SAMPLE_FPS:g} frames a second",
        )
        _require(self.model_complexity in (0, 1, 2), "analysis.model_complexity must be 0, 1 or 2")


@dataclass(frozen=True)
class SamplingConfig:
    """How often the live monitor looks (:class:`posture.sampling.AdaptiveSampler`)."""

    steady_fps: float = 1.0  # posture steady, or an alert already raised
    watch_fps: float = 2.0  # a finding near its threshold, or poor and building toward an alert
    away_fps: float = 0.25  # nobody there for a while
    near_severity: float = 0.7  # from here a finding counts as near its threshold
    away_after_s: float = 10.0  # away this long before slowing down (people come back quickly)

    def __post_init__(self) -> None:
        if not MIN_SAMPLE_FPS <= self.away_fps <= self.steady_fps <= self.watch_fps <= MAX_LIVE_FPS:
            raise ConfigError(
                "sampling.away_fps, steady_fps and watch_fps must satisfy "
                f"{MIN_SAMPLE_FPS:g} <= away_fps <= steady_fps <= watch_fps <= {MAX_LIVE_FPS:g}"
            )
        if not 0 < self.near_severity <= 1.0:
            raise ConfigError("sampling.near_severity must be in (0, 1]")
        if not 0 <= self.away_after_s < math.inf:
            raise ConfigError("sampling.away_after_s must be >= 0")


@dataclass(frozen=True)
class GateConfig:
    """The change gate (:class:`posture.sampling.ChangeGate`): skip the pose model while nothing moves."""

    enabled: bool = True
    pixel_change: float = 10.0  # grey levels (0-255) a thumbnail pixel must move to count as changed
    changed_share: float = 0.01  # share of changed thumbnail pixels that counts as a change in the picture
    max_reuse_s: float = 5.0  # look properly at least this often, even in a still picture

    def __post_init__(self) -> None:
        if not 0 <= self.pixel_change < 255:
            raise ConfigError("change_gate.pixel_change must be a grey level in [0, 255)")
        if not 0 < self.changed_share <= 1.0:
            raise ConfigError("change_gate.changed_share must be a share in (0, 1]")
        if not 0 < self.max_reuse_s < math.inf:
            raise ConfigError("change_gate.max_reuse_s must be positive")


# OpenCV reads an index from 100 up as a back-end plus a camera (200 is V4L2's camera 0), and -1
# as "any camera", which crashes it on a machine with none (signal 11): only 0-99 are cameras.
MAX_CAMERA_INDEX = 99


@dataclass(frozen=True)
class MonitorConfig:
    """The live monitor's housekeeping (its sampling and change gate have sections of their own)."""

    history_flush_s: float = 5.0  # the history is never more than this far behind
    retry_first_s: float = 1.0  # first wait before reopening a lost camera; doubles up to retry_max_s
    retry_max_s: float = 30.0
    release_after_away_s: float = 60.0  # after this long away, open the camera only to look
    camera: int = 0  # the camera monitor, calibrate and tray use without --camera (a machine with two)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if f.name != "camera":
                _require(getattr(self, f.name) > 0, f"monitor.{f.name} must be positive")
        _require(
            0 <= self.camera <= MAX_CAMERA_INDEX,
            f"monitor.camera must be a camera index from 0 to {MAX_CAMERA_INDEX}",
        )
        _require(
            self.retry_max_s >= self.retry_first_s, "monitor.retry_max_s must be >= monitor.retry_first_s"
        )


@dataclass(frozen=True)
class CalibrationConfig:
    """How a calibration capture is taken and what it must satisfy."""

    seconds: float = 8.0  # length of the capture, in seconds of source time
    sample_fps: float = 5.0  # frames analysed per second
    min_visibility: float = 0.6  # shoulders and ears must be seen at least this well
    max_spread_deg: float = 3.0  # steadiness: interquartile range of each key angle
    min_brightness: float = 45.0  # mean grey level, 0-255
    max_brightness: float = 215.0
    # Share of the sampled frames that must show the person, and of those, the share that must
    # show the shoulders and ears.
    min_frames_with_person: float = 0.8

    def __post_init__(self) -> None:
        _require(self.seconds > 0, "calibration.seconds must be positive")
        _require(
            MIN_SAMPLE_FPS <= self.sample_fps <= MAX_LIVE_FPS,
            f"calibration.sample_fps must be from {MIN_SAMPLE_FPS:g} to {MAX_LIVE_FPS:g}",
        )
        _require(0.0 < self.min_visibility < 1.0, "calibration.min_visibility must be between 0 and 1")
        _require(self.max_spread_deg > 0, "calibration.max_spread_deg must be positive")
        _require(
            0.0 <= self.min_brightness < self.max_brightness <= 255.0,
            "calibration.min_brightness and max_brightness must satisfy 0 <= min < max <= 255",
        )
        _require(
            0.0 < self.min_frames_with_person <= 1.0,
            "calibration.min_frames_with_person must be a share in (0, 1]",
        )


# Process names of meeting apps, lowercase, without ".exe"; the user configures the list
# (``context.meeting_apps``). Matching is on exact process names, so helpers and updaters do not
# count. Note that most of these apps keep running in the background between meetings; remove
# those you leave open all day.
DEFAULT_MEETING_APPS: tuple[str, ...] = (
    "zoom",  # Linux (zoom), Windows (Zoom.exe)
    "zoom.us",  # macOS
    "teams",  # classic Teams (Teams.exe, Linux teams)
    "ms-teams",  # new Teams on Windows (ms-teams.exe)
    "msteams",  # new Teams on macOS
    "microsoft teams",  # classic Teams on macOS
    "teams-for-linux",  # the community Linux client
    "webex",  # macOS and Linux Webex app
    "ciscocollabhost",  # Webex app on Windows
    "webexmta",  # Webex Meetings on Windows
    "skype",  # macOS, Windows (Skype.exe)
    "skypeforlinux",
    "facetime",  # macOS
)


@dataclass(frozen=True)
class ContextConfig:
    """When the monitor pauses by itself. ``meeting_apps`` empty: never for meetings."""

    pause_on_lock: bool = True
    meeting_apps: tuple[str, ...] = DEFAULT_MEETING_APPS
    interval_s: float = 5.0  # seconds between two probes

    def __post_init__(self) -> None:
        if not isinstance(self.pause_on_lock, bool):
            raise ConfigError(f"context.pause_on_lock must be true or false, got {self.pause_on_lock!r}")
        apps = self.meeting_apps
        if isinstance(apps, str) or not all(isinstance(a, str) and a.strip() for a in apps):
            raise ConfigError("context.meeting_apps must be a list of process names")
        object.__setattr__(self, "meeting_apps", tuple(a.strip() for a in apps))
        ok = isinstance(self.interval_s, (int, float)) and not isinstance(self.interval_s, bool)
        if not (ok and math.isfinite(self.interval_s) and self.interval_s > 0):
            raise ConfigError(f"context.interval_s must be a positive number, got {self.interval_s!r}")


@dataclass(frozen=True)
class EndOfDayConfig:
    """The end-of-day line (opt-in): one notification at ``at`` (local time) with the day's summary
    and the one thing to work on tomorrow, through the monitor's alert sinks."""

    enabled: bool = False
    at: str = "17:30"  # local time, HH:MM; sent as that time passes while the monitor runs

    def __post_init__(self) -> None:
        _require(
            time_of_day(self.at) is not None, f"end_of_day.at must be a time like '17:30', got {self.at!r}"
        )

    @property
    def hour_minute(self) -> tuple[int, int]:
        found = time_of_day(self.at)
        assert found is not None  # checked on construction
        return found


@dataclass(frozen=True)
class Config:
    """Every setting, one section per table of the TOML file (the field names are the table names)."""

    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    context: ContextConfig = field(default_factory=ContextConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    change_gate: GateConfig = field(default_factory=GateConfig)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    end_of_day: EndOfDayConfig = field(default_factory=EndOfDayConfig)

    def replace(self, section: str, **changes: Any) -> Config:
        """A copy with some fields of one section changed (used for command-line flags)."""
        if section not in _hints(Config):
            raise ConfigError(f"unknown section [{section}]{_suggest(section, _hints(Config), '[{}]')}")
        try:
            updated = dataclasses.replace(getattr(self, section), **changes)
        except TypeError as exc:  # a key the section does not have
            raise ConfigError(f"[{section}]: {exc}") from None
        return dataclasses.replace(self, **{section: updated})


def load_config(path: Path | None = None) -> Config:
    """Defaults, overlaid with ``path`` (or the user's config file when it exists)."""
    explicit = path is not None
    if path is None:
        path = config_path()
        if not path.is_file():
            return Config()
    if not path.is_file():
        what = "is not a regular file" if path.exists() else "not found"
        raise ConfigError(f"config file {what}: {path}")
    try:
        # utf-8-sig: a file saved with a byte-order mark (Windows Notepad) reads like any other
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except RecursionError:
        raise ConfigError(f"cannot read config {path}: nested too deep") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {printable(exc, 200)}") from None
    except ValueError:  # Python's limit on converting long digit strings (4300) to int
        raise ConfigError(f"cannot read config {path}: a number of thousands of digits") from None
    try:
        return config_from_mapping(data)
    except ConfigError as exc:
        where = path if explicit else f"{path} (user config)"
        raise ConfigError(f"{where}: {exc}") from None


def config_from_mapping(data: Mapping[str, Any]) -> Config:
    """A :class:`Config` from parsed TOML tables, strictly (see the module's docstring)."""
    _reject_unknown(data, _hints(Config), "section", "[{}]", "the sections are", "[{}]")
    return _build(Config, data, "")


# -- the strict loader: dispatch on the annotated types ------------------------------------------------


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """The fields of a config dataclass and their real types (annotations resolved)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init and not f.name.startswith("_")}


def _reject_unknown(
    table: Mapping[str, Any], known: Mapping[str, Any], what: str, form: str, listed: str, hint: str = "{}"
) -> None:
    """A ConfigError for the names in ``table`` that are not ``known``: each with a close match when
    there is one, and the list of known names when a name has none."""
    unknown = [name for name in table if name not in known]
    if not unknown:
        return
    shown = unknown[:_MAX_NAMED]
    named = ", ".join(form.format(_shown_name(n)) + _suggest(n, known, hint) for n in shown)
    if len(unknown) > len(shown):
        named += f" and {len(unknown) - len(shown)} more"
    message = f"unknown {what}{'s' if len(unknown) > 1 else ''} {named}"
    if any(not _suggest(n, known) for n in shown):
        message += f"; {listed}: {', '.join(known)}"
    raise ConfigError(message)


_MAX_NAMED = 5  # unknown names listed in one error; the rest are counted
_MAX_PATH_CHARS = 4096  # PATH_MAX on Linux: a longer one is no file


def _shown_name(name: str) -> str:
    return printable(name, 40)


def _suggest(name: str, choices: typing.Iterable[str], form: str = "{}") -> str:
    if len(name) > 100:  # no key is that long; difflib would take its time over it
        return ""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {form.format(close[0])}?)" if close else ""


def _shown(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        # str() of an int past 4300 digits raises: count the digits from its bits
        return f"a number of {int(abs(value).bit_length() * math.log10(2)) + 1} digits"
    if isinstance(value, (str, list)) and len(value) > 100:  # repr() of 10 MB, then cut: no
        value = value[:100]
    return printable(repr(value), 40)


def _is_table_type(tp: Any) -> bool:
    return dataclasses.is_dataclass(tp) and tp is not Band


def _build(cls: type, table: Mapping[str, Any], section: str) -> Any:
    """``cls`` from a TOML table; ``section`` is its dotted name ("" for the whole file)."""
    hints = _hints(cls)
    _reject_unknown(table, hints, "key", f"{section}.{{}}", f"the keys of [{section}] are")
    kwargs = {
        name: _convert(value, hints[name], f"{section}.{name}" if section else name)
        for name, value in table.items()
    }
    return cls(**kwargs)  # each section checks its values, with a ConfigError naming the key


def _convert(value: Any, tp: Any, key: str) -> Any:
    """``value`` as read from TOML checked against the field's type ``tp``; never coerced."""
    if tp is FindingRules:  # a table whose keys are the finding registry's bands
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a table ([{key}]), got {_shown(value)}")
        _reject_unknown(value, finding_bands(), "key", f"{key}.{{}}", f"the keys of [{key}] are")
        return FindingRules(**{name: _convert(v, Band, f"{key}.{name}") for name, v in value.items()})
    if _is_table_type(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a table ([{key}]), got {_shown(value)}")
        return _build(tp, value, key)
    if isinstance(value, dict):
        raise ConfigError(f"{key} must be a value, not a table")
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        # TOML has no null: an optional key (default None) is unset by leaving it out.
        (inner,) = (a for a in args if a is not type(None))
        return _convert(value, inner, key)
    if tp is Band:
        if not (isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)):
            raise ConfigError(f"{key} must be a [start, limit] pair of numbers, got {_shown(value)}")
        for i, v in enumerate(value):
            _in_range(v, f"{key}[{i}]")
        try:
            return Band(float(value[0]), float(value[1]))
        except ConfigError as exc:
            raise ConfigError(f"{key}: {exc}") from None
    if tp is bool:
        _expect(isinstance(value, bool), key, "true or false", value)
    elif tp is int:
        _expect(isinstance(value, int) and not isinstance(value, bool), key, "a whole number", value)
        _in_range(value, key)
    elif tp is float:
        _expect(_is_number(value), key, "a number", value)
        _in_range(value, key)
        return float(value)
    elif tp is str:
        _expect(isinstance(value, str), key, "a string in quotes", value)
    elif tp is Path:
        _expect(isinstance(value, str) and value.strip() != "", key, "a file path in quotes", value)
        _expect(
            len(value) <= _MAX_PATH_CHARS, key, f"a file path (at most {_MAX_PATH_CHARS} characters)", value
        )
        return Path(value).expanduser()
    elif origin is tuple:
        _expect(isinstance(value, list), key, "a list", value)
        items = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
        if len(value) != len(items):
            raise ConfigError(f"{key} must be a list of {len(items)} values, got {_shown(value)}")
        return tuple(_convert(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, items, strict=True)))
    else:  # pragma: no cover - a field type this loader was not taught
        raise TypeError(f"{key}: no loader for {tp!r}")
    return value


def _expect(ok: bool, key: str, what: str, value: Any) -> None:
    if not ok:
        raise ConfigError(f"{key} must be {what}, got {_shown(value)}")


def _is_number(value: Any) -> bool:
    """An int or a finite float (TOML's nan and inf are no setting), never a bool."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return isinstance(value, int) or math.isfinite(value)  # isfinite() overflows on a 400-digit int


MAX_NUMBER = 1e9  # no setting is larger (seconds, frames a second, degrees, counts)


def _in_range(value: float, key: str) -> None:
    """Refuse a number no setting can take before anything converts it (an int of 400 digits has
    no float, and 1e300 seconds overflow every clock)."""
    if not -MAX_NUMBER <= value <= MAX_NUMBER:
        raise ConfigError(f"{key} must be between {-MAX_NUMBER:g} and {MAX_NUMBER:g}, got {_shown(value)}")

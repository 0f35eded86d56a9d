"""Wrong-typed config values and hostile profiles: a ConfigError or BaselineError (exit 2, one line)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from posture.baseline import Baseline
from posture.config import load_config
from posture.errors import BaselineError, ConfigError
from tests.adversarial.helpers import assert_one_line_error, run_cli
from tests.builders import profile_document, write_png

pytestmark = pytest.mark.adversarial

BAD_CONFIGS = {
    "float-as-string": '[analysis]\nsample_fps = "fast"\n',
    "float-as-bool": "[analysis]\nsample_fps = true\n",
    "float-as-list": "[detector]\ngrace_s = [1, 2]\n",
    "float-as-table": "[detector.grace_s]\na = 1\n",
    "float-nan": "[detector]\ngrace_s = nan\n",
    "float-inf": "[detector]\nrelease_s = inf\n",
    "float-as-date": "[detector]\nhold_s = 1979-05-27\n",
    "bool-as-int": "[analysis]\nrefine = 1\n",
    "bool-as-string": '[smoothing]\nenabled = "yes"\n',
    "int-as-float": "[analysis]\nmodel_complexity = 1.5\n",
    "int-as-string": '[analysis]\nmodel_complexity = "1"\n',
    "int-as-bool": "[analysis]\nmodel_complexity = true\n",
    "path-as-int": "[analysis]\nmodel = 3\n",
    "path-as-list": '[analysis]\nmodel = ["a"]\n',
    "band-of-strings": '[metrics.rules]\nforward_head_deg = ["a", "b"]\n',
    "band-of-three": "[metrics.rules]\nforward_head_deg = [1, 2, 3]\n",
    "band-of-one": "[metrics.rules]\nhunched_back_deg = [1]\n",
    "band-as-number": "[metrics.rules]\nhunched_back_deg = 5\n",
    "band-with-nan": "[metrics.rules]\nhunched_back_deg = [nan, 5]\n",
    "band-with-bool": "[metrics.rules]\nhunched_back_deg = [true, 5]\n",
    "band-nested": "[metrics.rules]\nhunched_back_deg = [[1], [2]]\n",
    "list-of-ints": "[context]\nmeeting_apps = [1, 2]\n",
    "list-as-string": '[context]\nmeeting_apps = "zoom"\n',
    "quiet-hours-ints": "[policy]\nquiet_hours = [22, 7]\n",
    "bool-as-no": '[change_gate]\nenabled = "no"\n',
    "bool-as-float": "[context]\npause_on_lock = 0.0\n",
    "monitor-float-as-string": '[monitor]\nretry_max_s = "30"\n',
    "sampling-float-inf": "[sampling]\nwatch_fps = inf\n",
    "calibration-float-as-list": "[calibration]\nseconds = [8]\n",
    "calibration-out-of-range": "[calibration]\nmin_visibility = 1.5\n",
    "gate-out-of-range": "[change_gate]\npixel_change = 300\n",
    "unknown-nested-section": "[metrics.rulez]\na = 1\n",
    "key-as-table": "[analysis]\nrefine = { a = 1 }\n",
    "unknown-section": "[nonsense]\na = 1\n",
    "unknown-key": "[analysis]\nspeed = 3\n",
    "section-as-value": "analysis = 3\n",
    "not-toml": "this is = = not toml\n",
    "deep-arrays": "a = " + "[" * 3000 + "]" * 3000 + "\n",
    "binary": None,  # written as random bytes
    "latin-1": None,  # not UTF-8
}


def _write_config(kind: str, path: Path) -> Path:
    if kind == "binary":
        path.write_bytes(os.urandom(512))
    elif kind == "latin-1":
        path.write_bytes("[analysis]\n# caf\xe9\n".encode("latin-1"))
    else:
        path.write_text(BAD_CONFIGS[kind], encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", sorted(BAD_CONFIGS))
def test_bad_config_is_a_config_error(kind: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_config(_write_config(kind, tmp_path / "posture.toml"))


@pytest.mark.parametrize(
    "kind", ["float-as-string", "band-of-strings", "deep-arrays", "bool-as-int", "binary"]
)
def test_bad_config_through_the_cli(kind: str, tmp_path: Path, capsys) -> None:
    cfg = _write_config(kind, tmp_path / "posture.toml")
    code, _, err = run_cli(["measure", str(write_png(tmp_path / "ok.png")), "--config", str(cfg)], capsys)
    assert_one_line_error(code, err)


# (the file, the dotted key) that each one-line error must name
NAMED_IN_THE_ERROR = {
    "float-as-string": "analysis.sample_fps",
    "bool-as-int": "analysis.refine",
    "bool-as-no": "change_gate.enabled",
    "monitor-float-as-string": "monitor.retry_max_s",
    "calibration-out-of-range": "calibration.min_visibility",
    "band-of-strings": "metrics.rules.forward_head_deg",
    "unknown-key": "analysis.speed",
    "unknown-section": "[nonsense]",
    "unknown-nested-section": "metrics.rulez",
}


@pytest.mark.parametrize("kind", sorted(NAMED_IN_THE_ERROR))
def test_a_config_error_names_the_file_and_the_key(kind: str, tmp_path: Path, capsys) -> None:
    cfg = _write_config(kind, tmp_path / "posture.toml")
    code, _, err = run_cli(["measure", str(write_png(tmp_path / "ok.png")), "--config", str(cfg)], capsys)
    line = assert_one_line_error(code, err)
    assert str(cfg) in line and NAMED_IN_THE_ERROR[kind] in line, line


def test_the_sample_config_still_loads() -> None:
    from tests.adversarial.helpers import ROOT

    config = load_config(ROOT / "samples" / "posture.toml")
    assert config.analysis.sample_fps == 5.0


BAD_PROFILES = {
    "deep-lists": "[" * 100_000 + "]" * 100_000,
    "deep-objects": '{"a":' * 50_000 + "1" + "}" * 50_000,
    "deep-inside-values": json.dumps(profile_document())[:-1] + ', "x": ' + "[" * 5000 + "]" * 5000 + "}",
    "not-json": "neck = 10",
    "json-list": "[1, 2, 3]",
    "json-string": '"profile"',
    "wrong-kind": json.dumps(profile_document(kind="something-else")),
    "wrong-version": json.dumps(profile_document(version=99)),
    "version-as-string": json.dumps(profile_document(version="1")),
    "values-as-list": json.dumps(profile_document(values=[1, 2])),
    "values-missing": json.dumps({k: v for k, v in profile_document().items() if k != "values"}),
    "frames-as-bool": json.dumps(profile_document(frames=True)),
    "frames-negative": json.dumps(profile_document(frames=-3)),
    "frames-as-string": json.dumps(profile_document(frames="10")),
    "nan-constant": json.dumps(profile_document())[:-1] + ', "extra": NaN}',
    "infinity-constant": json.dumps(profile_document()).replace("10.0", "Infinity"),
    "truncated": json.dumps(profile_document())[:40],
    "utf16": None,
    "huge": None,
}


def _write_profile(kind: str, path: Path) -> Path:
    if kind == "utf16":
        path.write_bytes(json.dumps(profile_document()).encode("utf-16"))
    elif kind == "huge":
        path.write_text(json.dumps(profile_document(source="x" * 2_000_000)))
    else:
        path.write_text(BAD_PROFILES[kind], encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", sorted(BAD_PROFILES))
def test_bad_profile_is_a_baseline_error(kind: str, tmp_path: Path) -> None:
    with pytest.raises(BaselineError):
        Baseline.load(_write_profile(kind, tmp_path / "profile.json"))


@pytest.mark.parametrize("kind", ["deep-lists", "deep-objects", "nan-constant", "huge", "utf16"])
def test_bad_profile_through_the_cli(kind: str, tmp_path: Path, capsys) -> None:
    profile = _write_profile(kind, tmp_path / "profile.json")
    code, _, err = run_cli(
        ["measure", str(write_png(tmp_path / "ok.png")), "--baseline", str(profile)], capsys
    )
    assert_one_line_error(code, err)


@pytest.mark.parametrize("value", [1e308, -1e300, True, "12", None, [1], {"a": 1}])
def test_implausible_reference_values_are_dropped(value, tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(
        json.dumps(profile_document(values={"neck_inclination_deg": value, "trunk_inclination_deg": 2.0}))
    )
    baseline = Baseline.load(path)
    assert baseline.values["neck_inclination_deg"] is None
    assert baseline.values["trunk_inclination_deg"] == 2.0


def test_a_profile_fifo_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "profile.json"
    os.mkfifo(fifo)
    with pytest.raises(BaselineError, match="not a regular file"):
        Baseline.load(fifo)


def test_a_good_profile_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(profile_document()))
    baseline = Baseline.load(path)
    baseline.save(tmp_path / "again.json")
    assert Baseline.load(tmp_path / "again.json").values == baseline.values
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.json", "p.json"]  # no temporary file

"""The library names parameters, the command line its flags: one table between them
(``posture._cli.main.PARAMETER_FLAGS``), for errors and for warnings alike."""

from __future__ import annotations

import dataclasses
import io
import logging
from pathlib import Path

import pytest

from posture._cli.main import PARAMETER_FLAGS, _PrintableFormatter, build_parser, flag_of, main
from posture.batch import BatchOptions
from posture.config import Config
from posture.errors import OptionError, Phrase
from posture.options import AnalysisOptions

# Options only the command line's own constants set (the demo's): no flag to name.
WITHOUT_A_FLAG = {"annotate_fps", "footage_credit", "credit_band_px", "own_folder"}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv, stdout=io.StringIO())
    return code, capsys.readouterr().err


def _flags(command: str) -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return {flag for action in sub.choices[command]._actions for flag in action.option_strings}  # type: ignore[attr-defined]


def test_every_flag_in_the_table_is_one_analyze_or_batch_has() -> None:
    flags = _flags("analyze") | _flags("batch")
    assert set(PARAMETER_FLAGS.values()) <= flags


def test_every_option_that_can_be_refused_has_its_flag() -> None:
    """The parameters the options' own checks name: each has a flag, or is set by no flag."""
    bad = [
        lambda: AnalysisOptions(workers=0),
        lambda: AnalysisOptions(calibrate_first_s=-1.0),
        lambda: AnalysisOptions(baseline=Path("b.json"), calibrate_first_s=1.0),
        lambda: AnalysisOptions(annotate_fps=0.0),
        lambda: AnalysisOptions(credit_band_px=-1),
        lambda: BatchOptions(("a",), Path("o"), Config(), workers=0),
        lambda: BatchOptions(("a",), Path("o"), Config(), max_attempts=0),
        lambda: BatchOptions(("a",), Path("o"), Config(), cpus_per_task=0.0),
        lambda: BatchOptions(("a",), Path("o"), Config(), ray_address="h:1"),
    ]
    named: set[str] = set()
    for make in bad:
        with pytest.raises(OptionError) as info:
            make()
        named.update(info.value.phrase.parameters)
    assert named - WITHOUT_A_FLAG <= set(PARAMETER_FLAGS)
    fields = {f.name for f in dataclasses.fields(AnalysisOptions)} | {
        f.name for f in dataclasses.fields(BatchOptions)
    }
    assert set(PARAMETER_FLAGS) <= fields  # the table names no parameter that does not exist


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["analyze", "v.mp4", "--workers", "0"], "posture: error: --workers must be at least 1"),
        (
            ["analyze", "v.mp4", "--baseline", "me.json", "--calibrate-first", "5"],
            "posture: error: use either --baseline or --calibrate-first, not both",
        ),
        (
            ["analyze", "v.mp4", "--calibrate-first", "nan"],
            "posture: error: --calibrate-first must be a number above 0 and at most 3600, not nan",
        ),
        (
            ["batch", "a", "--out", "o", "--max-attempts", "0"],
            "posture: error: --max-attempts must be at least 1",
        ),
        (
            ["batch", "a", "--out", "o", "--ray-address", "h:1"],
            "posture: error: --ray-address needs --engine ray",
        ),
    ],
)
def test_the_command_line_names_the_flag_in_one_line(
    argv: list[str],
    line: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # nothing is written: the options are refused before any work
    code, err = run(argv, capsys)
    assert code == 2 and err == line + "\n"
    assert list(tmp_path.iterdir()) == []


def test_a_warning_names_the_flag_on_the_command_line_and_the_parameter_in_the_library() -> None:
    phrase = Phrase("{workers} {asked}: this machine has {cores} core(s); using {cores}", asked=8, cores=2)
    record = logging.makeLogRecord({"msg": phrase, "levelno": logging.WARNING, "levelname": "WARNING"})
    assert record.getMessage() == "workers 8: this machine has 2 core(s); using 2"
    shown = _PrintableFormatter("posture: %(message)s").format(record)
    assert shown == "posture: --workers 8: this machine has 2 core(s); using 2"
    assert flag_of("annotate_fps") == "annotate_fps"  # no flag: its own name

"""The options of a run: checked once when made, with errors that name parameters, never flags."""

from __future__ import annotations

import dataclasses
import math
import pickle
from pathlib import Path

import pytest

from posture.errors import ExitCode, InputError, OptionError, Phrase
from posture.options import MAX_CALIBRATE_FIRST_S, AnalysisOptions, check_count


def test_the_defaults_are_a_valid_run_and_cannot_change() -> None:
    options = AnalysisOptions()
    assert options.baseline is None and options.calibrate_first_s is None and options.workers is None
    assert options.report and options.key_frames and options.history and not options.annotate
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.workers = 2  # type: ignore[misc]
    assert AnalysisOptions(calibrate_first_s=MAX_CALIBRATE_FIRST_S, workers=1, annotate_fps=0.5)


@pytest.mark.parametrize(
    ("changes", "parameter", "words"),
    [
        ({"workers": 0}, "workers", "workers must be at least 1"),
        ({"workers": -3}, "workers", "workers must be at least 1"),
        ({"workers": 1.5}, "workers", "workers needs a whole number, not 1.5"),
        ({"workers": True}, "workers", "workers needs a whole number, not True"),
        (
            {"calibrate_first_s": math.nan},
            "calibrate_first_s",
            "must be a number above 0 and at most 3600, not nan",
        ),
        ({"calibrate_first_s": math.inf}, "calibrate_first_s", "at most 3600, not inf"),
        ({"calibrate_first_s": 0}, "calibrate_first_s", "above 0"),
        ({"calibrate_first_s": -3.0}, "calibrate_first_s", "not -3.0"),
        ({"calibrate_first_s": 3600.5}, "calibrate_first_s", "not 3600.5"),
        (
            {"calibrate_first_s": "5"},
            "calibrate_first_s",
            "calibrate_first_s needs a number of seconds, not '5'",
        ),
        ({"annotate_fps": 0.0}, "annotate_fps", "annotate_fps must be a number above 0, not 0.0"),
        ({"annotate_fps": math.nan}, "annotate_fps", "not nan"),
        ({"credit_band_px": -1}, "credit_band_px", "credit_band_px must be a whole number from 0, not -1"),
        (
            {"baseline": Path("me.json"), "calibrate_first_s": 5.0},
            "baseline",
            "use either baseline or calibrate_first_s, not both",
        ),
    ],
)
def test_a_value_no_run_can_take_is_refused_naming_its_parameter(
    changes: dict[str, object], parameter: str, words: str
) -> None:
    with pytest.raises(OptionError) as info:
        AnalysisOptions(**changes)  # type: ignore[arg-type]
    error = info.value
    assert isinstance(error, InputError) and error.exit_code == ExitCode.BAD_INPUT
    assert error.parameter == parameter
    assert words in str(error) and "--" not in str(error)


def test_two_options_that_exclude_each_other_name_both() -> None:
    with pytest.raises(OptionError) as info:
        AnalysisOptions(baseline=Path("me.jpg"), calibrate_first_s=5.0)
    assert info.value.phrase.parameters == ("baseline", "calibrate_first_s")
    flags = {"baseline": "--baseline", "calibrate_first_s": "--calibrate-first"}
    assert (
        info.value.phrase.naming(flags.__getitem__) == "use either --baseline or --calibrate-first, not both"
    )


def test_a_count_is_a_whole_number_from_one() -> None:
    check_count("max_attempts", 1)
    with pytest.raises(OptionError, match=r"^max_attempts must be at least 1$") as info:
        check_count("max_attempts", 0)
    assert info.value.parameter == "max_attempts"
    with pytest.raises(OptionError, match="max_attempts needs a whole number"):
        check_count("max_attempts", "3")


def test_a_phrase_formats_values_and_never_reads_them_as_a_template() -> None:
    phrase = Phrase("{workers} {asked}: only {cores} core(s)", asked="{cores}", cores=2)
    assert phrase.parameters == ("workers",)
    assert str(phrase) == "workers {cores}: only 2 core(s)"
    assert phrase.naming(lambda p: f"--{p}") == "--workers {cores}: only 2 core(s)"
    assert (
        repr(phrase)
        == "Phrase('{workers} {asked}: only {cores} core(s)', **{'asked': '{cores}', 'cores': 2})"
    )


def test_an_option_error_crosses_processes_whole() -> None:
    error = OptionError(
        "{calibrate_first_s} must be at most {most:g}, not {value!r}", most=60.0, value={"a": "{b}"}
    )
    copy = pickle.loads(pickle.dumps(error))
    assert (
        type(copy) is OptionError
        and str(copy) == str(error) == "calibrate_first_s must be at most 60, not {'a': '{b}'}"
    )
    assert copy.parameter == "calibrate_first_s" and copy.phrase.naming(str.upper).startswith(
        "CALIBRATE_FIRST_S"
    )

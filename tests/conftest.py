"""Shared fixtures: the footage folder, a private data folder, and a guard against logged errors."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOOTAGE = ROOT.parent / "shared" / "footage"
REQUIRE_FOOTAGE = os.environ.get("POSTURE_REQUIRE_FOOTAGE") == "1"


@pytest.fixture(scope="session")
def footage() -> Path:
    """../shared/footage; skipped when absent (a user's fresh clone), a failure in CI."""
    if not FOOTAGE.is_dir():
        if REQUIRE_FOOTAGE:
            pytest.fail(f"POSTURE_REQUIRE_FOOTAGE=1 but {FOOTAGE} is missing")
        pytest.skip(f"real footage not found at {FOOTAGE} (it sits beside the project in CI)")
    return FOOTAGE


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test writes into the real user's history or cache: POSTURE_DATA_DIR and POSTURE_CACHE_DIR
    point at temp folders."""
    monkeypatch.setenv("POSTURE_DATA_DIR", str(tmp_path_factory.mktemp("posture-data")))
    monkeypatch.setenv("POSTURE_CACHE_DIR", str(tmp_path_factory.mktemp("posture-cache")))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
    monkeypatch.setenv("POSTURE_CONFIG_DIR", str(tmp_path_factory.mktemp("posture-config")))


@pytest.fixture(autouse=True)
def _no_logged_errors(caplog: pytest.LogCaptureFixture):
    """Fail any test during which the library logged an error."""
    caplog.set_level(logging.WARNING, logger="posture")
    yield
    errors = [
        r for r in caplog.get_records("call") if r.levelno >= logging.ERROR and r.name.startswith("posture")
    ]
    assert not errors, f"errors were logged: {[r.getMessage() for r in errors]}"

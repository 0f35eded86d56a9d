"""Shared fixtures: the footage folder, headless Chromium, a private data folder, and a guard
against logged errors."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOOTAGE = ROOT.parent / "shared" / "footage"
REQUIRE_FOOTAGE = os.environ.get("POSTURE_REQUIRE_FOOTAGE") == "1"
REQUIRE_BROWSER = os.environ.get("POSTURE_REQUIRE_BROWSER") == "1"


def pytest_configure(config: pytest.Config) -> None:
    """The tests that stop posture's processes with SIGINT need it to reach them. A shell that
    starts the suite in the background without job control (``cmd &`` in a script, ``nohup``)
    sets SIGINT to "ignore", which every process started from here would inherit, and Python
    then never raises KeyboardInterrupt: posture, so started, rightly keeps ignoring Ctrl-C.
    The suite stands for a user at a terminal, so SIGINT is restored for it and its children."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def footage() -> Path:
    """../shared/footage; skipped when absent (a user's fresh clone), a failure in CI."""
    if not FOOTAGE.is_dir():
        if REQUIRE_FOOTAGE:
            pytest.fail(f"POSTURE_REQUIRE_FOOTAGE=1 but {FOOTAGE} is missing")
        pytest.skip(f"real footage not found at {FOOTAGE} (it sits beside the project in CI)")
    return FOOTAGE


@dataclass(frozen=True)
class Chromium:
    """Headless Chromium, for the pages posture writes."""

    path: str

    def run(self, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
        """One headless run with a fresh profile, nothing networked, runnable as root."""
        cmd = [
            self.path,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
        ]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="session")
def chromium() -> Chromium:
    """Chromium; skipped when it is not installed, a failure in CI (POSTURE_REQUIRE_BROWSER=1)."""
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Chromium(candidate)
    reason = "Chromium not found (/usr/bin/chromium or chromium on PATH); install it to run the browser test"
    if REQUIRE_BROWSER:
        pytest.fail(f"POSTURE_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def _shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the whole run (matplotlib's font cache is slow to build)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def _private_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, _shared_cache: Path
) -> None:
    """No test touches the real user's folders: HOME, every XDG folder, posture's data, config and
    runtime folders point at temporary ones (so a test's monitor never meets the user's)."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    for name in ("XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(tmp_path_factory.mktemp(name.lower())))
    monkeypatch.setenv("XDG_CACHE_HOME", str(_shared_cache))
    monkeypatch.setenv("MPLCONFIGDIR", str(_shared_cache / "matplotlib"))
    run = tmp_path_factory.mktemp("run")
    run.chmod(0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    monkeypatch.setenv("POSTURE_RUNTIME_DIR", str(run / "posture"))
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


@pytest.fixture()
def scripted():
    """``scripted(segments)``: the estimator factory that plays those (seconds, pose) segments."""
    from tests.fakes import Script, ScriptedEstimators

    def make(*segments):
        return ScriptedEstimators(Script(tuple(segments)))

    return make


_SLOW_BY_NATURE = frozenset({"footage", "mediapipe", "browser", "desktop"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The real model, real footage and a browser are slow by nature: ``-m "not slow"`` skips them."""
    for item in items:
        if any(item.get_closest_marker(name) for name in _SLOW_BY_NATURE):
            item.add_marker(pytest.mark.slow)

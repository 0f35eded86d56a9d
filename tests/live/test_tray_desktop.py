"""``posture tray`` on a real X display: Xvfb, a small system tray (trayer), and the tray playing real
footage at real speed as its monitor's camera. Screenshots of the tray host show the icon's colour
for a good and then a poor stretch; a click on the icon opens the menu, and "Pause for 30 minutes"
reaches the monitor (posture status says paused); quitting stops the monitor the tray started, its
session saved.

Skipped without Xvfb, trayer, xdotool or pystray, unless POSTURE_REQUIRE_DESKTOP=1 (then it fails);
.ci/run installs them.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from posture._cli.main import main
from posture.live.control import USER_PAUSE_REASON, Command, Request, send_command
from posture.live.tray import COLOURS, TrayState

pytestmark = [pytest.mark.desktop, pytest.mark.footage]

REQUIRE = os.environ.get("POSTURE_REQUIRE_DESKTOP") == "1"
TOOLS = ("Xvfb", "trayer", "xdotool")
STRETCH_S = 14.0  # good, then poor: the clip loops


def _need(what: str) -> None:
    if REQUIRE:
        pytest.fail(f"POSTURE_REQUIRE_DESKTOP=1 but {what}")
    pytest.skip(what)


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    """A private X display with a system tray on it (top left, 32 px high)."""
    for tool in TOOLS:
        if shutil.which(tool) is None:
            _need(f"{tool} is not installed (Debian: xvfb, trayer, xdotool)")
    try:
        import pystray  # noqa: F401 - checked only for being installed (it needs a display to import)
    except ImportError:
        _need('pystray is not installed (pip install "posture-monitor[tray]")')
    except Exception:
        pass  # it is there; importing it without a display fails, which is expected here
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "640x480x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as fh:
        number = fh.readline().strip()
    name = f":{number}"
    env = {**os.environ, "DISPLAY": name}
    tray = subprocess.Popen(
        ["trayer", "--edge", "top", "--align", "left", "--widthtype", "request", "--height", "32",
         "--SetDockType", "false", "--transparent", "false", "--tint", "0xffffff"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        from posture.live.tray_icon import tray_host

        deadline = time.monotonic() + 15
        while tray_host(env) is not None:
            assert time.monotonic() < deadline, f"the tray host did not start: {tray_host(env)}"
            time.sleep(0.2)
        yield name
    finally:
        for proc in (tray, xvfb):
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _grab(display: str):
    from PIL import ImageGrab

    return ImageGrab.grab(xdisplay=display).convert("RGB").crop((0, 0, 320, 48))


def _state_pixels(image) -> dict[TrayState, tuple[int, int, int]]:
    """For each tray colour on the screenshot of the tray host: (pixels, x, y) of the first match."""
    found: dict[TrayState, tuple[int, int, int]] = {}
    px = image.load()
    for state, colour in COLOURS.items():
        ref = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
        hits = [
            (x, y)
            for y in range(image.height)
            for x in range(image.width)
            if all(abs(c - r) <= 6 for c, r in zip(px[x, y], ref, strict=True))
        ]
        if len(hits) >= 40:  # an icon, not a stray pixel of anti-aliasing
            found[state] = (len(hits), *hits[len(hits) // 2])
    return found


def _wait_for(what: str, check: Callable[[], object], timeout_s: float, log: Path) -> object:
    deadline = time.monotonic() + timeout_s
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            pytest.fail(f"{what} within {timeout_s:.0f} s; the tray said: {tail}")
        time.sleep(0.5)


def _status() -> str:
    out = io.StringIO()
    code = main(["status"], stdout=out)
    return out.getvalue() if code == 0 else ""


@pytest.mark.slow
def test_tray_icon_follows_posture_and_its_menu_pauses_the_monitor(
    display: str, footage: Path, tmp_path: Path
) -> None:
    from bench.monitor_cpu import build_clip

    clip = tmp_path / "good_then_poor.avi"
    build_clip(
        clip, stretch_s=STRETCH_S, plan=("good", "bad"), clip=footage / "side_video" / "chair_good_bad.mp4"
    )
    config = tmp_path / "posture.toml"
    config.write_text("[detector]\nhold_s = 4.0\n")
    log = tmp_path / "tray.log"
    env = {**os.environ, "DISPLAY": display}
    cmd = [
        sys.executable,
        "-m",
        "posture",
        "-v",
        "tray",
        "--source",
        str(clip),
        "--loop",
        "--config",
        str(config),
    ]
    cmd += ["--alerts", "console", "--no-context"]
    with open(log, "wb") as out:
        tray = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        # The good stretch: green (the monitor may first show "starting", grey).
        seen = _wait_for("no green icon", lambda: TrayState.FINE in _state_pixels(_grab(display)), 60, log)
        assert seen
        # The poor stretch: orange (building), then red (the alert after 4 s).
        poor = _wait_for(
            "no orange or red icon",
            lambda: {TrayState.BUILDING, TrayState.ALERT} & set(_state_pixels(_grab(display))),
            2 * STRETCH_S + 10,
            log,
        )
        assert poor

        # The menu: a click on the icon, then the first item that can be chosen (pause 30 min).
        states = _state_pixels(_grab(display))
        _, x, y = next(iter(states.values()))
        subprocess.run(
            ["xdotool", "mousemove", str(x), str(y), "click", "1"], env=env, check=True, timeout=10
        )
        time.sleep(1.5)
        subprocess.run(["xdotool", "key", "Down"], env=env, check=True, timeout=10)
        subprocess.run(["xdotool", "key", "Return"], env=env, check=True, timeout=10)
        _wait_for("posture status never said paused", lambda: _status().startswith("Paused until"), 15, log)
        status = send_command(Request(Command.STATUS))
        assert status.reason == USER_PAUSE_REASON
        assert status.paused_until_s is not None and 1780 < status.paused_until_s - time.time() <= 1800
        _wait_for("no paused (blue) icon", lambda: TrayState.PAUSED in _state_pixels(_grab(display)), 10, log)
    finally:
        tray.send_signal(signal.SIGTERM)
        try:
            code = tray.wait(30)
        except subprocess.TimeoutExpired:
            tray.kill()
            tray.wait()
            code = None
    said = log.read_text(errors="replace")
    assert code == 0, said[-2000:]
    pid = int(re.search(r"started the monitor \(pid (\d+)\)", said).group(1))
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the monitor the tray started is gone
    from posture.outputs.history import list_sessions

    (session,) = list_sessions(kinds=("replay",))
    assert session.status.value == "done" and session.duration_s > 10  # saved as on Ctrl-C

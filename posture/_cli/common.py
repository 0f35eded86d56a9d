"""What every command shares: the configuration from the flags, checked numbers, the browser."""

from __future__ import annotations

import argparse
import logging
import math
import sys
from pathlib import Path
from typing import IO

from posture.config import MAX_SAMPLE_FPS, MIN_SAMPLE_FPS, Config, load_config
from posture.errors import InputError
from posture.untrusted import printable

log = logging.getLogger("posture")


def positive(flag: str, value: float, *, least: float = 0.0, most: float = math.inf) -> float:
    """A finite number of seconds or frames, above zero (or at least ``least``) and at most
    ``most``: else exit 2."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{flag} needs a number, not {value!r}")
    if not (math.isfinite(value) and value > 0 and least <= value <= most):
        low = f"from {least:g}" if least > 0 else "above 0"
        bound = "" if math.isinf(most) else f" and at most {most:g}"
        raise InputError(f"{flag} must be a number {low}{bound}, not {value!r}")
    return value


def config_from_args(args: argparse.Namespace) -> Config:
    config = load_config(getattr(args, "config", None))
    if getattr(args, "model", None) is not None:
        config = config.replace("analysis", model=args.model)
    if getattr(args, "every_frame", False):
        config = config.replace("analysis", sample_fps=None)
    elif getattr(args, "fps", None) is not None:
        positive("--fps", args.fps, least=MIN_SAMPLE_FPS, most=MAX_SAMPLE_FPS)
        config = config.replace("analysis", sample_fps=args.fps)
    if getattr(args, "hold", None) is not None:
        positive("--hold", args.hold)
        config = config.replace("detector", hold_s=args.hold)
    return config


def fmt(value: float | None, unit: str = "°") -> str:
    return "-" if value is None else f"{value:.1f}{unit}"


def open_in_browser(path: Path, out: IO[str]) -> None:
    """Open ``path`` in the user's browser, or say where it is and why it could not be opened."""
    import os
    import webbrowser

    reason = ""
    try:
        opened = webbrowser.open(path.resolve().as_uri())
    except webbrowser.Error as exc:
        opened, reason = False, str(exc) or type(exc).__name__
    if opened:
        return
    if not reason:
        reason = "no web browser was found (set BROWSER to the one to use)"
        if sys.platform.startswith("linux") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        ):
            reason = "there is no display (DISPLAY and WAYLAND_DISPLAY are unset) and " + reason
    print(
        f"could not open the report in a browser: {printable(reason)}; open it yourself: {printable(path.resolve())}",
        file=out,
    )

"""Typed errors and the documented exit codes.

The library raises these; only the CLI turns them into one-line messages and exit codes.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "BaselineError",
    "CameraUnavailableError",
    "ConfigError",
    "ExitCode",
    "InputError",
    "ModelUnavailableError",
    "NotAMediaError",
    "PostureError",
    "SourceNotFoundError",
    "UnreadableSourceError",
]


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1  # a runtime failure
    BAD_INPUT = 2  # bad usage or bad input: missing/unreadable file, not a video, camera absent
    INTERRUPTED = 130  # Ctrl-C


class PostureError(Exception):
    """Base of every error the library raises on purpose."""

    exit_code: ExitCode = ExitCode.FAILURE


class InputError(PostureError):
    """Something the user gave us cannot be used."""

    exit_code = ExitCode.BAD_INPUT


class SourceNotFoundError(InputError):
    """A path that does not exist."""


class NotAMediaError(InputError):
    """A file that is neither a readable image nor a video (text, random bytes, a directory)."""


class UnreadableSourceError(InputError):
    """A media file that opens but yields no frame (empty or corrupt)."""


class CameraUnavailableError(InputError):
    """The requested camera does not exist or cannot be opened."""


class ModelUnavailableError(InputError):
    """The requested pose model is not on this machine (nothing is ever downloaded)."""


class ConfigError(InputError):
    """A configuration file or option with a wrong value."""


class BaselineError(InputError):
    """A baseline that cannot be made or read (no person in the image, a bad profile file)."""

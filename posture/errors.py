"""Typed errors and the documented exit codes.

The library raises these; only the CLI turns them into one-line messages and exit codes.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from enum import IntEnum

__all__ = [
    "BaselineError",
    "CameraUnavailableError",
    "ConfigError",
    "ExitCode",
    "InputError",
    "ModelUnavailableError",
    "NotAMediaError",
    "OptionError",
    "Phrase",
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


class Phrase:
    """A sentence that names parameters of the library, each as ``{name}`` in its template.

    ``str()`` names them as the library does (``workers must be at least 1``); :meth:`naming`
    as a caller chooses: the CLI puts each parameter's flag in its place (``--workers must be at
    least 1``), so the library never names a flag. The other fields are values, given as
    keywords; they are formatted into the sentence, never read as a template.
    """

    def __init__(self, template: str, **values: object) -> None:
        self.template = template
        self.values = values
        fields = (name for _, name, _, _ in string.Formatter().parse(template) if name)
        self.parameters = tuple(dict.fromkeys(f for f in fields if f not in values))

    def naming(self, name: Callable[[str], str]) -> str:
        """The sentence with each parameter called ``name(parameter)``."""
        return self.template.format(**{p: name(p) for p in self.parameters}, **self.values)

    def __str__(self) -> str:
        return self.naming(str)

    def __repr__(self) -> str:
        return f"Phrase({self.template!r}, **{self.values!r})"


class OptionError(InputError):
    """An option of a run that cannot be: a value no run can take, or two that exclude each
    other. Its :attr:`phrase` names the parameters (``workers``), which the CLI turns into its
    flags (``--workers``)."""

    def __init__(self, template: str, **values: object) -> None:
        self.phrase = Phrase(template, **values)
        super().__init__(str(self.phrase))

    @property
    def parameter(self) -> str:
        """The parameter at fault (the first one the sentence names)."""
        return self.phrase.parameters[0]

    @classmethod
    def _from_phrase(cls, phrase: Phrase) -> OptionError:
        error = cls.__new__(cls)
        error.phrase = phrase
        InputError.__init__(error, str(phrase))
        return error

    def __reduce__(self) -> tuple[object, ...]:  # across processes with its phrase, not only its words
        return (type(self)._from_phrase, (self.phrase,))

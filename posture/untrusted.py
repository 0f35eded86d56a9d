"""Reading and showing data that may be hostile: JSON from a file or a socket, names from storage.

* :func:`load_json` refuses nesting deeper than a bound before the parser recurses (a
  ``[[[[...]]]]`` profile or control message would otherwise raise ``RecursionError``).
* :func:`printable` replaces control characters (and cuts to a length), so a file name holding
  terminal escape sequences is shown as text and never reaches the terminal as a command.
* :func:`as_text` makes a file name that is not valid UTF-8 storable (SQLite, JSON, HTML).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

__all__ = ["MAX_JSON_DEPTH", "UntrustedJSONError", "as_text", "load_json", "printable"]

MAX_JSON_DEPTH = 32  # posture's own documents nest 3 deep


class UntrustedJSONError(ValueError):
    """Not JSON, or JSON nested deeper than allowed."""


def json_depth(text: str) -> int:
    """How deep ``[`` and ``{`` nest in ``text``, outside strings (one linear pass, no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def load_json(data: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` for untrusted input: raises :class:`UntrustedJSONError` for bad UTF-8, bad
    JSON, non-standard constants (NaN, Infinity), nesting deeper than ``max_depth`` or a number
    longer than Python converts (4300 digits). A leading byte-order mark is skipped."""
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8-sig")  # a byte-order mark (Notepad writes one) is fine
        except UnicodeDecodeError:
            raise UntrustedJSONError("not UTF-8 text") from None
    data = data.removeprefix("\ufeff")
    if json_depth(data) > max_depth:
        raise UntrustedJSONError(f"nested deeper than {max_depth} levels")

    def no_constant(name: str) -> Any:
        raise UntrustedJSONError(f"{name} is not a JSON number")

    try:
        return json.loads(data, parse_constant=no_constant)
    except RecursionError:  # cannot happen within max_depth, but never let it escape
        raise UntrustedJSONError("nested too deep") from None
    except json.JSONDecodeError as exc:
        raise UntrustedJSONError(f"not valid JSON ({exc.msg})") from None
    except ValueError as exc:
        if isinstance(exc, UntrustedJSONError):
            raise
        # Python's limit on converting long digit strings to int (CVE-2020-10735)
        raise UntrustedJSONError("not valid JSON (a number of thousands of digits)") from None


# C0 and C1 controls, DEL, and the Unicode bidirectional overrides and isolates (which reorder text).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: object, limit: int | None = None) -> str:
    """``text`` with every control character (escape sequences, newlines, bidi overrides) shown as
    ``?``: safe to print on one line of a terminal. With ``limit``, at most that many characters
    (longer text is cut and ends in ``…``), so a 10 MB name is never echoed whole."""
    s = str(text)
    if limit is not None and len(s) > limit:
        s = s[: max(limit - 1, 0)] + "…"
    return _CONTROL.sub("?", s)


def as_text(name: object) -> str:
    """A file name as text any UTF-8 writer takes (SQLite, JSON, HTML): the bytes of a name that is
    not valid UTF-8, which Python holds as lone surrogates, become U+FFFD instead of failing the write."""
    text = os.fsdecode(name) if isinstance(name, (os.PathLike, bytes)) else str(name)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return os.fsencode(text).decode("utf-8", "replace")
        except UnicodeEncodeError:  # a surrogate that no file name decoding makes
            return text.encode("utf-8", "replace").decode("utf-8")
    return text

"""Import MediaPipe without the parts posture never uses, which run programs at import time.

``import mediapipe`` imports its audio tasks, whose ``sounddevice`` looks for the PortAudio
library with ``ctypes.util.find_library`` (which runs ``ldconfig -p``, ``gcc`` and ``ld``), and its
drawing utilities, which import ``matplotlib.pyplot`` (on a first run its font cache runs
``fc-list``, and it costs most of the 0.9 s import). posture uses neither: no audio, and its own
drawing. While :func:`without_unused_imports` is active, those two modules are replaced by
placeholders, which are removed again afterwards, so code that really needs them (the report's
charts) imports the real ones.
"""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Iterator

__all__ = ["UNUSED_BY_POSTURE", "without_unused_imports"]

# module: None makes `import` fail with ImportError (mediapipe's audio tasks catch it); a module
# object is returned as it is (mediapipe's drawing_utils imports pyplot without a guard).
UNUSED_BY_POSTURE = ("sounddevice", "matplotlib.pyplot")


def _placeholder(name: str) -> types.ModuleType | None:
    if name == "sounddevice":
        return None
    module = types.ModuleType(name, "placeholder: posture does not use this module through MediaPipe")

    def __getattr__(attr: str) -> object:
        raise AttributeError(f"{name} was not imported for MediaPipe (posture draws its own overlay)")

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    return module


@contextlib.contextmanager
def without_unused_imports() -> Iterator[None]:
    """Inside, the modules in :data:`UNUSED_BY_POSTURE` not yet imported are placeholders."""
    placed = {name: _placeholder(name) for name in UNUSED_BY_POSTURE if name not in sys.modules}
    sys.modules.update(placed)  # type: ignore[arg-type]
    try:
        yield
    finally:
        for name, module in placed.items():
            if name in sys.modules and sys.modules[name] is module:
                del sys.modules[name]

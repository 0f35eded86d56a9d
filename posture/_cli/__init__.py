"""The private command line: the parser (``main``) and one module per command group.

All terminal output lives here; the library underneath returns typed results and logs.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

# ``cmd_<command>(args, out)`` returns the exit status; the commands in MODEL_COMMANDS also take
# ``estimators=``, the pose model's factory (:class:`posture.pose.estimator.EstimatorFactory`).
Handler = Callable[..., int]

# The commands that open the pose model. ``main(argv, estimators=...)`` hands them the factory
# (tests pass a scripted model); None is MediaPipe's.
MODEL_COMMANDS = frozenset({"measure", "analyze", "demo", "monitor", "calibrate"})

# command -> module of this package holding ``cmd_<command>``; imported only when it runs, so
# ``posture --help`` never loads OpenCV or MediaPipe.
_MODULES = {
    "measure": "analysis",
    "analyze": "analysis",
    "batch": "analysis",
    "demo": "analysis",
    "monitor": "live",
    "status": "live",
    "pause": "live",
    "resume": "live",
    "calibrate": "live",
    "record": "live",
    "advice": "info",
    "check": "info",
    "history": "info",
    "tray": "desk",
    "service": "desk",
}


def _loader(command: str) -> Callable[[], Handler]:
    def load() -> Handler:
        module = import_module(f"posture._cli.{_MODULES[command]}")
        return getattr(module, f"cmd_{command}")  # type: ignore[no-any-return]

    return load


COMMANDS: dict[str, Callable[[], Handler]] = {name: _loader(name) for name in _MODULES}

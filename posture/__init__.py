"""posture: a webcam posture monitor.

source → estimator → metrics → detector → sinks. The pure stages (geometry, metrics, detector,
policy, advice) import neither OpenCV nor MediaPipe.
"""

__version__ = "0.1.0"

# The name on PyPI (``posture`` there is an unrelated project). The command and the import package
# stay ``posture``; only installing and pipx's environment use this name.
DISTRIBUTION = "posture-monitor"


def extra_hint(extra: str, packages: str) -> str:
    """How to add the optional extra ``extra`` (which installs ``packages``), with pip or pipx.

    ``pip install "posture-monitor[ray]"`` also works in an environment where posture came from a
    clone: pip sees the installed distribution and adds only the extra's packages."""
    return f'pip install "{DISTRIBUTION}[{extra}]" (pipx: pipx inject {DISTRIBUTION} {packages})'

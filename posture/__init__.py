"""posture: a webcam posture monitor.

source → estimator → metrics → detector → sinks. The pure stages (geometry, metrics, detector,
policy, advice) import neither OpenCV nor MediaPipe.
"""

__version__ = "0.1.0"

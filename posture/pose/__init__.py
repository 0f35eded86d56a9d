"""Pose estimation: the MediaPipe model, person selection, the parallel runner."""

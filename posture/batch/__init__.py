"""``posture batch``: analyse a whole archive of recordings, resumably, locally or on Ray.

See :mod:`posture.batch.runner` for the results folder's layout. Nothing here imports Ray
except :mod:`posture.batch.ray_engine`, and that only when ``--engine ray`` is chosen.
"""

from posture.batch.runner import BatchLockedError, BatchOptions, BatchProgress, BatchResult, run_batch

__all__ = ["BatchLockedError", "BatchOptions", "BatchProgress", "BatchResult", "run_batch"]

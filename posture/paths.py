"""Every per-user folder and file posture uses, in one place.

Each folder is the platform's own (through ``platformdirs``) unless an environment variable names
another, which tests and portable set-ups use:

============================  ====================  ==========================================
what                          variable              default (Linux)
============================  ====================  ==========================================
config file, saved profile    ``POSTURE_CONFIG_DIR``  ``~/.config/posture``
session history database      ``POSTURE_DATA_DIR``    ``~/.local/share/posture``
a user's own ``.task`` models ``POSTURE_MODELS_DIR``  ``~/.local/share/posture/models``
demo output                   ``POSTURE_CACHE_DIR``   ``~/.cache/posture``
control socket                ``POSTURE_RUNTIME_DIR`` ``$XDG_RUNTIME_DIR/posture``
============================  ====================  ==========================================
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

__all__ = [
    "CACHE_DIR_ENV",
    "CONFIG_DIR_ENV",
    "DATA_DIR_ENV",
    "MODELS_DIR_ENV",
    "RUNTIME_DIR_ENV",
    "cache_dir",
    "config_dir",
    "config_path",
    "data_dir",
    "demo_out_dir",
    "history_db_path",
    "models_dir",
    "profile_path",
    "runtime_dir",
    "socket_path",
]

APP = "posture"
CONFIG_DIR_ENV = "POSTURE_CONFIG_DIR"
DATA_DIR_ENV = "POSTURE_DATA_DIR"
MODELS_DIR_ENV = "POSTURE_MODELS_DIR"
CACHE_DIR_ENV = "POSTURE_CACHE_DIR"
RUNTIME_DIR_ENV = "POSTURE_RUNTIME_DIR"

CONFIG_NAME = "posture.toml"
PROFILE_NAME = "profile.json"
DB_NAME = "history.sqlite3"
SOCKET_NAME = "control.sock"


def _override(env: str) -> Path | None:
    value = os.environ.get(env)
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    """``$POSTURE_CONFIG_DIR``, else the platform's user config folder for posture."""
    import platformdirs

    return _override(CONFIG_DIR_ENV) or platformdirs.user_config_path(APP)


def data_dir() -> Path:
    """``$POSTURE_DATA_DIR``, else the platform's user data folder for posture."""
    import platformdirs

    return _override(DATA_DIR_ENV) or platformdirs.user_data_path(APP, appauthor=False)


def models_dir() -> Path:
    """Where a user's own ``.task`` models go: ``$POSTURE_MODELS_DIR``, else ``models`` in the
    platform's user data folder (not ``$POSTURE_DATA_DIR``: models are not history)."""
    import platformdirs

    return _override(MODELS_DIR_ENV) or platformdirs.user_data_path(APP, appauthor=False) / "models"


def cache_dir() -> Path:
    """``$POSTURE_CACHE_DIR``, else the platform's user cache folder for posture."""
    import platformdirs

    return _override(CACHE_DIR_ENV) or platformdirs.user_cache_path(APP, appauthor=False)


def runtime_dir() -> Path:
    """``$POSTURE_RUNTIME_DIR``, else the platform's user runtime folder for posture."""
    override = _override(RUNTIME_DIR_ENV)
    if override is not None:
        return override
    import platformdirs

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset and falls back to /tmp/runtime-<uid>,
        # whose ownership the control channel checks before it uses the folder.
        warnings.simplefilter("ignore")
        return platformdirs.user_runtime_path(APP, appauthor=False)


def config_path() -> Path:
    """The user's config file, read when ``--config`` is not given."""
    return config_dir() / CONFIG_NAME


def profile_path() -> Path:
    """The calibrated profile ``posture calibrate`` saves and ``monitor`` loads."""
    return config_dir() / PROFILE_NAME


def history_db_path() -> Path:
    """The session history database."""
    return data_dir() / DB_NAME


def demo_out_dir() -> Path:
    """Where ``posture demo`` writes without ``--out``: one folder, reused, so nothing piles up."""
    return cache_dir() / "demo"


def socket_path() -> Path:
    """The monitor's control socket (the TCP fallback's ``control.json`` sits beside it)."""
    return runtime_dir() / SOCKET_NAME

"""The distribution's name: ``posture`` on PyPI is another project, so no install hint may name it.

The command and the import package are ``posture``; what pip and pipx install is
``posture.DISTRIBUTION``. A hint such as ``pip install "posture[ray]"`` would install the other
project, so every ``NAME[extra]`` requirement in the package, the README, the samples and CI must
use our name (the tests' skip messages too), and the wheel's file name must be the one CI and the install bench look for.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

from posture import DISTRIBUTION, extra_hint

ROOT = Path(__file__).resolve().parent.parent

# A requirement with extras, `NAME[extra]`, or a `pipx inject NAME` / `pipx install NAME`.
_REQUIREMENT = re.compile(r"(?<![\w./-])([A-Za-z][\w.-]*)\[[a-z0-9,]+\]")
_PIPX = re.compile(r"pipx (?:inject|install|upgrade|uninstall) ([A-Za-z][\w.-]*)")


def _texts() -> list[Path]:
    files = [
        ROOT / "README.md",
        ROOT / "samples" / "README.md",
        ROOT / "models" / "README.md",
        ROOT / ".ci" / "run",
    ]
    for folder in ("posture", "bench", "tests"):
        files += sorted((ROOT / folder).rglob("*.py"))
    return [f for f in files if f != Path(__file__).resolve()]  # this file names the wrong one on purpose


def test_the_distribution_name_is_ours_and_not_the_import_package() -> None:
    with (ROOT / "pyproject.toml").open("rb") as f:
        project = tomllib.load(f)["project"]
    assert project["name"] == DISTRIBUTION != "posture"
    assert project["scripts"] == {"posture": "posture._cli.main:main"}


def test_every_install_hint_names_our_distribution() -> None:
    wrong = []
    for path in _texts():
        text = path.read_text(encoding="utf-8")
        for pattern in (_REQUIREMENT, _PIPX):
            for m in pattern.finditer(text):
                name = m.group(1)
                if name.lower().replace("_", "-") == "posture":
                    line = text.count("\n", 0, m.start()) + 1
                    wrong.append(f"{path.relative_to(ROOT)}:{line}: {m.group(0)}")
    assert not wrong, wrong


def test_the_wheel_glob_follows_the_name() -> None:
    # A wheel's file name carries the distribution name normalised with underscores.
    wheel_prefix = DISTRIBUTION.replace("-", "_") + "-"
    assert f"{wheel_prefix}*.whl" in (ROOT / ".ci" / "run").read_text()
    assert f"{wheel_prefix}*.whl" in (ROOT / "bench" / "install.py").read_text()


def test_the_hint_covers_pip_and_pipx() -> None:
    assert extra_hint("ray", "ray") == (
        f'pip install "{DISTRIBUTION}[ray]" (pipx: pipx inject {DISTRIBUTION} ray)'
    )

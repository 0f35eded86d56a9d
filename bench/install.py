"""Install cost of posture as a user meets it: time, environment size and pip backtracking.

For each interpreter: a fresh virtual environment, then ``pip install --no-cache-dir -v`` of a
wheel built from this checkout (with an empty pip cache, as on a new machine), timed; the size of
the whole environment; and every distribution pip fetched, by version. A package fetched in more
than one version means pip backtracked. Targets (issue 12): install <= 60 s, environment
<= 600 MB, no backtracking, on the oldest and newest supported Python.

Run: python bench/install.py [--python PY ...] [--extra h264] [--json]
Default interpreters: python3.10 and python3.13 (from the PATH or pyenv). Needs the network.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from posture import DISTRIBUTION  # noqa: E402  (the name pip installs; posture/__init__ imports nothing)

# "Downloading name-1.2.3-....whl", "Processing /path/name-1.2.3-....whl", "... name-1.2.3.tar.gz"
_FETCHED = re.compile(
    r"^\s*(?:Downloading|Processing|Using cached)\s+(?:\S*/)?([A-Za-z0-9_.]+?)-(\d[^-\s]*?)(?:-|\.tar)"
)


def find_python(series: str) -> str | None:
    found = shutil.which(f"python{series}")
    # A pyenv shim is on the PATH for every installed version but runs only the selected ones.
    if found and subprocess.run([found, "-c", "pass"], capture_output=True).returncode == 0:
        return found
    if shutil.which("pyenv") is None:
        return None
    versions = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True, text=True).stdout.split()
    matching = sorted(
        (v for v in versions if re.fullmatch(rf"{re.escape(series)}\.\d+", v)),
        key=lambda v: int(v.split(".")[-1]),
    )
    if not matching:
        return None
    env = {**os.environ, "PYENV_VERSION": matching[-1]}
    out = subprocess.run(["pyenv", "which", f"python{series}"], capture_output=True, text=True, env=env)
    return out.stdout.strip() or None


def fetched_versions(pip_log: str) -> dict[str, set[str]]:
    """Distribution name (normalised) -> the versions pip fetched, from ``pip install -v`` output."""
    versions: dict[str, set[str]] = defaultdict(set)
    for line in pip_log.splitlines():
        m = _FETCHED.match(line)
        if m:
            versions[re.sub(r"[-_.]+", "-", m.group(1)).lower()].add(m.group(2))
    return dict(versions)


def _size_mb(folder: Path) -> float:
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    return total / 1e6


def measure(python: str, wheel: Path, extra: str | None, tmp: Path) -> dict[str, object]:
    env_dir = tmp / f"venv-{Path(python).name}"
    subprocess.run([python, "-m", "venv", str(env_dir)], check=True)
    pip = env_dir / "bin" / "pip"
    target = f"{DISTRIBUTION}[{extra}] @ {wheel.as_uri()}" if extra else str(wheel)
    t0 = time.monotonic()
    proc = subprocess.run(
        [str(pip), "install", "--no-cache-dir", "--disable-pip-version-check", "-v", target],
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"pip install failed on {python}: {proc.stderr.strip()[-800:]}")
    fetched = fetched_versions(proc.stdout)
    version = subprocess.run(
        [str(env_dir / "bin" / "python"), "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        "python": version,
        "install_s": round(seconds, 1),
        "env_mb": round(_size_mb(env_dir)),
        "packages": len(fetched),
        "backtracked": {name: sorted(v) for name, v in fetched.items() if len(v) > 1},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--python", action="append", help="an interpreter to measure (repeatable)")
    ap.add_argument("--extra", help="an optional extra to install too, e.g. h264")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    pythons = args.python or [p for p in (find_python("3.10"), find_python("3.13")) if p]
    if not pythons:
        print("no python3.10 or python3.13 found; pass --python", file=sys.stderr)
        return 2
    results = []
    with tempfile.TemporaryDirectory(prefix="posture-install-") as tmp_name:
        tmp = Path(tmp_name)
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp / "dist"), str(ROOT)],
            check=True,
        )
        wheel = next((tmp / "dist").glob("posture_monitor-*.whl"))  # the wheel of DISTRIBUTION
        for python in pythons:
            results.append(measure(python, wheel, args.extra, tmp))
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"# install cost ({time.strftime('%Y-%m-%d')}, python bench/install.py, empty pip cache)\n")
    print("| python | install | environment | packages | backtracking |")
    print("|---|---|---|---|---|")
    for r in results:
        back = ", ".join(f"{k} {'/'.join(v)}" for k, v in r["backtracked"].items()) or "none"  # type: ignore[union-attr]
        print(f"| {r['python']} | {r['install_s']} s | {r['env_mb']} MB | {r['packages']} | {back} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

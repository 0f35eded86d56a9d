"""The README's picture of the report: ``posture demo``'s report.html, rendered by headless Chromium.

Run: python bench/screenshot.py [--out docs/report.png] [--height 1500]
It runs the demo into a temporary folder (the demo clip's photos are CC BY 4.0, credited in the
report's footer and in samples/README.md), renders the report's top part at 1100 px wide, and
writes the PNG. Needs a ``chromium`` (or ``chromium-browser``/``google-chrome``) on the PATH.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "report.png")
    ap.add_argument("--height", type=int, default=1500)
    args = ap.parse_args(argv)
    browser = next((b for b in BROWSERS if shutil.which(b)), None)
    if browser is None:
        print("no chromium on the PATH", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        demo = Path(tmp) / "demo"
        subprocess.run([sys.executable, "-m", "posture", "demo", "--out", str(demo), "--quiet"], check=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={Path(tmp) / 'profile'}",
                "--hide-scrollbars",
                f"--window-size=1100,{args.height}",
                f"--screenshot={args.out}",
                (demo / "report.html").as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

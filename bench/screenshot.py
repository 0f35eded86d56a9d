"""The README's pictures, rendered by headless Chromium: ``posture demo``'s report.html, or the
week page (``posture history --html``) of seven synthetic days.

Run: python bench/screenshot.py [--out docs/report.png] [--height 1500]
     python bench/screenshot.py --week [--out docs/week.png] [--height 1900]
For the report it runs the demo into a temporary folder (the demo clip's photos are CC BY 4.0,
credited in the report's footer and in samples/README.md); for the week page it writes a history
of seven made-up days (a better week than the one before: poor posture from 35 % down to 8 %, one
day without a session) into a temporary data folder and runs ``posture history --html`` on it.
Renders the page's top part at 1100 px wide and writes the PNG. Needs a ``chromium`` (or
``chromium-browser``/``google-chrome``) on the PATH.
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


# (poor share, seconds over threshold per finding, alerts, breaks) per day, oldest first; None: no session
WEEK = (
    (0.35, {"forward_head": 2700.0, "hunched_back": 900.0}, 5, 2),
    (0.30, {"forward_head": 2400.0, "neck_flexion": 600.0}, 4, 3),
    None,
    (0.15, {"forward_head": 1200.0, "side_lean": 300.0}, 2, 4),
    (0.10, {"forward_head": 900.0}, 1, 5),
    (0.12, {"hunched_back": 600.0, "forward_head": 400.0}, 1, 5),
    (0.08, {"forward_head": 300.0}, 0, 6),
)


def _demo_report(tmp: Path) -> Path:
    demo = tmp / "demo"
    subprocess.run([sys.executable, "-m", "posture", "demo", "--out", str(demo), "--quiet"], check=True)
    return demo / "report.html"


def _week_page(tmp: Path) -> Path:
    import os
    from datetime import datetime, timedelta

    data = tmp / "data"
    os.environ["POSTURE_DATA_DIR"] = str(data)  # this process and the command below
    from posture.outputs.history import HistoryStore, SessionTotals

    noon = datetime.now().astimezone().replace(hour=9, minute=0, second=0, microsecond=0)
    with HistoryStore(data / "history.sqlite3") as store:
        for i, day in enumerate(WEEK):
            if day is None:
                continue
            share, findings, alerts, breaks = day
            present = 3 * 3600.0 + 900.0 * i
            totals = SessionTotals(
                duration_s=present + 600.0,
                present_s=present,
                poor_s=present * share,
                good_s=present * (1 - share),
                away_s=600.0,
                alerts=alerts,
                breaks=breaks,
                finding_poor_s=findings,
                top_finding=max(findings, key=findings.__getitem__),
            )
            started = noon - timedelta(days=len(WEEK) - 1 - i)
            store.insert("live", "camera 0", totals, started=started, ended=None, live=False)
    page = tmp / "week.html"
    subprocess.run([sys.executable, "-m", "posture", "history", "--html", str(page)], check=True)
    return page


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--week", action="store_true", help="the week page instead of the report")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--height", type=int)
    args = ap.parse_args(argv)
    args.out = args.out or ROOT / "docs" / ("week.png" if args.week else "report.png")
    args.height = args.height or (1900 if args.week else 1500)
    browser = next((b for b in BROWSERS if shutil.which(b)), None)
    if browser is None:
        print("no chromium on the PATH", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        page = _week_page(Path(tmp)) if args.week else _demo_report(Path(tmp))
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
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

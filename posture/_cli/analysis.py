"""Recorded media: ``measure``, ``analyze``, ``batch`` and ``demo``, with their progress bars and summaries."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from posture._cli.common import config_from_args, fmt, open_in_browser
from posture.analysis import AnalysisOutput, run_analysis
from posture.config import load_config
from posture.durations import format_duration
from posture.errors import ExitCode, InputError
from posture.options import AnalysisOptions
from posture.reading import Reading, Verdict
from posture.results import Stage
from posture.summary import whole_percentages
from posture.untrusted import printable

if TYPE_CHECKING:
    from posture.pose.estimator import EstimatorFactory

log = logging.getLogger("posture")


_NO_BASELINE_FRONT = (
    "  from the front, posture is judged against your own good posture: add --baseline with a photo "
    "of you sitting well in front of the same camera, or with the profile posture calibrate saves ({profile})"
)


def _reading_lines(name: str, reading: Reading, *, baseline: bool = False) -> list[str]:
    from posture.metric_registry import Shown, estimate_reasons, shown
    from posture.reading import View

    m = reading.metrics
    lines = [f"{name}: {reading.posture.value} (view: {reading.view.value})"]
    if not reading.person:
        lines.append("  no person found")
        return lines
    measured = [info for info in shown(Shown.TERMINAL) if m.get(info.name) is not None]
    parts = [
        f"{info.short} {fmt(m.get(info.name), info.unit)}{'~' if info.name in reading.estimated else ''}"
        for info in measured
    ]
    if parts:
        lines.append("  " + ", ".join(parts))
    active = [(c, s) for c, s in reading.findings.items() if s > 0]
    if active:
        flagged = ", ".join(
            f"{c} {s:.2f}{' (poor)' if s >= 1 else ''}" for c, s in sorted(active, key=lambda x: -x[1])
        )
        lines.append(f"  findings: {flagged}")
        lines += [f"    {r.finding}: {r.describe()}" for r in reading.reasons]
    # Each "~" above, with why it is an estimate in this view.
    words = {info.name: info.short for info in measured if info.name in reading.estimated}
    by_reason: dict[str, list[str]] = {}
    for metric, reason in estimate_reasons((key, reading.view) for key in words).items():
        by_reason.setdefault(reason, []).append(words[metric])
    for reason, names in by_reason.items():
        lines.append(f"  ~ {', '.join(names)}: {'estimates' if len(names) > 1 else 'an estimate'}, {reason}")
    if reading.posture is Verdict.UNCERTAIN and reading.view is View.FRONT and not baseline:
        from posture.paths import profile_path

        lines.append(_NO_BASELINE_FRONT.format(profile=profile_path()))
    return lines


def cmd_measure(args: argparse.Namespace, out: IO[str], *, estimators: EstimatorFactory | None = None) -> int:
    from posture.pipeline import Pipeline
    from posture.sources.media import check_media_path, is_image_file

    for path in args.images:
        check_media_path(path)
        if not is_image_file(path):
            raise InputError(f"{path} is not an image (use 'posture analyze' for videos)")
    config = config_from_args(args)
    pipeline = Pipeline(config, estimators=estimators)
    baseline = pipeline.load_baseline(args.baseline) if args.baseline else None
    results = []
    for res in pipeline.measure_images(args.images, baseline):
        if args.json:
            d = res.reading.to_dict()
            results.append(
                {
                    "source": str(res.source),
                    "person": d["person"],
                    "view": d["view"],
                    "metrics": d["metrics"],
                    "estimated": d["estimated"],
                    "findings": d["findings"],
                    "reasons": d["reasons"],
                    "posture": d["posture"],
                }
            )
        else:
            lines = _reading_lines(printable(str(res.source)), res.reading, baseline=baseline is not None)
            print("\n".join(lines), file=out)
    if args.json:
        json.dump(results, out, indent=2)
        out.write("\n")
    return ExitCode.OK


class _Progress:
    """One tqdm bar on a terminal over a whole run, named by the stage it is in; silent otherwise.

    It follows :class:`posture.results.Progress`: the stages (analysis, annotated video, report)
    weighted by their expected share of the time. It stops at 99 % until :meth:`complete` says
    the run returned, so it never shows 100 % while anything remains to be done.
    """

    _STEPS = 1000  # the bar's resolution
    _MAX_RUNNING = 990  # 99 %: never rounded up to 100 % before the end

    def __init__(self, enabled: bool) -> None:
        self._enabled = enabled and sys.stderr.isatty()
        self._bar: Any = None
        self._stages: list[Stage] = []
        self._done: dict[str, float] = {}  # units of each stage reached so far
        self._finished: set[str] = set()
        self._shown = ""  # the stage the bar names
        self._lock = threading.Lock()  # the report finishes on a thread of its own

    def plan(self, stages: Sequence[Stage]) -> None:
        self._stages = list(stages)
        if self._enabled and self._bar is None and self._stages:
            from tqdm import tqdm

            self._bar = tqdm(
                total=self._STEPS,
                desc=self._stages[0].name,
                dynamic_ncols=True,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]",
            )

    def advance(self, stage: str, done: float) -> None:
        with self._lock:
            self._done[stage] = max(done, self._done.get(stage, 0.0))
            self._refresh()

    def finish(self, stage: str) -> None:
        with self._lock:
            self._finished.add(stage)
            self._refresh()

    def _fraction(self, stage: Stage) -> float:
        if stage.name in self._finished:
            return 1.0
        return min(self._done.get(stage.name, 0.0) / stage.size, 1.0) if stage.size > 0 else 0.0

    def _refresh(self) -> None:
        if self._bar is None:
            return
        weight = sum(s.weight for s in self._stages) or 1.0
        share = sum(s.weight * self._fraction(s) for s in self._stages) / weight
        current = next((s for s in self._stages if s.name not in self._finished), None)
        name = current.name if current is not None else "finishing"  # files moved into place
        desc = name
        if current is not None and current.unit == "s":
            reached = min(self._done.get(name, 0.0), current.size)
            desc += f" ({reached:.0f}/{current.size:.0f} s of video)"
        shown = name != self._shown
        self._shown = name
        self._bar.set_description_str(desc, refresh=False)
        self._bar.update(max(0, min(round(share * self._STEPS), self._MAX_RUNNING) - self._bar.n))
        if shown:  # a new stage is named at once, however short it is
            self._bar.refresh()

    def complete(self) -> None:
        """The run returned: every stage's work is done."""
        if self._bar is not None:
            self._bar.set_description_str("done", refresh=False)
            self._bar.update(self._STEPS - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _print_summary(output: AnalysisOutput, out: IO[str]) -> None:
    s = output.summary
    share = whole_percentages({v: s.time_s.get(v, 0.0) for v in ("good", "poor", "away", "uncertain")})
    print(
        f"analysed {s.duration_s:.1f} s ({s.frames_analysed} frames, view: {s.view.value}): "
        f"good {share['good']}%, poor {share['poor']}%, away {share['away']}%, uncertain {share['uncertain']}%; "
        f"{s.episodes} sustained episode(s)",
        file=out,
    )
    if s.top_finding:
        print(f"most frequent problem: {s.top_finding} (see: posture advice {s.top_finding})", file=out)
    for name, path in output.files.items():
        print(f"  {name:9s} {printable(str(path))}", file=out)


def cmd_analyze(args: argparse.Namespace, out: IO[str], *, estimators: EstimatorFactory | None = None) -> int:
    config = config_from_args(args)
    options = AnalysisOptions(
        baseline=args.baseline,
        calibrate_first_s=args.calibrate_first,
        workers=args.workers,
        annotate=args.annotate,
        report=not args.no_report,
        key_frames=not args.no_key_frames,
        history=not args.no_history,
    )
    out_dir = args.out or Path("posture-out") / args.video.stem
    bar = _Progress(not args.quiet)
    with contextlib.closing(bar):
        output = run_analysis(args.video, out_dir, config, options, progress=bar, estimators=estimators)
        bar.complete()
    _print_summary(output, out)
    if output.history_error:  # the results are written: a warning after them, and success
        print(
            f"posture: warning: the results are written, but not added to your history: "
            f"{printable(output.history_error)}",
            file=sys.stderr,
        )
    return ExitCode.OK


class _BatchBar:
    """One tqdm bar for the archive on a terminal (recordings, video time, throughput); silent otherwise."""

    def __init__(self, enabled: bool) -> None:
        self._enabled = enabled and sys.stderr.isatty()
        self._bar: Any = None

    def __call__(self, p: Any) -> None:
        if not self._enabled or p.total == 0:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=p.total, unit="rec", desc="recordings", dynamic_ncols=True)
        self._bar.update(p.done + p.failed - self._bar.n)
        speed = p.video_s / p.wall_s if p.wall_s > 0 else 0.0
        self._bar.set_postfix_str(
            f"{p.failed} failed, video {format_duration(p.video_s)}, {speed:.1f} video-s/s", refresh=True
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def cmd_batch(args: argparse.Namespace, out: IO[str]) -> int:
    from posture.batch import BatchOptions, run_batch

    analysis = AnalysisOptions(
        baseline=args.baseline,
        calibrate_first_s=args.calibrate_first,
        annotate=args.annotate,
        report=not args.no_report,
        key_frames=not args.no_key_frames,
    )
    options = BatchOptions(
        inputs=tuple(args.inputs),
        out=args.out,
        config=config_from_args(args),
        analysis=analysis,
        engine=args.engine,
        workers=args.workers,
        ray_address=args.ray_address,
        cpus_per_task=args.cpus_per_task,
        people_csv=args.people,
        max_attempts=args.max_attempts,
        retry_failed=args.retry_failed,
    )
    bar = _BatchBar(not args.quiet)
    try:
        result = run_batch(options, progress=bar)
    finally:
        bar.close()
    how = ""
    if result.workers:
        how = f" ({result.engine}, {result.workers} worker(s)"
        if result.analysed:
            how += f", {result.video_s / result.wall_s:.1f} video-s per wall-s"
        how += ")"
    print(
        f"{result.recordings} recording(s): {result.analysed} analysed now{how}, "
        f"{result.skipped + result.recovered} done before, {len(result.failed)} failed",
        file=out,
    )
    print(f"  cohort    {printable(str(result.cohort_csv))}", file=out)
    print(f"  report    {printable(str(result.cohort_html))}", file=out)
    # One line on stderr per recording that failed (names from the archive: never raw escapes).
    for rel, error in result.failed:
        print(f"posture: failed: {printable(rel)}: {printable(error)}", file=sys.stderr)
    return ExitCode.FAILURE if result.failed else ExitCode.OK


def cmd_demo(args: argparse.Namespace, out: IO[str], *, estimators: EstimatorFactory | None = None) -> int:
    from posture.paths import demo_out_dir
    from posture.sources import demo

    out_dir = args.out or demo_out_dir()
    config = load_config(None).replace("detector", hold_s=demo.HOLD_S)
    print(
        f"posture demo: analysing {demo.CLIP_NAME}, a time-lapse of real photos of one person at a desk, "
        f"calibrating on its first {demo.CALIBRATE_S:g} s, alerting after {demo.HOLD_S:g} s of poor posture",
        file=out,
    )
    print(demo.ATTRIBUTION, file=out)
    print(f"writing into {printable(out_dir)}", file=out)
    options = AnalysisOptions(
        calibrate_first_s=demo.CALIBRATE_S,
        annotate=True,
        annotate_fps=demo.VIDEO_FPS,
        history=False,  # the history is the user's own: a demo never goes into it
        footage_credit=demo.ATTRIBUTION,
        credit_band_px=demo.CREDIT_BAND_PX,
        own_folder=args.out is None,  # the cache folder is posture's own
    )
    bar = _Progress(not args.quiet)
    with demo.clip_path() as clip, contextlib.closing(bar):
        output = run_analysis(clip, out_dir, config, options, progress=bar, estimators=estimators)
        bar.complete()
    _print_summary(output, out)
    report = output.files.get("report")
    print(f"open the report: {printable(report.resolve().as_uri() if report else out_dir)}", file=out)
    if args.open and report:
        open_in_browser(report, out)
    return ExitCode.OK

"""One recorded video analysed into a folder of outputs: what ``analyze``, ``demo`` and ``batch`` run.

:func:`run_analysis` drives both sides: the pipeline (:meth:`posture.pipeline.Pipeline.analyze_video`)
produces an :class:`~posture.results.AnalysisResult`, and the sinks in :mod:`posture.outputs` write
it into a staging folder that appears whole or not at all. The options come checked, as one
:class:`~posture.options.AnalysisOptions`.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from posture.config import Config
from posture.errors import InputError, Phrase
from posture.options import AnalysisOptions
from posture.results import ANALYSING, REPORT, VIDEO, Progress, Stage

if TYPE_CHECKING:
    from posture.outputs.session_files import AnalysisSummary
    from posture.pose.estimator import EstimatorFactory
    from posture.results import AnalysisResult

__all__ = ["AnalysisOutput", "run_analysis"]

log = logging.getLogger(__name__)

# Expected wall time on two cores, to pace a progress bar; measured on the demo (64 s of 640x688
# video): the analysis 6 s, the annotated video at 5 fps 8 s (VP8, about 25 ms a frame), the report 1 s.
_ANALYSIS_S_PER_VIDEO_S = 0.1
_VIDEO_S_PER_MEGAPIXEL_FRAME = 0.057
_REPORT_S = 1.0


@dataclass(frozen=True)
class AnalysisOutput:
    """What ``run_analysis`` leaves: the summary (``summary.json``) and the files, by name.

    ``history_error``: why the session could not be added to the history (a full disk, a corrupt
    or newer database), or None. The results were written all the same.
    """

    summary: AnalysisSummary
    files: dict[str, Path]
    history_error: str | None = None


def run_analysis(
    video: Path,
    out_dir: Path,
    config: Config,
    options: AnalysisOptions | None = None,
    *,
    progress: Progress | None = None,
    estimators: EstimatorFactory | None = None,
) -> AnalysisOutput:
    """Analyse a video and write its outputs into ``out_dir`` (shared by analyze, demo and batch).

    ``options`` (by default :class:`AnalysisOptions`' own) say what to write and how: the
    baseline, the annotated video (at ``annotate_fps`` frames a second when given), the report,
    the history. ``progress`` hears of every stage: the analysis, the annotated video and the
    report. The report is written while the video is encoded: they need different cores (the
    encoder is one thread of C, the report mostly Python), and the report knows the video's file
    name before it exists.

    Only files an earlier run wrote into ``out_dir`` are replaced (:mod:`posture.outputs.staging`);
    ``options.own_folder`` says ``out_dir`` is posture's own (the demo's cache folder), where every
    earlier output is replaced. A history that cannot be written does not fail the run: the
    reason comes back in :attr:`AnalysisOutput.history_error`. ``estimators`` opens the pose
    model (MediaPipe's when None; tests pass a scripted one).
    """
    from posture.outputs.session_files import analysis_summary, write_outputs
    from posture.outputs.staging import staged_output
    from posture.pipeline import Pipeline
    from posture.pose.parallel import auto_workers, available_cores
    from posture.sources.media import VideoFileSource, check_media_path, is_image_file

    options = options if options is not None else AnalysisOptions()
    check_media_path(video)
    if is_image_file(video):
        raise InputError(f"{video} is a still image; use posture measure for photos")
    with VideoFileSource(video) as probe:
        info = probe.info
    pipeline = Pipeline(config, estimators=estimators)
    baseline = pipeline.load_baseline(options.baseline) if options.baseline else None
    n_workers = options.workers if options.workers is not None else auto_workers(info)
    cores = available_cores()
    if n_workers > cores:
        log.warning(
            Phrase(
                "{workers} {asked}: this machine has {cores} core(s); using {cores}",
                asked=n_workers,
                cores=cores,
            )
        )
        n_workers = cores
    duration_s = info.duration_s
    stages = [Stage(ANALYSING, duration_s, "s", _ANALYSIS_S_PER_VIDEO_S * duration_s)]
    if options.annotate:
        source_fps = info.fps or 30.0  # the annotated video's own fallback
        frames = duration_s * min(options.annotate_fps or source_fps, source_fps)
        megapixels = info.width * info.height / 1e6
        stages.append(Stage(VIDEO, duration_s, "s", _VIDEO_S_PER_MEGAPIXEL_FRAME * frames * megapixels))
    if options.report:
        stages.append(Stage(REPORT, 1.0, "", _REPORT_S))
    if progress is not None:
        progress.plan(stages)
    writes = ["timeline.csv", "summary.json", "events.json"]
    if options.report:
        writes.append("report.html")
    if options.annotate:
        from posture.outputs.annotate import annotated_path
        from posture.outputs.video import default_encoder

        writes.append(annotated_path(Path("annotated"), default_encoder()).name)
    # All files appear at the end, or none; never over a file of the user's, nor over the input.
    with staged_output(out_dir, writes=writes, keep=[video], own_folder=options.own_folder) as staging:
        started = time.monotonic()
        result = pipeline.analyze_video(
            video,
            baseline=baseline,
            calibrate_first_s=options.calibrate_first_s,
            progress=(lambda t_s: progress.advance(ANALYSING, t_s)) if progress is not None else None,
            workers=n_workers,
            info=info,
        )
        if not result.readings:
            raise InputError(f"{video} has no frames to analyse")
        if result.truncated:
            log.warning(
                "%s ends at %.1f s of a stated %.1f s: analysed what could be read",
                video,
                result.readings[-1].t_s,
                info.duration_s,
            )
        log.info("analysis: %.1f s", time.monotonic() - started)
        started = time.monotonic()
        summary = analysis_summary(result)
        files = write_outputs(result, summary, staging)
        log.info("timeline, summary and events written in %.2f s", time.monotonic() - started)
        if progress is not None:
            progress.finish(ANALYSING)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="posture-report") as pool:
            encoder = None
            if options.annotate:
                from posture.outputs.annotate import annotated_path
                from posture.outputs.video import default_encoder

                encoder = default_encoder()
                files.files["video"] = annotated_path(staging / "annotated", encoder)
            written: Future[Path | None] | None = None
            if options.report:
                written = pool.submit(
                    _write_report, result, summary, staging, dict(files.files), config, options, progress
                )
            if options.annotate:
                from posture.outputs.annotate import write_annotated_video

                started = time.monotonic()
                write_annotated_video(
                    result,
                    staging / "annotated",
                    encoder=encoder,
                    fps=options.annotate_fps,
                    credit_band_px=options.credit_band_px,
                    progress=(lambda t_s: progress.advance(VIDEO, t_s)) if progress is not None else None,
                )
                log.info("annotated video written in %.1f s", time.monotonic() - started)
                if progress is not None:
                    progress.finish(VIDEO)
            if written is not None:
                files.files["report"] = written.result()  # type: ignore[assignment]
    files.files = {k: out_dir / Path(v).name for k, v in files.files.items()}
    history_error = None
    if options.history:
        from posture.outputs.history import HistoryError, record_analysis

        try:
            # The history keeps the file's name only, not where it lives.
            record_analysis(result, summary, source=video.name)
        except HistoryError as exc:  # the results are written: the run succeeded all the same
            history_error = str(exc)
    return AnalysisOutput(summary, files.files, history_error)


def _write_report(
    result: AnalysisResult,
    summary: AnalysisSummary,
    staging: Path,
    files: dict[str, Path],
    config: Config,
    options: AnalysisOptions,
    progress: Progress | None,
) -> Path | None:
    from posture.outputs.report import write_report

    started = time.monotonic()
    path = write_report(
        result,
        summary,
        staging / "report.html",
        files,
        key_frames=options.key_frames,
        config=config,
        footage_credit=options.footage_credit,
    )
    log.info("report written in %.1f s", time.monotonic() - started)
    if progress is not None:
        progress.finish(REPORT)
    return path

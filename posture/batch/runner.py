"""``posture batch``: every recording of an archive through the ``analyze`` pipeline, resumably.

The driver (this module) discovers the recordings, decides from the manifest what is left to do,
hands recordings to an engine (local processes or Ray), publishes each finished result folder with
a rename and records it in the manifest, and writes the cohort summary at the end. Only the
driver writes the manifest and the results folder's layout:

    RESULTS/manifest.sqlite3          what each recording is and how far it got
    RESULTS/recordings/<name>/        one folder per recording: what ``posture analyze`` writes,
                                      plus batch.json (the content hash and options it was made with)
    RESULTS/cohort.csv, cohort.html   one row per recording; per-person and group charts
    RESULTS/.partial/                 results being written (cleared at the start of every run)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from posture import __version__
from posture.batch.discover import Recording, discover, read_people_csv
from posture.batch.engines import Engine, LocalEngine, local_workers
from posture.batch.manifest import MANIFEST_NAME, Manifest, RecordState, Status
from posture.batch.task import RecordingTask, TaskOutcome, publish, read_stamp
from posture.config import Config
from posture.errors import InputError
from posture.outputs.staging import folder_error_words

__all__ = [
    "ENGINES",
    "BatchOptions",
    "BatchProgress",
    "BatchResult",
    "BatchLockedError",
    "file_sha256",
    "run_batch",
]

log = logging.getLogger(__name__)

ENGINES = ("local", "ray")
RECORDINGS_DIR = "recordings"
PARTIAL_DIR = ".partial"
LOCK_NAME = ".lock"


class BatchLockedError(InputError):
    """Another ``posture batch`` is writing to the same results folder."""


@dataclass(frozen=True)
class BatchOptions:
    inputs: tuple[str, ...]
    out: Path
    config: Config
    engine: str = "local"
    workers: int | None = None  # local: processes (default: every core, memory allowing); ray: tasks at once
    ray_address: str | None = None  # None: a Ray instance on this machine
    cpus_per_task: float = 1.0  # ray: num_cpus of each recording's task
    people_csv: Path | None = None  # file,person,baseline
    baseline: Path | None = None  # for recordings that the CSV and folder profiles leave without one
    calibrate_first_s: float | None = None
    annotate: bool = False
    report: bool = True
    key_frames: bool = True
    max_attempts: int = 3  # analyses of a recording that may fail (for a reason other than bad input)
    retry_failed: bool = False  # try the failed ones again whatever their count


@dataclass(frozen=True)
class BatchProgress:
    total: int  # recordings this run analyses
    done: int
    failed: int
    video_s: float  # seconds of video analysed in this run
    wall_s: float


@dataclass(frozen=True)
class BatchResult:
    recordings: int  # found under the inputs
    analysed: int  # completed in this run
    skipped: int  # complete from an earlier run
    recovered: int  # complete, found after an interrupted run
    failed: tuple[tuple[str, str], ...]  # (recording, reason) of those that failed for good or for now
    video_s: float
    wall_s: float
    engine: str
    workers: int
    cohort_csv: Path
    cohort_html: Path


ProgressFn = Callable[[BatchProgress], None]


def file_sha256(path: Path, block: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Holds an exclusive lock on the results folder (released by the OS even after kill -9)."""
    fh = (folder / LOCK_NAME).open("a+")
    try:
        try:
            if os.name == "nt":  # pragma: no cover - Windows
                import msvcrt

                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise BatchLockedError(f"another posture batch is writing to {folder}") from None
        yield
    finally:
        fh.close()


def _options_document(options: BatchOptions) -> dict[str, Any]:
    """What decides a result besides the video's bytes (and the recording's baseline)."""
    return {
        "posture": __version__,
        "config": json.loads(json.dumps(dataclasses.asdict(options.config), default=str)),
        "calibrate_first_s": options.calibrate_first_s,
        "annotate": options.annotate,
        "report": options.report,
        "key_frames": options.key_frames,
    }


def _hash(doc: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:20]


def _clashes(name: str, taken: set[str]) -> bool:
    """Whether a result folder would be, contain or lie inside one already given out (publishing
    one folder must never move another)."""
    return any(name == t or t.startswith(name + "/") or name.startswith(t + "/") for t in taken)


def _folder_name(rel: str, taken: set[str]) -> str:
    """The recording's result folder: its path in the archive without the extension; told apart
    from the others by its extension, then flattened to one level, then by a number."""
    p = PurePosixPath(rel)
    base = str(p.with_suffix("")) if p.suffix else str(p)
    ext = p.suffix.lstrip(".")
    flat = base.replace("/", "__")
    for name in (base, f"{base}-{ext}", flat, f"{flat}-{ext}"):
        if name and not name.endswith("-") and not _clashes(name, taken):
            return name
    n = 2
    while _clashes(f"{flat}-{n}", taken):  # flat names hold no "/": this ends
        n += 1
    return f"{flat}-{n}"


@dataclass
class _Plan:
    todo: list[tuple[Recording, RecordState]]
    skipped: int
    recovered: int


class _Driver:
    def __init__(self, options: BatchOptions, manifest: Manifest, run_id: str) -> None:
        self.options = options
        self.out = options.out
        self.manifest = manifest
        self.run_id = run_id
        self.recordings_dir = options.out / RECORDINGS_DIR
        self.partial_dir = options.out / PARTIAL_DIR
        self.base_options = _options_document(options)  # the run's options, before any baseline
        self._baseline_hashes: dict[Path, str] = {}
        self.attempt_of: dict[Path, int] = {}

    def options_for(self, rec: Recording) -> tuple[str, dict[str, Any]]:
        baseline = rec.baseline or self.options.baseline
        doc = dict(self.base_options)
        if baseline is not None:
            baseline = baseline.resolve()
            if baseline not in self._baseline_hashes:
                self._baseline_hashes[baseline] = file_sha256(baseline)
            doc["baseline"] = {"path": str(baseline), "sha256": self._baseline_hashes[baseline]}
        else:
            doc["baseline"] = None
        return _hash(doc), doc

    def _complete(self, state: RecordState) -> bool:
        stamp = read_stamp(self.recordings_dir / state.folder)
        return (
            stamp is not None
            and stamp.get("sha256") == state.sha256
            and stamp.get("options_hash") == state.options_hash
            and stamp.get("video") == state.path
        )

    def plan(self, recordings: list[Recording]) -> _Plan:
        taken = self.manifest.folders()
        todo: list[tuple[Recording, RecordState]] = []
        skipped = recovered = 0
        for rec in recordings:
            old = self.manifest.get(rec.path)
            try:
                st = rec.path.stat()
            except OSError as exc:
                raise InputError(f"cannot read {rec.path}: {exc.strerror or exc}") from None
            if old is not None and (old.size, old.mtime_ns) == (st.st_size, st.st_mtime_ns):
                sha = old.sha256
            else:
                try:
                    sha = file_sha256(rec.path)
                except OSError as exc:  # unreadable: recorded as a failure below, not fatal
                    sha = f"unreadable: {exc.strerror or exc}"
            opt_hash, opt_doc = self.options_for(rec)
            self.manifest.save_options(opt_hash, opt_doc)
            if old is not None:
                folder = old.folder
            else:
                folder = _folder_name(rec.rel, taken)
                taken.add(folder)
            state = RecordState(
                path=str(rec.path),
                rel=rec.rel,
                person=rec.person,
                folder=folder,
                size=st.st_size,
                mtime_ns=st.st_mtime_ns,
                sha256=sha,
                options_hash=opt_hash,
                status=Status.PENDING,
                failures=0,
                retryable=True,
                error=None,
                note=None,
                duration_s=None,
            )
            changed = old is None or old.sha256 != sha or old.options_hash != opt_hash
            if not changed and old is not None:
                state = dataclasses.replace(
                    old, rel=rec.rel, person=rec.person, size=st.st_size, mtime_ns=st.st_mtime_ns
                )
                if self._complete(old):
                    if old.status is not Status.DONE:  # published just before a kill
                        self.manifest.upsert(dataclasses.replace(state, status=Status.DONE, error=None))
                        recovered += 1
                    else:
                        self.manifest.upsert(state)
                        skipped += 1
                    continue
                exhausted = not old.retryable or old.failures >= self.options.max_attempts
                if old.status is Status.FAILED and exhausted and not self.options.retry_failed:
                    self.manifest.upsert(state)
                    continue
                if self.options.retry_failed:
                    state = dataclasses.replace(state, failures=0)
                state = dataclasses.replace(state, status=Status.PENDING)
            self.manifest.upsert(state)
            todo.append((rec, state))
        return _Plan(todo, skipped, recovered)

    def task(self, rec: Recording, state: RecordState) -> RecordingTask:
        safe = state.folder.replace("/", "__")
        return RecordingTask(
            video=rec.path,
            rel=rec.rel,
            person=rec.person,
            sha256=state.sha256,
            options_hash=state.options_hash,
            partial_dir=(self.partial_dir / f"{safe}.{uuid.uuid4().hex[:8]}").resolve(),
            config=self.options.config,
            baseline=rec.baseline or self.options.baseline,
            calibrate_first_s=self.options.calibrate_first_s,
            annotate=self.options.annotate,
            report=self.options.report,
            key_frames=self.options.key_frames,
        )

    def started(self, task: RecordingTask) -> None:
        self.attempt_of[task.video] = self.manifest.mark_running(str(task.video), self.run_id)

    def finished(self, outcome: TaskOutcome) -> bool:
        """Publishes or records the failure; True when the recording is complete."""
        state = self.manifest.get(outcome.video)
        assert state is not None
        attempt = self.attempt_of.pop(outcome.video, None)
        if outcome.ok:
            try:
                publish(outcome.partial_dir, self.recordings_dir / state.folder, self.partial_dir)
            except OSError as exc:
                self.manifest.mark_failed(
                    state.path, attempt, f"could not move the result into place: {exc}", True, outcome.wall_s
                )
                return False
            note = "; ".join(outcome.notes) or None
            self.manifest.mark_done(
                state.path, attempt, outcome.duration_s, note, outcome.wall_s, outcome.pid or None
            )
            return True
        self.manifest.mark_failed(
            state.path,
            attempt,
            outcome.error or "failed",
            outcome.retryable,
            outcome.wall_s,
            outcome.pid or None,
        )
        return False


def _open_engine(options: BatchOptions) -> Engine:
    if options.engine == "local":
        return LocalEngine(local_workers(options.workers))
    if options.engine == "ray":
        from posture.batch.ray_engine import RayEngine

        return RayEngine(options.workers, address=options.ray_address, cpus_per_task=options.cpus_per_task)
    raise InputError(f"unknown engine {options.engine!r} (choose from {', '.join(ENGINES)})")


def _validate(options: BatchOptions) -> None:
    if options.engine not in ENGINES:
        raise InputError(f"unknown engine {options.engine!r} (choose from {', '.join(ENGINES)})")
    if options.workers is not None and options.workers < 1:
        raise InputError("--workers must be at least 1")
    if options.max_attempts < 1:
        raise InputError("--max-attempts must be at least 1")
    if options.cpus_per_task <= 0:
        raise InputError("--cpus-per-task must be positive")
    if options.baseline is not None and options.calibrate_first_s is not None:
        raise InputError("use either --baseline or --calibrate-first, not both")
    if options.calibrate_first_s is not None and options.calibrate_first_s <= 0:
        raise InputError("--calibrate-first needs a positive number of seconds")
    if options.baseline is not None and not options.baseline.is_file():
        raise InputError(f"no such baseline file: {options.baseline}")
    if options.ray_address is not None and options.engine != "ray":
        raise InputError("--ray-address needs --engine ray")


def run_batch(
    options: BatchOptions,
    *,
    progress: ProgressFn | None = None,
    engine: Engine | None = None,
) -> BatchResult:
    """Analyses what is left of the archive and writes the cohort summary.

    ``engine`` replaces the one ``options.engine`` names (tests pass their own).
    """
    from posture.batch.cohort import write_cohort

    started = time.monotonic()
    _validate(options)
    eng = engine if engine is not None else _open_engine(options)  # a missing extra says so at once
    people = read_people_csv(options.people_csv) if options.people_csv is not None else None
    out = options.out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot use {out} as the results folder: {folder_error_words(exc)}") from None
    if not out.is_dir():
        raise InputError(f"{out} is not a folder")
    recordings = discover(options.inputs, people, exclude=[out])
    if not recordings:
        raise InputError(f"no videos found in {', '.join(options.inputs)}")
    if people:
        unused = sorted(set(people) - {r.path for r in recordings})
        if unused:
            log.warning(
                "%s names %d file(s) that are not among the recordings found, e.g. %s",
                options.people_csv,
                len(unused),
                unused[0],
            )
    run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    with _locked(out), Manifest(out / MANIFEST_NAME) as manifest:
        driver = _Driver(options, manifest, run_id)
        shutil.rmtree(driver.partial_dir, ignore_errors=True)  # leftovers of an interrupted run
        driver.partial_dir.mkdir()
        plan = driver.plan(recordings)
        done = failed = 0
        video_s = 0.0
        workers = 0
        engine_name = eng.name

        def report() -> None:
            if progress is not None:
                progress(BatchProgress(len(plan.todo), done, failed, video_s, time.monotonic() - started))

        report()
        if plan.todo:
            with eng:
                workers = eng.workers
                run_hash = _hash(driver.base_options)
                manifest.save_options(run_hash, driver.base_options)
                manifest.start_run(run_id, eng.name, eng.workers, run_hash)
                queue = [driver.task(rec, state) for rec, state in plan.todo]
                by_video = {rec.path: rec for rec, _ in plan.todo}
                while queue:
                    retry: list[RecordingTask] = []
                    for outcome in eng.run(queue, driver.started):
                        if driver.finished(outcome):
                            done += 1
                            video_s += outcome.duration_s or 0.0
                        else:
                            state = manifest.get(outcome.video)
                            assert state is not None
                            if state.retryable and state.failures < options.max_attempts:
                                rec = by_video[outcome.video]
                                retry.append(driver.task(rec, state))
                                log.info("%s failed (%s); trying again", rec.rel, outcome.error)
                            else:
                                failed += 1
                        report()
                    queue = retry
                manifest.finish_run(run_id)
        states = {s.path: s for s in manifest.records()}
        current = [states[str(rec.path)] for rec in recordings]
        csv_path, html_path = write_cohort(current, out, RECORDINGS_DIR)
        shutil.rmtree(driver.partial_dir, ignore_errors=True)
    failures = tuple((s.rel, s.error or "failed") for s in current if s.status is Status.FAILED)
    return BatchResult(
        recordings=len(recordings),
        analysed=done,
        skipped=plan.skipped,
        recovered=plan.recovered,
        failed=failures,
        video_s=video_s,
        wall_s=time.monotonic() - started,
        engine=engine_name,
        workers=workers,
        cohort_csv=csv_path,
        cohort_html=html_path,
    )

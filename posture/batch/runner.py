"""``posture batch``: every recording of an archive through the ``analyze`` pipeline, resumably.

The driver (this module) discovers the recordings, decides from the manifest what is left to do,
hands recordings to an engine (local processes or Ray), publishes each finished result folder with
a rename and records it in the manifest, and writes the cohort summary at the end. Only the
driver writes the manifest and the results folder's layout:

    RESULTS/manifest.sqlite3          what each recording is and how far it got
    RESULTS/recordings/<name>/        one folder per recording: what ``posture analyze`` writes,
                                      plus batch.json (the content hash and options it was made with)
    RESULTS/cohort.csv, cohort.html   one row per recording; per-person and group charts
    RESULTS/.partial/                 results being written (cleared at the start and end of a run)

The results folder may be one the user already had: the batch replaces only what a batch wrote
there (:mod:`posture.outputs.staging`'s marker in each folder, the ``.partial`` folder's
sentinel) and stops before any work, with one line naming the file, when a name it needs holds
something else. Result folders are derived from the recording's name in the archive; a name
read from the manifest is used only when it is one the driver would have chosen itself.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import logging
import os
import re
import shutil
import sqlite3
import stat
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from posture import __version__
from posture.batch.discover import Recording, discover, read_people_csv
from posture.batch.engines import Engine, LocalEngine, local_workers
from posture.batch.manifest import MANIFEST_NAME, Manifest, RecordState, Status
from posture.batch.task import STAMP_NAME, RecordingTask, TaskOutcome, publish, read_stamp
from posture.config import Config
from posture.errors import InputError, OptionError
from posture.options import AnalysisOptions, check_count
from posture.outputs.staging import (
    FULL_OR_READ_ONLY,
    MARKER_NAME,
    OUTPUT_NAMES,
    check_marker,
    claim,
    claimed,
    folder_error_words,
    foreign_entries,
    not_ours_message,
)

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
# --cpus-per-task: Ray counts CPUs in steps of 0.0001 and no machine has more than this many
MIN_CPUS_PER_TASK = 0.01
MAX_CPUS_PER_TASK = 1024.0
RECORDINGS_DIR = "recordings"
PARTIAL_DIR = ".partial"
PARTIAL_SENTINEL = ".posture-batch"  # in .partial: the folder is the batch's own to clear
LOCK_NAME = ".lock"
COHORT_NAMES = ("cohort.csv", "cohort.html")
# What .partial held before it had a sentinel: results being written and results being replaced.
_LEGACY_PARTIAL_ENTRY = re.compile(r"(.+\.[0-9a-f]{8}|replaced-[0-9a-f]{32})")


class BatchLockedError(InputError):
    """Another ``posture batch`` is writing to the same results folder."""


@dataclass(frozen=True)
class BatchOptions:
    """What ``posture batch`` is asked, checked once when it is made (:class:`OptionError`s name
    the parameter). ``analysis`` is how each recording is analysed, as ``posture analyze`` would;
    the batch runs each on one core (``workers``), keeps it out of the history (an archive is not
    the user's own sitting) and its ``baseline`` is for the recordings that the people CSV and the
    folder profiles leave without one."""

    inputs: tuple[str, ...]
    out: Path
    config: Config
    analysis: AnalysisOptions = field(default_factory=AnalysisOptions)
    engine: str = "local"
    workers: int | None = None  # local: processes (default: every core, memory allowing); ray: tasks at once
    ray_address: str | None = None  # None: a Ray instance on this machine
    cpus_per_task: float = 1.0  # ray: num_cpus of each recording's task
    people_csv: Path | None = None  # file,person,baseline
    max_attempts: int = 3  # analyses of a recording that may fail (for a reason other than bad input)
    retry_failed: bool = False  # try the failed ones again whatever their count

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise InputError(f"unknown engine {self.engine!r} (choose from {', '.join(ENGINES)})")
        if self.workers is not None:
            check_count("workers", self.workers)
        check_count("max_attempts", self.max_attempts)
        cpus = self.cpus_per_task
        if not (
            isinstance(cpus, (int, float))
            and not isinstance(cpus, bool)
            and MIN_CPUS_PER_TASK <= cpus <= MAX_CPUS_PER_TASK  # NaN fails too
        ):
            raise OptionError(
                "{cpus_per_task} must be a number from {least:g} to {most:g}, not {value!r}",
                least=MIN_CPUS_PER_TASK,
                most=MAX_CPUS_PER_TASK,
                value=cpus,
            )
        if self.ray_address is not None and self.engine != "ray":
            raise OptionError("{ray_address} needs {engine} ray")


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


def file_sha256(path: Path, block: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Holds an exclusive lock on the results folder (released by the OS even after kill -9)."""
    try:
        fh = (folder / LOCK_NAME).open("a+")
    except OSError as exc:  # read-only, full, or a folder of that name
        raise InputError(f"cannot use {folder} as the results folder: {folder_error_words(exc)}") from None
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


# The analysis options every batch has stored since the first; the others that decide a result
# are stored only when they differ from their default, so a batch started before they existed
# keeps its options' hash (and its results).
_ALWAYS_STORED = ("calibrate_first_s", "annotate", "report", "key_frames")
_STORED_WHEN_SET = ("annotate_fps", "footage_credit", "credit_band_px")


def _options_document(options: BatchOptions) -> dict[str, Any]:
    """What decides a result besides the video's bytes (and the recording's baseline): the
    version, the configuration and the analysis options."""
    analysis = options.analysis
    default = AnalysisOptions()
    doc: dict[str, Any] = {
        "posture": __version__,
        "config": json.loads(json.dumps(dataclasses.asdict(options.config), default=str)),
    }
    doc.update({name: getattr(analysis, name) for name in _ALWAYS_STORED})
    doc.update(
        {
            name: getattr(analysis, name)
            for name in _STORED_WHEN_SET
            if getattr(analysis, name) != getattr(default, name)
        }
    )
    return doc


def _hash(doc: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:20]


def _clashes(name: str, taken: set[str]) -> bool:
    """Whether a result folder would be, contain or lie inside one already given out (publishing
    one folder must never move another)."""
    return any(name == t or t.startswith(name + "/") or name.startswith(t + "/") for t in taken)


def _safe_name(name: str) -> bool:
    """A relative folder name below ``recordings/`` that stays there (no ``..``, ``.``, empty parts)."""
    parts = name.split("/")
    return bool(name) and not name.endswith("-") and all(p not in ("", ".", "..") for p in parts)


def _fixed_candidates(rel: str) -> tuple[list[str], str]:
    """The names a recording's result folder may have, in order of preference, and the flattened
    stem that numbered names (``flat-2``, ``flat-3``, ...) are made from."""
    p = PurePosixPath(rel)
    base = str(p.with_suffix("")) if p.suffix else str(p)
    ext = p.suffix.lstrip(".")
    flat = base.replace("/", "__")
    return [n for n in (base, f"{base}-{ext}", flat, f"{flat}-{ext}") if _safe_name(n)], flat


def _folder_name(rel: str, taken: set[str]) -> str:
    """The recording's result folder: its path in the archive without the extension; told apart
    from the others by its extension, then flattened to one level, then by a number."""
    fixed, flat = _fixed_candidates(rel)
    for name in fixed:
        if not _clashes(name, taken):
            return name
    if not _safe_name(flat):  # a name made only of dots: the numbered names stand on their own
        flat = "recording"
    n = 2
    while _clashes(f"{flat}-{n}", taken):  # flat names hold no "/": this ends
        n += 1
    return f"{flat}-{n}"


def _derived(folder: str, rel: str) -> bool:
    """Whether ``folder`` is a name :func:`_folder_name` may give the recording ``rel``: the only
    result folders taken from the manifest (a changed row can never point anywhere else)."""
    fixed, flat = _fixed_candidates(rel)
    if folder in fixed:
        return True
    if not _safe_name(flat):
        flat = "recording"
    number = folder[len(flat) + 1 :] if folder.startswith(flat + "-") else ""
    return number.isascii() and number.isdigit() and not number.startswith("0") and int(number) >= 2


def _unusable(path: Path) -> str | None:
    """Why a recording cannot be read as a file (checked before it is ever opened: a FIFO or
    ``/dev/zero`` would block or never end), or None for a regular file."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop"
        if os.path.islink(path):
            return "a broken symbolic link (its target does not exist)"
        return f"cannot read it: {exc.strerror or exc}"
    if stat.S_ISREG(st.st_mode):
        return None
    kind = (
        "a FIFO"
        if stat.S_ISFIFO(st.st_mode)
        else "a device"
        if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
        else "a socket"
        if stat.S_ISSOCK(st.st_mode)
        else "a folder"
        if stat.S_ISDIR(st.st_mode)
        else "not a file"
    )
    return f"not a regular file ({kind}); skipped without opening it"


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
        # One core per recording (the batch spreads recordings over the cores), and no history.
        self.analysis = dataclasses.replace(options.analysis, baseline=None, workers=1, history=False)
        self._baseline_hashes: dict[Path, str] = {}
        self.attempt_of: dict[Path, int] = {}
        self._started_at: dict[Path, float] = {}

    def baseline_of(self, rec: Recording) -> Path | None:
        """The recording's own baseline (the people CSV's, a folder profile), else the run's."""
        return rec.baseline or self.options.analysis.baseline

    def options_for(self, rec: Recording) -> tuple[str, dict[str, Any]]:
        baseline = self.baseline_of(rec)
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

    # --- what is the batch's to replace ------------------------------------------------------

    def result_problem(self, folder: str) -> Path | None:
        """What stops ``recordings/<folder>`` from being replaced by a new result, or None: a link
        or a file on the way, or an entry that no batch wrote (or that changed since)."""
        path = self.recordings_dir
        for part in ("", *folder.split("/")):
            path = path / part if part else path
            if os.path.islink(path) or (os.path.lexists(path) and not path.is_dir()):
                return path
        if not path.exists():
            return None
        foreign = foreign_entries(path)
        if foreign and not os.path.lexists(path / MARKER_NAME) and read_stamp(path) is not None:
            # A result of a posture from before markers: its own names only, as plain files.
            allowed = {*OUTPUT_NAMES, STAMP_NAME}
            foreign = [e for e in foreign if e.name not in allowed or not _regular(e)]
        return foreign[0] if foreign else None

    def prepare_partial(self) -> None:
        shutil.rmtree(self.partial_dir, ignore_errors=True)  # leftovers of an interrupted run
        try:
            self.partial_dir.mkdir()
            (self.partial_dir / PARTIAL_SENTINEL).write_text(
                "posture batch writes results here and clears this folder\n", encoding="utf-8"
            )
        except OSError as exc:  # the results folder is read-only or full
            self.clear_partial()
            raise InputError(f"cannot write to {self.partial_dir}: {folder_error_words(exc)}") from None

    def clear_partial(self) -> None:
        if self.partial_dir.is_dir() and not self.partial_dir.is_symlink():
            shutil.rmtree(self.partial_dir, ignore_errors=True)

    # --- planning ----------------------------------------------------------------------------

    def _previous(self, rec: Recording, taken: set[str]) -> RecordState | None:
        """The manifest's row for ``rec`` when it can be trusted with this recording."""
        old = self.manifest.get(rec.path)
        if old is None:
            return None
        if not _derived(old.folder, rec.rel):
            self.manifest.report_bad(
                str(rec.path), f"its result folder {old.folder!r} is not one posture derives"
            )
            return None
        if _clashes(old.folder, taken):
            self.manifest.report_bad(
                str(rec.path), f"its result folder {old.folder!r} is another recording's"
            )
            return None
        return old

    def _unusable_state(self, rec: Recording, old: RecordState | None, folder: str, why: str) -> RecordState:
        """A recording that is not a readable file: failed, with the reason, and not opened."""
        try:
            st = os.lstat(rec.path)
            size, mtime_ns = st.st_size, st.st_mtime_ns
        except OSError:
            size = mtime_ns = -1
        same = old is not None and old.status is Status.FAILED and old.error == why
        return RecordState(
            path=str(rec.path),
            rel=rec.rel,
            person=rec.person,
            folder=folder,
            size=size,
            mtime_ns=mtime_ns,
            sha256=f"unusable: {why}",
            options_hash=old.options_hash if old is not None else "",
            status=Status.FAILED,
            failures=(old.failures if same and old is not None else 0) + 1,
            retryable=False,
            error=why,
            note=None,
            duration_s=None,
        )

    def plan(self, recordings: list[Recording]) -> _Plan:
        todo: list[tuple[Recording, RecordState]] = []
        skipped = recovered = 0
        trusted: dict[Path, RecordState | None] = {}
        current = {str(rec.path) for rec in recordings}
        # Names kept for recordings of earlier runs that are not among the inputs this time (only
        # ever avoided, never written, so a changed row can do no harm here).
        taken = {s.folder for s in self.manifest.records() if s.path not in current}
        for rec in recordings:  # the folders of trusted rows next: they keep their names
            old = self._previous(rec, taken)
            trusted[rec.path] = old
            if old is not None:
                taken.add(old.folder)
        for rec in recordings:
            old = trusted[rec.path]
            if old is not None:
                folder = old.folder
            else:
                folder = _folder_name(rec.rel, taken)
                taken.add(folder)
            why = rec.unusable or _unusable(rec.path)
            try:
                st = rec.path.stat() if why is None else None
            except OSError as exc:  # gone since it was looked at
                why, st = f"cannot read it: {exc.strerror or exc}", None
            if why is not None or st is None:
                self.manifest.upsert(self._unusable_state(rec, old, folder, why or "cannot read it"))
                continue
            if old is not None and (old.size, old.mtime_ns) == (st.st_size, st.st_mtime_ns):
                sha = old.sha256
            else:
                try:
                    sha = file_sha256(rec.path)
                except OSError as exc:  # unreadable: recorded as a failure below, not fatal
                    sha = f"unreadable: {exc.strerror or exc}"
            opt_hash, opt_doc = self.options_for(rec)
            self.manifest.save_options(opt_hash, opt_doc)
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
        for _rec, state in todo:  # before any work: nothing of the user's would be replaced
            problem = self.result_problem(state.folder)
            if problem is not None:
                raise InputError(not_ours_message(problem))
        return _Plan(todo, skipped, recovered)

    # --- running -----------------------------------------------------------------------------

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
            options=self.analysis,
            baseline=self.baseline_of(rec),
        )

    def started(self, task: RecordingTask) -> None:
        self.attempt_of[task.video] = self.manifest.mark_running(str(task.video), self.run_id)
        self._started_at[task.video] = time.monotonic()

    def finished(self, outcome: TaskOutcome) -> bool:
        """Publishes or records the failure; True when the recording is complete."""
        attempt = self.attempt_of.pop(outcome.video, None)
        self._started_at.pop(outcome.video, None)
        state = self.manifest.get(outcome.video)
        if state is None:  # its row was changed while the batch ran: reported, not published
            shutil.rmtree(outcome.partial_dir, ignore_errors=True)
            return False
        if outcome.ok:
            problem = self.result_problem(state.folder)  # the user may have put a file there since
            if problem is not None:
                shutil.rmtree(outcome.partial_dir, ignore_errors=True)
                self.manifest.mark_failed(
                    state.path, attempt, not_ours_message(problem), True, outcome.wall_s
                )
                return False
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

    def interrupted(self) -> None:
        """The run ends before these recordings did: marked interrupted (analysed again next time)."""
        now = time.monotonic()
        for video, attempt in list(self.attempt_of.items()):
            wall_s = now - self._started_at.get(video, now)
            self.manifest.mark_interrupted(str(video), attempt, wall_s)
        self.attempt_of.clear()

    def write_cohort(self, recordings: list[Recording]) -> tuple[Path, Path]:
        from posture.batch.cohort import write_cohort

        states = {s.path: s for s in self.manifest.records()}
        current = [states[str(rec.path)] for rec in recordings if str(rec.path) in states]
        paths = write_cohort(current, self.out, RECORDINGS_DIR)
        claim(self.out, COHORT_NAMES)
        return paths


def _check_results_folder(out: Path, legacy: bool) -> None:
    """Before anything is written: the names the batch writes in ``out`` hold nothing of the
    user's (raises :class:`InputError` naming the first that does). ``legacy``: ``out`` holds the
    results of a posture from before markers (a manifest, no marker), whose files count as the
    batch's."""
    check_marker(out)
    partial = out / PARTIAL_DIR
    if os.path.lexists(partial) and not _partial_is_ours(partial, legacy):
        raise InputError(not_ours_message(partial))
    for name in COHORT_NAMES:
        path = out / name
        if os.path.lexists(path) and not (claimed(path) or (legacy and _regular(path))):
            raise InputError(not_ours_message(path))
    recordings = out / RECORDINGS_DIR
    if os.path.islink(recordings) or (os.path.lexists(recordings) and not recordings.is_dir()):
        raise OptionError(
            "{recordings} is not a folder the batch made; choose another {out}", recordings=recordings
        )


def _partial_is_ours(folder: Path, legacy: bool) -> bool:
    if os.path.islink(folder) or not folder.is_dir():
        return False
    if _regular(folder / PARTIAL_SENTINEL):
        return True
    return legacy and all(
        e.is_dir() and not e.is_symlink() and _LEGACY_PARTIAL_ENTRY.fullmatch(e.name)
        for e in folder.iterdir()
    )


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _open_engine(options: BatchOptions) -> Engine:
    if options.engine == "ray":
        from posture.batch.ray_engine import RayEngine

        return RayEngine(options.workers, address=options.ray_address, cpus_per_task=options.cpus_per_task)
    return LocalEngine(local_workers(options.workers))


def run_batch(
    options: BatchOptions,
    *,
    progress: Callable[[BatchProgress], None] | None = None,
    engine: Engine | None = None,
) -> BatchResult:
    """Analyses what is left of the archive and writes the cohort summary.

    ``engine`` replaces the one ``options.engine`` names (tests pass their own).
    """
    started = time.monotonic()
    baseline = options.analysis.baseline
    if baseline is not None and not baseline.is_file():
        raise InputError(f"no such baseline file: {baseline}")
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
    # Results of a posture from before markers: a manifest, and no marker beside it.
    legacy = os.path.lexists(out / MANIFEST_NAME) and not os.path.lexists(out / MARKER_NAME)
    try:
        with _locked(out):
            _check_results_folder(out, legacy)  # before anything is written: nothing of the user's in the way
            with Manifest(out / MANIFEST_NAME) as manifest:
                # The marker says from now on what the batch wrote here (a legacy folder's cohort adopted).
                claim(out, [name for name in COHORT_NAMES if legacy and _regular(out / name)])
                return _run(options, manifest, run_id, recordings, eng, progress, started)
    except OSError as exc:
        if exc.errno not in FULL_OR_READ_ONLY:
            raise
        # The marker or the cohort summary could not be written: one line, like any folder error.
        raise InputError(f"cannot write the results into {out}: {folder_error_words(exc)}") from None
    except sqlite3.OperationalError as exc:  # the manifest's disk filled up (or went read-only) mid-run
        raise InputError(f"cannot update the batch manifest {out / MANIFEST_NAME}: {exc}") from None


def _run(
    options: BatchOptions,
    manifest: Manifest,
    run_id: str,
    recordings: list[Recording],
    eng: Engine,
    progress: Callable[[BatchProgress], None] | None,
    started: float,
) -> BatchResult:
    """The batch proper, in a results folder already checked and locked."""
    driver = _Driver(options, manifest, run_id)
    plan = driver.plan(recordings)
    done = failed = 0
    video_s = 0.0
    workers = 0
    engine_name = eng.name

    def report() -> None:
        if progress is not None:
            progress(BatchProgress(len(plan.todo), done, failed, video_s, time.monotonic() - started))

    driver.prepare_partial()
    try:
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
                            report()
                            continue
                        state = manifest.get(outcome.video)
                        if state is not None and state.retryable and state.failures < options.max_attempts:
                            rec = by_video[outcome.video]
                            retry.append(driver.task(rec, state))
                            log.info("%s failed (%s); trying again", rec.rel, outcome.error)
                        else:
                            failed += 1
                        report()
                    queue = retry
                manifest.finish_run(run_id)
        csv_path, html_path = driver.write_cohort(recordings)
    except BaseException:
        # Ctrl-C, SIGTERM, SIGHUP or an error: the engine has stopped its workers by now.
        driver.interrupted()
        raise
    finally:
        driver.clear_partial()
    states = {s.path: s for s in manifest.records()}
    current = [states[str(rec.path)] for rec in recordings if str(rec.path) in states]
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

"""Finding the recordings of an archive and who each one belongs to.

Inputs are folders (searched recursively), glob patterns (``archive/**/*.mp4``) or single files.
A recording is recognised by its name (``.mp4``, ``.avi``, ...): a damaged file or a text file
named ``.mp4`` is still a recording, and fails on its own when analysed, so the batch can say so.

Who: a CSV ``file,person,baseline`` (paths relative to the CSV's folder) names the person and,
optionally, their baseline (a photo or a saved profile) per recording. Without it the person is
the recording's folder below the input (``archive/alice/mon.mp4`` is alice's), or the file's
name for a recording at the top, and a ``profile.json`` in the recording's folder or a folder
above it (up to the input) is that folder's baseline.
"""

from __future__ import annotations

import csv
import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from posture.errors import InputError
from posture.untrusted import as_text

__all__ = [
    "FOLDER_PROFILE",
    "VIDEO_SUFFIXES",
    "PersonEntry",
    "Recording",
    "discover",
    "read_people_csv",
]

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv"})
FOLDER_PROFILE = "profile.json"  # a folder's baseline when the people CSV names none
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Recording:
    """One video of the archive: where it is, its name within the archive, whose it is."""

    path: Path  # absolute; the manifest's key
    rel: str  # posix path below its input, used for the result folder and in the cohort
    person: str
    baseline: Path | None  # a photo or profile of this person's good posture
    unusable: str | None = None  # why it cannot be analysed whatever it holds (its name)


@dataclass(frozen=True)
class PersonEntry:
    person: str
    baseline: Path | None


def read_people_csv(path: Path) -> dict[Path, PersonEntry]:
    """``file,person,baseline`` rows keyed by the file's absolute path; ``baseline`` may be empty."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
            fields = set(rows[0].keys()) if rows else set()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path} is not a CSV file: {exc}") from None
    if not rows:
        raise InputError(f"{path} has no rows (expected the columns file,person,baseline)")
    if not {"file", "person"} <= fields:
        raise InputError(
            f"{path} needs the columns file,person[,baseline]; it has {','.join(sorted(fields))}"
        )
    base = path.resolve().parent
    out: dict[Path, PersonEntry] = {}
    for n, row in enumerate(rows, start=2):
        file = (row.get("file") or "").strip()
        person = (row.get("person") or "").strip()
        if not file or not person:
            raise InputError(f"{path}, line {n}: both file and person are needed")
        baseline_text = (row.get("baseline") or "").strip()
        baseline = (base / baseline_text).resolve() if baseline_text else None
        if baseline is not None and not baseline.is_file():
            raise InputError(f"{path}, line {n}: no such baseline file: {baseline}")
        out[_absolute(base / file)] = PersonEntry(person, baseline)
    return out


def _expand(spec: str) -> list[tuple[Path, Path]]:
    """(file, the folder its archive name is relative to) for one input."""
    if any(c in spec for c in _GLOB_CHARS):
        parts = Path(spec).parts
        fixed = list(parts[: next(i for i, p in enumerate(parts) if _GLOB_CHARS & set(p))])
        root = Path(*fixed) if fixed else Path(".")
        matches = [Path(m) for m in sorted(glob.glob(spec, recursive=True))]
        # Anything that is not a folder: a FIFO or a broken link is recorded as failed, not dropped.
        files = [m for m in matches if not m.is_dir()]
        for folder in (m for m in matches if m.is_dir()):
            files.extend(_walk(folder))
        if not files:
            raise InputError(f"no files match {spec}")
        return [(f, root) for f in files]
    path = Path(spec)
    if path.is_dir():
        return [(f, path) for f in _walk(path)]
    if os.path.lexists(path):  # a file, or what stands in its place (a FIFO, a broken link)
        return [(path, path.parent)]
    raise InputError(f"no such file or folder: {spec}")


def _walk(folder: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(Path(dirpath) / name for name in sorted(filenames) if not name.startswith("."))
    return found


def _is_text(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # the bytes of a name that is not UTF-8, held as lone surrogates
        return False
    return True


def _absolute(path: Path) -> Path:
    """The file's absolute path, links resolved; a broken link or a link loop (which Python
    before 3.13 answers with RuntimeError) keeps its own name in its resolved folder."""
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError):
        return path.parent.resolve() / path.name


def _folder_profile(path: Path, root: Path) -> Path | None:
    folder = path.parent
    while True:
        candidate = folder / FOLDER_PROFILE
        if candidate.is_file():
            return candidate
        if folder == root or root not in folder.parents:
            return None
        folder = folder.parent


def discover(
    inputs: Sequence[str],
    people: dict[Path, PersonEntry] | None = None,
    *,
    exclude: Sequence[Path] = (),
) -> list[Recording]:
    """Every video under the inputs, once each, in a stable order. ``exclude``: folders to skip
    (the results folder, when it lies inside an input)."""
    people = people or {}
    skip = [e.resolve() for e in exclude]
    seen: set[Path] = set()
    out: list[Recording] = []
    for spec in inputs:
        for file, root in _expand(spec):
            if file.suffix.lower() not in VIDEO_SUFFIXES:
                continue
            path = _absolute(file)
            root_abs = root.resolve()
            if path in seen or any(s == path or s in path.parents for s in skip):
                continue
            seen.add(path)
            own = file.parent.resolve() / file.name  # where it sits, a link not followed
            if root_abs in path.parents:
                rel_path = path.relative_to(root_abs)
            elif root_abs in own.parents:  # a link to a file elsewhere: named where it sits
                rel_path = own.relative_to(root_abs)
            else:
                rel_path = Path(path.name)
            entry = people.get(path)
            if entry is not None:
                person, baseline = entry.person, entry.baseline
            else:
                person = rel_path.parts[-2] if len(rel_path.parts) > 1 else rel_path.stem
                baseline = _folder_profile(path, root_abs)
            if entry is not None and baseline is None:
                baseline = _folder_profile(path, root_abs)
            if _is_text(str(path)):
                out.append(Recording(path, rel_path.as_posix(), person, baseline))
            else:  # a name that is not UTF-8 cannot be stored, shown or written into the cohort
                out.append(
                    Recording(
                        Path(as_text(path)),
                        as_text(rel_path.as_posix()),
                        as_text(person),
                        None,
                        unusable="its name is not valid UTF-8 text; rename it to analyse it",
                    )
                )
    return sorted(out, key=lambda r: (r.rel, str(r.path)))

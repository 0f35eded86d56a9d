"""Information: ``advice``, ``check`` and ``history``."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from posture.errors import ExitCode, InputError
from posture.untrusted import printable

if TYPE_CHECKING:
    from posture._cli.environment import Item

log = logging.getLogger("posture")


def cmd_advice(args: argparse.Namespace, out: IO[str]) -> int:
    from posture._cli.advice_text import render_list, render_text
    from posture.advice import UnknownTopicError, load_catalogue

    catalogue = load_catalogue()
    if args.html is not None:
        from posture.outputs.report.advice_page import render_html
        from posture.outputs.timeline import open_text

        try:
            with open_text(args.html) as fh:
                fh.write(render_html(catalogue))
        except OSError as exc:
            raise InputError(f"cannot write {args.html}: {exc.strerror or exc}") from None
        print(f"wrote {printable(args.html)}", file=out)
        return ExitCode.OK
    if args.list:
        out.write(render_list(catalogue))
        return ExitCode.OK
    try:
        out.write(render_text(catalogue, args.topic))
    except UnknownTopicError as exc:
        raise InputError(str(exc).strip("'\"")) from None
    return ExitCode.OK


def cmd_check(args: argparse.Namespace, out: IO[str]) -> int:
    """Paths, versions, the pose model, cameras and alert back-ends; exit 1 only when something
    that breaks a command the user can run is wrong."""
    from posture._cli.environment import check_environment

    return print_check(check_environment(), out)


def print_check(items: Sequence[Item], out: IO[str]) -> int:
    """``posture check``'s table and status line; the exit status."""
    width = max(len(item.label) for item in items) + 2
    for item in items:
        mark = {"fail": "PROBLEM: ", "note": "note: "}.get(item.status, "")
        print(f"{item.label:<{width}}{mark}{printable(item.value)}", file=out)
    failed = [item.label for item in items if item.status == "fail"]
    if failed:
        print(f"{'status':<{width}}not ready: fix {', '.join(failed)}", file=out)
        return ExitCode.FAILURE
    cameras = next(item for item in items if item.label == "cameras")
    verdict = "ready" if cameras.status == "ok" else "ready for analyze, measure and demo (no camera)"
    print(f"{'status':<{width}}{verdict}", file=out)
    return ExitCode.OK


MAX_HISTORY_LIMIT = 1_000_000  # --limit: more sessions than anyone records


def cmd_history(args: argparse.Namespace, out: IO[str]) -> int:
    from posture._cli.history_view import history_json, render_history
    from posture.outputs.history import OWN_KINDS, read_history

    if not 1 <= args.limit <= MAX_HISTORY_LIMIT:
        raise InputError(f"--limit must be from 1 to {MAX_HISTORY_LIMIT:,}")
    kinds = None if args.all else OWN_KINDS
    if args.html is not None:
        path = write_history_page(args.html, args.days, kinds)
        print(f"wrote {printable(str(path))}", file=out)
        return ExitCode.OK
    if args.days != 7:
        raise InputError("--days goes with --html (the page's span)")
    listing = read_history(args.limit, kinds=kinds)
    hidden = {} if kinds is None else {k: n for k, n in listing.counts.items() if k not in kinds}
    if args.json:
        json.dump(history_json(listing.sessions, listing.trend, hidden), out, indent=2)
        out.write("\n")
    else:
        out.write(render_history(listing.sessions, listing.trend, hidden, own_only=kinds is not None))
    if listing.unreadable:
        ids = ", ".join(str(i) for i in listing.unreadable[:10])
        more = f" and {len(listing.unreadable) - 10} more" if len(listing.unreadable) > 10 else ""
        log.warning(
            "skipped what could not be read of %d session(s), changed on disk? (id %s%s)",
            len(listing.unreadable),
            ids,
            more,
        )
    return ExitCode.OK


MAX_PAGE_DAYS = 366


def write_history_page(target: Path, days: int, kinds: Sequence[str] | None) -> Path:
    """The history page for the last ``days`` days (``posture history --html``, the tray's pages)."""
    from posture.outputs.history import day_summaries
    from posture.outputs.report.week import build_week_data, write_week

    if not 1 <= days <= MAX_PAGE_DAYS:
        raise InputError(f"--days must be from 1 to {MAX_PAGE_DAYS}")
    data = build_week_data(day_summaries(days, kinds=kinds), days=days)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_week(data, target)
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target

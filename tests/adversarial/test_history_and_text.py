"""The history under concurrent writers, and stored text that tries to talk to the terminal."""

from __future__ import annotations

import json
import multiprocessing as mp
from pathlib import Path

import pytest

from posture._cli.history_view import render_history
from posture.outputs.history import (
    HistoryStore,
    LiveSession,
    SessionRow,
    SessionStatus,
    SessionTotals,
    list_sessions,
)
from posture.untrusted import UntrustedJSONError, json_depth, load_json, printable
from tests.adversarial.helpers import run_cli

pytestmark = pytest.mark.adversarial

ROUNDS = 40


def _writer(db: str, kind: str, barrier, results) -> None:
    """One process: a live session updated ROUNDS times, plus ROUNDS finished analyses."""
    from datetime import datetime, timezone

    try:
        barrier.wait(30)
        with LiveSession(kind="live", db_path=Path(db)) as live:
            live.start(f"camera {kind}")
            for i in range(ROUNDS):
                live.update(SessionTotals(duration_s=float(i + 1), present_s=float(i + 1)))
                with HistoryStore(Path(db)) as store:
                    store.insert(
                        "analyze",
                        f"{kind}-{i}.mp4",
                        SessionTotals(duration_s=1.0),
                        started=datetime.now(timezone.utc),
                        ended=datetime.now(timezone.utc),
                        live=False,
                    )
            live.finish(SessionTotals(duration_s=float(ROUNDS), present_s=float(ROUNDS)))
        results.put((kind, "ok"))
    except BaseException as exc:
        results.put((kind, f"{type(exc).__name__}: {exc}"))


@pytest.mark.slow
@pytest.mark.parametrize("writers", [2, 4])
def test_concurrent_writers_lose_nothing_and_never_see_a_lock(writers: int, tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"  # fresh: the writers also race to create it
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(writers), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(str(db), f"w{k}", barrier, results)) for k in range(writers)]
    for p in procs:
        p.start()
    try:
        outcomes = dict(results.get(timeout=120) for _ in procs)
    finally:
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
                p.join(5)
    assert outcomes == {f"w{k}": "ok" for k in range(writers)}
    sessions = list_sessions(10_000, db_path=db)
    analyses = [s for s in sessions if s.kind == "analyze"]
    monitors = [s for s in sessions if s.kind == "live"]
    assert len(analyses) == writers * ROUNDS
    assert len(monitors) == writers and all(s.duration_s == ROUNDS for s in monitors)


HOSTILE_NAMES = [
    "\x1b[2J\x1b[Hcleared.mp4",
    "\x1b]0;pwned\x07title.mp4",
    "\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\.mp4",
    "bell\x07\x07.mp4",
    "back\x08\x08\x08space.mp4",
    "car\rriage.mp4",
    "new\nline.mp4",
    "c1\x9b31mred.mp4",
    "del\x7f.mp4",
    "rtl\u202egpj.exe",
    "nul\x00byte.mp4",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_history_prints_stored_names_without_control_characters(name: str, capsys) -> None:
    from datetime import datetime, timezone

    with HistoryStore() as store:
        store.insert(
            "analyze",
            name,
            SessionTotals(duration_s=5.0),
            started=datetime.now(timezone.utc),
            ended=datetime.now(timezone.utc),
            live=False,
        )
    code, out, err = run_cli(["history", "--all"], capsys)
    assert code == 0, err
    table = out.split("\n\n")[0]
    assert not any(ch in table for ch in "\x1b\x07\x08\r\x9b\x7f\u202e\x00")
    assert len(table.splitlines()) == 3  # header, rule, one row: a newline in a name adds no line
    code, out, _ = run_cli(["history", "--all", "--json"], capsys)
    assert code == 0 and json.loads(out)["sessions"][0]["source"] == name  # JSON escapes, keeps it


def test_render_history_sanitises_every_cell() -> None:
    """Every text cell that comes from the database (the status is computed, an enum)."""
    from datetime import datetime, timezone

    session = SessionRow(
        id=1,
        started=datetime(2026, 1, 1, 10, 0, tzinfo=timezone.utc),
        ended=None,
        kind="analyze\x1b[31m",
        source="/x/\x1b[2Jclip.mp4",
        duration_s=5.0,
        poor_share=0.1,
        episodes=1,
        alerts=0,
        top_finding="forward_head\x07",
        status=SessionStatus.DONE,
    )
    text = render_history([session], [])
    assert "\x1b" not in text and "\x07" not in text
    assert "analyze?[31m" in text and "forward_head?" in text


@pytest.mark.parametrize("field", ["source", "state", "verdict", "reason"])
def test_status_output_sanitises_what_the_monitor_sends(field: str) -> None:
    from posture._cli.live_text import format_status
    from posture.live.control import Status

    status = {"state": "running", "verdict": "good", "source": "cam", field: "x\x1b]0;t\x07\x1b[2Jy"}
    if field == "reason":
        status["state"] = "paused"
    text = format_status(Status.from_json(status))
    assert "\x1b" not in text and "\x07" not in text


@pytest.mark.parametrize(
    ("text", "depth"),
    [("{}", 1), ("[[]]", 2), ('"[[[["', 0), ('{"a": "\\"[["}', 1), ("[" * 50 + "]" * 50, 50), ("1", 0)],
)
def test_json_depth_ignores_brackets_in_strings(text: str, depth: int) -> None:
    assert json_depth(text) == depth


@pytest.mark.parametrize("data", [b"[" * 33 + b"]" * 33, b'{"a": NaN}', b"\xff", b"{", b'{"a": -Infinity}'])
def test_load_json_refuses(data: bytes) -> None:
    with pytest.raises(UntrustedJSONError):
        load_json(data)


def test_printable_keeps_ordinary_text() -> None:
    assert printable("clip été 2026 – ok.mp4") == "clip été 2026 – ok.mp4"
    assert printable("a\tb") == "a?b"

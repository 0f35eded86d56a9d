"""The control channel's typed messages, without a socket: requests checked field by field,
statuses read leniently from whatever a reply holds."""

from __future__ import annotations

import json
import math
import time

import pytest

from posture.live.control import Command, ControlError, Request, RequestError, Status

SOON = float(round(time.time()) + 3600)
STATUS = Request(Command.STATUS)


def pause(until_s: float | None = None) -> Request:
    return Request(Command.PAUSE, until_s)


def test_status_round_trips_and_reads_a_hostile_reply_leniently() -> None:
    status = Status(
        state="paused",
        reason="paused by you",
        paused_until_s=SOON,
        verdict="poor",
        findings={"forward_head": 1.3},
        alert=True,
        view="side",
        source="camera 0",
        sample_fps=1.0,
        session_s=60.0,
        poor_s=12.5,
        present_s=50.0,
        profile="recalibrate",
    )
    assert Status.from_json(json.loads(json.dumps(status.to_json()))) == status
    odd = Status.from_json(
        {
            "state": 3,
            "source": "cam\x1b[2J",
            "findings": {"forward_head": "1.3", "side_lean": 0.5, "\x07x": float("nan")},
            "alert": "yes",
            "session_s": 10**400,
            "poor_s": None,
            "paused_until_s": True,
            "unknown_field": 1,
        }
    )
    assert odd == Status(state="running", source="cam?[2J", findings={"side_lean": 0.5})


def test_requests_to_and_from_json() -> None:
    assert pause(SOON).to_json() == {"cmd": "pause", "until_s": SOON}
    assert pause().to_json() == {"cmd": "pause", "until_s": None}
    assert STATUS.to_json() == {"cmd": "status"}
    assert Request.from_json({"cmd": "pause", "until_s": int(SOON)}, SOON) == pause(SOON)
    with pytest.raises(ControlError, match="unexpected field"):
        Request.from_json({"cmd": "status", "until_s": None}, SOON)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("status", "the request must be a JSON object"),
        ({"cmd": "STATUS"}, "unknown command 'STATUS': expected status, pause, resume"),
        ({"cmd": "ping"}, "unknown command 'ping'"),  # the channel's own, answered before the monitor
        ({"cmd": "pause", "until_s": SOON - 3600 * 2}, "until_s is in the past"),
        ({"cmd": "pause", "until_s": SOON + 9 * 86400}, "more than 7 days ahead"),
        ({"cmd": "pause", "until_s": 10**400}, "pause needs until_s"),
        ({"cmd": "pause", "until_s": math.inf}, "pause needs until_s"),
        ({"cmd": "resume", "x\n\x1b": 1}, "unexpected field(s) for resume: x ?"),
    ],
)
def test_bad_requests_are_refused_in_one_printable_line(data: object, message: str) -> None:
    with pytest.raises(RequestError) as refused:
        Request.from_json(data, SOON - 3600)
    assert message in str(refused.value)
    assert str(refused.value).isprintable()

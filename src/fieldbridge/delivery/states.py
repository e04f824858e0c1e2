"""Delivery states and the one table of allowed transitions.

    pending ──claim──▶ running ──▶ delivered
       ▲                 │ ├────▶ retrying ──claim──▶ running      (transient: 5xx, 429, timeout)
       │                 │ ├────▶ rejected                         (permanent: a person must act)
       │                 │ ├────▶ parked ──reconnect──▶ pending     (connection needs reconnect)
       │                 │ └────▶ failed                           (max age reached; stays visible)
       └── retry/replay ─┴── by support from rejected, failed, cancelled, delivered (replay)

    (enqueue) ──▶ held ──release──▶ pending     (a person must fix a cause first; see below)
    pending, retrying ──hold──▶ held ◀── running (the remote side revealed a cause)

A `held` row waits for named causes (`delivery_holds` rows: a key and a plain reason, e.g.
`shift:7` outside the time policy, `project:123` no access, `person:5` no Procore person).
It is never claimed, it holds back later rows of its subject, and it never expires; it goes
back to `pending` when its last cause is released by the code that fixed it.

`cancelled` is reachable from every state that has not left for good (pending, retrying,
parked, rejected, failed). A `running` row whose lease expired goes back to `retrying` with
its outcome unknown, so the next attempt looks the record up before sending it again.
"""

from enum import StrEnum


class Status(StrEnum):
    pending = "pending"
    running = "running"
    retrying = "retrying"
    delivered = "delivered"
    rejected = "rejected"
    parked = "parked"
    failed = "failed"
    cancelled = "cancelled"
    held = "held"


S = Status

TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.pending: frozenset({S.running, S.parked, S.cancelled, S.held}),
    S.running: frozenset({S.delivered, S.retrying, S.rejected, S.parked, S.failed, S.held}),
    S.retrying: frozenset({S.running, S.parked, S.failed, S.cancelled, S.held}),
    S.held: frozenset({S.pending, S.cancelled}),
    S.parked: frozenset({S.pending, S.cancelled}),
    S.rejected: frozenset({S.pending, S.cancelled}),
    S.failed: frozenset({S.pending, S.cancelled}),
    S.cancelled: frozenset({S.pending}),
    S.delivered: frozenset({S.pending}),  # replay: send the same payload again, on purpose
}

# Rows a runner may claim (when due).
CLAIMABLE: frozenset[Status] = frozenset({S.pending, S.retrying})
# Rows that hold back later rows of the same subject (a clock-out never overtakes its clock-in).
BLOCKING: frozenset[Status] = frozenset({S.pending, S.running, S.retrying, S.parked, S.rejected, S.held})
# Rows waiting to go out; the queue depth and the oldest-pending metric count these.
OPEN: frozenset[Status] = frozenset({S.pending, S.running, S.retrying, S.parked, S.held})
# What a person may do from the export log, by the state it leaves.
RETRYABLE: frozenset[Status] = frozenset({S.rejected, S.failed, S.cancelled, S.parked})
REPLAYABLE: frozenset[Status] = frozenset({S.delivered})
CANCELLABLE: frozenset[Status] = frozenset(s for s, targets in TRANSITIONS.items() if S.cancelled in targets)


class InvalidTransition(ValueError):
    def __init__(self, old: Status, new: Status) -> None:
        super().__init__(f"a delivery cannot go from {old} to {new}")
        self.old = old
        self.new = new


def allowed(old: Status, new: Status) -> bool:
    return new in TRANSITIONS[old]


def check(old: Status | str, new: Status) -> None:
    if not allowed(Status(old), new):
        raise InvalidTransition(Status(old), new)

"""The benchmark's message mix, generated (and signed) before any load is sent.

A workload is an ordered list of SNS deliveries of CloudWatch alarm notifications, plus
what a correct server must make of each one, computed by a sequential reference model of
the incident semantics in DESIGN.md:

* many distinct alarms, each telling its own story: ALARM opens an incident, further
  ALARMs repeat into it, OK resolves it, INSUFFICIENT_DATA is ``info``, an OK with nothing
  open is recorded as ``no_open_incident``, a later ALARM opens a new incident;
* ~1 % redeliveries of an earlier message (same bytes, same MessageId): ``duplicate``;
* a few ALARM repeats held back and delivered after the OK that followed them (older
  StateChangeTime than the last applied change): ``late_attached`` to the incident that
  OK resolved.

Deliveries of one alarm are kept at least ``gap`` positions apart, so a load generator
with far fewer connections than ``gap`` cannot reorder them by concurrency alone and the
expected result stays exact. Stale and duplicate deliveries are also ``gap`` positions
after what they depend on.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import uuid
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alertgate.plugins.aws_sns.signer import SnsSigner, sns_timestamp

REGIONS = {
    "us-east-1": "US East (N. Virginia)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "EU (Ireland)",
    "eu-central-1": "EU (Frankfurt)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
}
ACCOUNTS = ("123456789012", "210987654321", "427809481713", "555566667777")
METRICS = (
    ("CPUUtilization", "AWS/EC2", "InstanceId", "Average", 80.0),
    ("5XXError", "AWS/ApiGateway", "ApiName", "Sum", 5.0),
    ("Errors", "AWS/Lambda", "FunctionName", "Sum", 1.0),
    ("UnauthorizedAttemptCount", "CloudTrailMetrics", None, "Sum", 1.0),
    ("ApproximateAgeOfOldestMessage", "AWS/SQS", "QueueName", "Maximum", 300.0),
)

# Markov chain of an alarm's story: next state given the state it is in now. The first
# state is drawn from ``None``: mostly ALARM, sometimes an OK the server never saw open.
_NEXT: dict[str | None, tuple[tuple[str, float], ...]] = {
    None: (("ALARM", 0.85), ("OK", 0.10), ("INSUFFICIENT_DATA", 0.05)),
    "ALARM": (("ALARM", 0.50), ("OK", 0.42), ("INSUFFICIENT_DATA", 0.08)),
    "OK": (("ALARM", 0.90), ("INSUFFICIENT_DATA", 0.10)),
    "INSUFFICIENT_DATA": (("ALARM", 0.60), ("OK", 0.40)),
}

OUTCOMES = (
    "opened",
    "attached",
    "resolved",
    "late_attached",
    "late_opened",
    "late_resolved",
    "stale",
    "duplicate",
    "info",
    "no_open_incident",
)
GENERATED_OUTCOMES = frozenset(OUTCOMES) - {"late_opened", "late_resolved", "stale"}
"""What the generated order produces: a held-back ALARM repeat always falls inside the
incident its OK resolved. The others occur only when the server applies deliveries in
another order."""


@dataclass(frozen=True, slots=True)
class Params:
    """What to generate. The same parameters and seed give the same mix (not the same
    MessageIds or signatures, which are fresh per generation)."""

    messages: int = 20_000
    alarms: int | None = None
    """Distinct alarms; default ``max(2 * gap, messages // 8)``."""
    gap: int = 1_000
    duplicate_rate: float = 0.01
    stale_rate: float = 0.02
    """Probability that an ALARM repeat is held back and delivered after the next OK."""
    v2_rate: float = 0.0
    """Fraction signed with SignatureVersion 2 (SNS signs v1 unless the topic says v2)."""
    seed: int = 1
    topic_arn: str = "arn:aws:sns:us-east-1:123456789012:alertgate-bench"

    def alarm_count(self) -> int:
        return self.alarms or max(2 * self.gap, self.messages // 8)


@dataclass(slots=True)
class Delivery:
    """One HTTP delivery of the workload and the expected reaction of the server."""

    message_id: str
    alarm: int
    state: str
    action: str
    """trigger | resolve | info (CloudWatch default policy)."""
    outcome: str
    """One of :data:`OUTCOMES`."""
    run: int | None
    """Index of the expected incident this delivery opened/joined/resolved, if any."""
    body: bytes = field(repr=False, default=b"")
    change_time: datetime | None = field(repr=False, default=None)
    """The alarm's StateChangeTime (the engine orders by it)."""


@dataclass(slots=True)
class Expected:
    """The result a correct server ends with after the workload."""

    deliveries: int
    stored_alerts: int
    outcomes: dict[str, int]
    incidents: int
    open_incidents: int
    resolved_incidents: int
    alarms: int


@dataclass(slots=True)
class _Plan:
    """A delivery decided but not yet signed."""

    message_id: str
    alarm: int
    state: str
    previous: str
    change_time: datetime
    duplicate_of: int | None = None


def _alarm_identity(index: int) -> dict[str, Any]:
    rnd = random.Random(index * 7919 + 17)
    region = list(REGIONS)[index % len(REGIONS)]
    account = ACCOUNTS[(index // len(REGIONS)) % len(ACCOUNTS)]
    metric, namespace, dim, stat, threshold = METRICS[index % len(METRICS)]
    name = f"bench-{metric.lower()}-{index:06d}"
    dims = (
        [] if dim is None else [{"value": f"{dim.lower()}-{rnd.randrange(10**6):06d}", "name": dim}]
    )
    return {
        "AlarmName": name,
        "AWSAccountId": account,
        "Region": REGIONS[region],
        "AlarmArn": f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}",
        "Trigger": {
            "MetricName": metric,
            "Namespace": namespace,
            "StatisticType": "Statistic",
            "Statistic": stat.upper(),
            "Unit": None,
            "Dimensions": dims,
            "Period": 300,
            "EvaluationPeriods": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "Threshold": threshold,
            "TreatMissingData": "missing",
            "EvaluateLowSampleCountPercentile": "",
        },
    }


def alarm_message(alarm: int, state: str, previous: str, when: datetime) -> str:
    """The CloudWatch alarm notification (SNS ``Message``) for one state change."""
    doc = _alarm_identity(alarm)
    stamp = (
        when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000"
    )
    reason = {
        "ALARM": "Threshold Crossed: 1 out of the last 1 datapoints was greater than or equal "
        "to the threshold (minimum 1 datapoint for OK -> ALARM transition).",
        "OK": "Threshold Crossed: 1 out of the last 1 datapoints was not greater than or equal "
        "to the threshold (minimum 1 datapoint for ALARM -> OK transition).",
        "INSUFFICIENT_DATA": "Insufficient Data: 1 datapoint was unknown.",
    }[state]
    message = {
        "AlarmName": doc["AlarmName"],
        "AlarmDescription": None,
        "AWSAccountId": doc["AWSAccountId"],
        "AlarmConfigurationUpdatedTimestamp": "2024-01-01T00:00:00.000+0000",
        "NewStateValue": state,
        "NewStateReason": reason,
        "StateChangeTime": stamp,
        "Region": doc["Region"],
        "AlarmArn": doc["AlarmArn"],
        "OldStateValue": previous,
        "OKActions": [],
        "AlarmActions": [],
        "InsufficientDataActions": [],
        "Trigger": doc["Trigger"],
    }
    return json.dumps(message, separators=(",", ":"))


def alarm_arn(alarm: int) -> str:
    return str(_alarm_identity(alarm)["AlarmArn"])


def _pick(rnd: random.Random, state: str | None) -> str:
    roll = rnd.random()
    for name, weight in _NEXT[state]:
        roll -= weight
        if roll < 0:
            return name
    return _NEXT[state][-1][0]


def plan(params: Params, start: datetime) -> list[_Plan]:
    """Decide the delivery order (no signing yet): see the module docstring."""
    rnd = random.Random(params.seed)
    n_alarms = params.alarm_count()
    if n_alarms < 2 * params.gap:
        raise ValueError("need at least 2 * gap alarms so the order can keep the gap")
    gap = params.gap
    state: list[str | None] = [None] * n_alarms
    last_pos = [-gap] * n_alarms
    # Positions are also the clock: delivery i changes state at start + i ms, so every
    # alarm's own changes are in time order unless deliberately held back.
    out: list[_Plan] = []
    held: deque[tuple[int, _Plan]] = deque()  # (earliest position, plan) of stale ones
    waiting_ok: dict[int, list[_Plan]] = {}  # alarm -> repeats held until its next OK
    duplicated: set[int] = set()
    eligible = list(range(n_alarms))
    cooling: deque[tuple[int, int]] = deque()  # (position eligible again, alarm)

    while len(out) < params.messages:
        pos = len(out)
        while cooling and cooling[0][0] <= pos:
            eligible.append(cooling.popleft()[1])
        if held and held[0][0] <= pos:
            out.append(held.popleft()[1])
            continue
        if pos > gap and rnd.random() < params.duplicate_rate:
            original = rnd.randrange(0, pos - gap)
            if original not in duplicated and out[original].duplicate_of is None:
                duplicated.add(original)
                first = out[original]
                out.append(
                    _Plan(
                        first.message_id,
                        first.alarm,
                        first.state,
                        first.previous,
                        first.change_time,
                        duplicate_of=original,
                    )
                )
                continue
        i = rnd.randrange(len(eligible))
        alarm = eligible[i]
        eligible[i] = eligible[-1]
        eligible.pop()
        previous = state[alarm]
        new = _pick(rnd, previous)
        item = _Plan(
            str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
            alarm,
            new,
            previous or "INSUFFICIENT_DATA",
            start + timedelta(milliseconds=pos),
        )
        state[alarm] = new
        last_pos[alarm] = pos
        cooling.append((pos + gap, alarm))
        if new == "ALARM" and previous == "ALARM" and rnd.random() < params.stale_rate:
            waiting_ok.setdefault(alarm, []).append(item)
            continue  # not delivered now: after this alarm's next OK
        out.append(item)
        if new == "OK" and alarm in waiting_ok:
            for late in waiting_ok.pop(alarm):
                held.append((pos + gap, late))
    return out


def replan(deliveries: list[Delivery]) -> list[_Plan]:
    """Plans for deliveries in another order (e.g. the order the server applied them)."""
    return [
        _Plan(d.message_id, d.alarm, d.state, "", d.change_time or datetime.min.replace(tzinfo=UTC))
        for d in deliveries
    ]


@dataclass(slots=True)
class _Run:
    """An expected incident: its triggers (time, MessageId) and the resolve ending it."""

    triggers: list[tuple[datetime, str]]
    end: tuple[datetime, str] | None = None

    @property
    def first(self) -> datetime:
        return min(t for t, _ in self.triggers)


def expect(plans: list[_Plan]) -> tuple[list[Delivery], Expected]:
    """Run the sequential reference model over ``plans`` in their order.

    An alert older than its alarm's last applied change is placed where a replay in
    StateChangeTime order puts it (docs/storage.md, "Ordering"): a late ALARM joins the
    incident whose span contains it (``late_attached``), or with the next OK that found
    nothing open makes an incident already resolved (``late_opened``), or joins the next
    incident; a late OK inside a span ends it there (``late_resolved``), splitting off the
    ALARMs before it. Outcomes of OKs it links or unlinks change with it, as in the database.
    """
    seen: set[str] = set()
    open_run: dict[int, int] = {}  # alarm -> index of its open expected incident
    last_time: dict[int, datetime] = {}
    runs: list[_Run] = []
    run_alarm: list[int] = []
    unmatched: dict[int, list[tuple[datetime, str]]] = {}  # alarm -> OKs in no incident
    outcome_of: dict[str, str] = {}
    order: list[_Plan] = []

    def key_runs(alarm: int) -> list[int]:
        return [n for n, a in enumerate(run_alarm) if a == alarm]

    def new_run(alarm: int, run: _Run) -> int:
        runs.append(run)
        run_alarm.append(alarm)
        return len(runs) - 1

    def late_trigger(item: _Plan) -> str:
        t, mine = item.change_time, key_runs(item.alarm)
        before = max(
            (n for n in mine if runs[n].first <= t), key=lambda n: runs[n].first, default=None
        )
        if before is not None and (runs[before].end is None or t <= runs[before].end[0]):
            runs[before].triggers.append((t, item.message_id))
            return "late_attached"
        after = min(
            (n for n in mine if runs[n].first > t), key=lambda n: runs[n].first, default=None
        )
        bound = None if after is None else runs[after].first
        waiting = sorted(
            r for r in unmatched.get(item.alarm, []) if t < r[0] and (bound is None or r[0] < bound)
        )
        if waiting:
            unmatched[item.alarm].remove(waiting[0])
            new_run(item.alarm, _Run([(t, item.message_id)], waiting[0]))
            outcome_of[waiting[0][1]] = "resolved"
            return "late_opened"
        if after is not None:
            runs[after].triggers.append((t, item.message_id))
            return "late_attached"
        return "stale"

    def late_resolve(item: _Plan) -> str:
        t, mine = item.change_time, key_runs(item.alarm)
        inside = [
            n for n in mine if runs[n].first <= t and (runs[n].end is None or t < runs[n].end[0])
        ]
        if not inside:
            unmatched.setdefault(item.alarm, []).append((t, item.message_id))
            return "stale"
        run = runs[inside[0]]
        earlier = [x for x in run.triggers if x[0] <= t]
        run.triggers = [x for x in run.triggers if x[0] > t]
        if not run.triggers:
            run.triggers = earlier
            if run.end is None:
                open_run.pop(item.alarm, None)
            else:
                unmatched.setdefault(item.alarm, []).append(run.end)
                outcome_of[run.end[1]] = "no_open_incident"
            run.end = (t, item.message_id)
        else:
            new_run(item.alarm, _Run(earlier, (t, item.message_id)))
        return "late_resolved"

    for item in plans:
        order.append(item)
        action = {"ALARM": "trigger", "OK": "resolve", "INSUFFICIENT_DATA": "info"}[item.state]
        if item.message_id in seen:
            continue
        seen.add(item.message_id)
        if action == "info":
            outcome = "info"
        elif item.alarm in last_time and item.change_time < last_time[item.alarm]:
            outcome = late_trigger(item) if action == "trigger" else late_resolve(item)
        elif action == "trigger":
            last_time[item.alarm] = item.change_time
            if item.alarm in open_run:
                runs[open_run[item.alarm]].triggers.append((item.change_time, item.message_id))
                outcome = "attached"
            else:
                run = _Run([(item.change_time, item.message_id)])
                open_run[item.alarm] = new_run(item.alarm, run)
                outcome = "opened"
        else:
            last_time[item.alarm] = item.change_time
            if item.alarm in open_run:
                runs[open_run.pop(item.alarm)].end = (item.change_time, item.message_id)
                outcome = "resolved"
            else:
                unmatched.setdefault(item.alarm, []).append((item.change_time, item.message_id))
                outcome = "no_open_incident"
        outcome_of[item.message_id] = outcome

    run_of = {m: n for n, run in enumerate(runs) for _, m in run.triggers}
    run_of.update({run.end[1]: n for n, run in enumerate(runs) if run.end is not None})
    deliveries: list[Delivery] = []
    delivered: set[str] = set()
    for item in order:
        action = {"ALARM": "trigger", "OK": "resolve", "INSUFFICIENT_DATA": "info"}[item.state]
        duplicate = item.message_id in delivered
        delivered.add(item.message_id)
        deliveries.append(
            Delivery(
                item.message_id,
                item.alarm,
                item.state,
                action,
                "duplicate" if duplicate else outcome_of[item.message_id],
                None if duplicate else run_of.get(item.message_id),
                change_time=item.change_time,
            )
        )
    counts = Counter(d.outcome for d in deliveries)
    expected = Expected(
        deliveries=len(deliveries),
        stored_alerts=len(deliveries) - counts["duplicate"],
        outcomes={name: counts.get(name, 0) for name in OUTCOMES},
        incidents=len(runs),
        open_incidents=sum(1 for r in runs if r.end is None),
        resolved_incidents=sum(1 for r in runs if r.end is not None),
        alarms=len({d.alarm for d in deliveries}),
    )
    return deliveries, expected


# -- signing (the slow part: one RSA-2048 signature per message, spread over processes) --

_SIGNER: SnsSigner | None = None
_TOPIC = ""


def _subject(alarm: int, state: str) -> str:
    ident = _alarm_identity(alarm)
    return f'{state}: "{ident["AlarmName"]}" in {ident["Region"]}'[:100]


def _sign_one(args: tuple[str, int, str, str, str, str]) -> bytes:
    message_id, alarm, state, previous, change_time, version = args
    assert _SIGNER is not None
    when = datetime.fromisoformat(change_time)
    doc = _SIGNER.notification(
        alarm_message(alarm, state, previous, when),
        topic_arn=_TOPIC,
        subject=_subject(alarm, state),
        timestamp=sns_timestamp(when + timedelta(milliseconds=40)),
        message_id=message_id,
        signature_version=version,
    )
    return SnsSigner.body(doc)


def sign_all(
    plans: list[_Plan], signer: SnsSigner, params: Params, processes: int | None = None
) -> list[bytes]:
    """Signed envelope bodies for every plan (a duplicate reuses its original's bytes)."""
    global _SIGNER, _TOPIC
    _SIGNER, _TOPIC = signer, params.topic_arn
    rnd = random.Random(params.seed + 1)
    jobs = []
    index: list[int] = []
    for i, item in enumerate(plans):
        if item.duplicate_of is None:
            version = "2" if rnd.random() < params.v2_rate else "1"
            jobs.append(
                (
                    item.message_id,
                    item.alarm,
                    item.state,
                    item.previous,
                    item.change_time.isoformat(),
                    version,
                )
            )
            index.append(i)
    if processes == 1 or len(jobs) < 200:
        signed = [_sign_one(job) for job in jobs]
    else:
        # fork: children inherit the signer (its private key never leaves this process tree)
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            signed = pool.map(_sign_one, jobs, chunksize=500)
    bodies: list[bytes] = [b""] * len(plans)
    for i, body in zip(index, signed, strict=True):
        bodies[i] = body
    for i, item in enumerate(plans):
        if item.duplicate_of is not None:
            bodies[i] = bodies[item.duplicate_of]
    return bodies


@dataclass(slots=True)
class Workload:
    params: Params
    deliveries: list[Delivery]
    expected: Expected
    generated_at: datetime

    def summary(self) -> dict[str, Any]:
        return {"params": asdict(self.params), "expected": asdict(self.expected)}


def generate(
    params: Params,
    signer: SnsSigner,
    *,
    start: datetime | None = None,
    processes: int | None = None,
) -> Workload:
    """Plan, model and sign a workload. ``start`` is the first StateChangeTime (default:
    now minus the span of the workload, so every Timestamp is in the recent past)."""
    now = datetime.now(UTC)
    start = start or now - timedelta(milliseconds=params.messages + 60_000)
    plans = plan(params, start)
    deliveries, expected = expect(plans)
    for delivery, body in zip(deliveries, sign_all(plans, signer, params, processes), strict=True):
        delivery.body = body
    return Workload(params, deliveries, expected, now)


def write_requests(workload: Workload, path_for: str, out: Path) -> None:
    """Write the bodies as the Lua replay script reads them: per request a line with the
    URL path, a line with the body length, then the body bytes."""
    with out.open("wb") as f:
        for d in workload.deliveries:
            f.write(f"{path_for}\n{len(d.body)}\n".encode())
            f.write(d.body)


def save_expected(workload: Workload, out: Path) -> None:
    data = workload.summary()
    data["deliveries"] = [
        [d.message_id, d.alarm, d.state, d.action, d.outcome, d.run] for d in workload.deliveries
    ]
    out.write_text(json.dumps(data))

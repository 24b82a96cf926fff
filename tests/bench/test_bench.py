"""The benchmark's own logic (bench/): generator, reference model, checker, load drivers.

No timings are asserted: these tests prove that a benchmark run measures the right thing
(every request sent exactly once, the expectation matches the real engine, a wrong
database is caught), not how fast anything is.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from alertgate.models import InboundRequest, ParseContext
from alertgate.plugins.aws_sns.settings import CERT_DIR_ENV
from alertgate.plugins.aws_sns.signer import SnsSigner
from alertgate.registry import load_plugins
from alertgate.server.runner import free_port
from bench import bare, instructions, loadgen, run
from bench.check import check_rows
from bench.workload import (
    GENERATED_OUTCOMES,
    Params,
    expect,
    generate,
    plan,
    replan,
    write_requests,
)
from tests.paths import ROOT_DIR

ROOT = ROOT_DIR
SMALL = Params(messages=400, gap=20, seed=7, duplicate_rate=0.03, stale_rate=0.2)


def test_plan_keeps_each_alarms_deliveries_apart_and_mixes_every_outcome() -> None:
    plans = plan(SMALL, datetime(2026, 1, 1, tzinfo=UTC))
    deliveries, expected = expect(plans)
    assert len(deliveries) == SMALL.messages
    counts = Counter(d.outcome for d in deliveries)
    assert set(counts) == GENERATED_OUTCOMES  # opened, attached, late_attached, duplicate, ...
    assert expected.stored_alerts == SMALL.messages - counts["duplicate"]
    assert expected.incidents == counts["opened"]
    assert expected.resolved_incidents == counts["resolved"]
    last: dict[int, int] = {}
    for pos, (item, d) in enumerate(zip(plans, deliveries, strict=True)):
        if item.duplicate_of is not None:
            assert pos - item.duplicate_of >= SMALL.gap
            assert d.outcome == "duplicate"
        elif d.outcome != "late_attached":
            if item.alarm in last:
                assert pos - last[item.alarm] >= SMALL.gap
            last[item.alarm] = pos


def test_bodies_are_signed_sns_alarm_notifications_the_plugin_accepts(tmp_path: Path) -> None:
    signer = SnsSigner(tmp_path / "certs", name="bench-test")
    workload = generate(Params(messages=30, gap=3, seed=2), signer, processes=1)
    plugins = load_plugins()
    settings = plugins.validate_settings("aws_cloudwatch", {})
    trusted = plugins.configure(environ={CERT_DIR_ENV: str(tmp_path / "certs")})
    context = ParseContext(
        1, "aws_cloudwatch", settings, {"sns": {"status": "confirmed"}}, plugin_context=trusted
    )
    for d in workload.deliveries:
        doc = json.loads(d.body)
        assert doc["SignatureVersion"] == "1" and doc["MessageId"] == d.message_id
        result = plugins.parse(context, InboundRequest(d.body, {}, "text/plain"))
        assert [str(a.action) for a in result.alerts] == [d.action]
        assert result.alerts[0].dedupe_key == d.message_id


def _perfect_rows(deliveries):  # type: ignore[no-untyped-def]
    alerts = [
        (
            n,
            d.message_id,
            d.action,
            d.outcome,
            f"fp-{d.alarm}",
            None if d.run is None else d.run + 1,
        )
        for n, d in enumerate(d for d in deliveries if d.outcome != "duplicate")
    ]
    runs = Counter(d.run for d in deliveries if d.action == "trigger" and d.run is not None)
    resolved = {d.run for d in deliveries if d.action == "resolve" and d.run is not None}
    fps = {d.run: f"fp-{d.alarm}" for d in deliveries if d.run is not None}
    incidents = [
        (run + 1, fp, "resolved" if run in resolved else "triggered", runs[run])
        for run, fp in fps.items()
    ]
    return alerts, incidents


def test_checker_accepts_the_right_answer_and_catches_wrong_ones() -> None:
    deliveries, _ = expect(plan(SMALL, datetime(2026, 1, 1, tzinfo=UTC)))
    alerts, incidents = _perfect_rows(deliveries)
    ok = {200: len(deliveries)}
    assert check_rows(deliveries, alerts, incidents, ok).ok

    assert not check_rows(deliveries, alerts[1:], incidents, ok).ok  # an alert lost
    assert not check_rows(deliveries, [*alerts, alerts[0]], incidents, ok).ok  # counted twice
    wrong = list(alerts)
    i = next(k for k, a in enumerate(wrong) if a[3] == "opened")
    wrong[i] = (*wrong[i][:3], "stale", wrong[i][4], None)
    assert not check_rows(deliveries, wrong, incidents, ok).ok  # wrong outcome
    merged = [(*a[:4], "fp-same", a[5]) for a in alerts]
    assert not check_rows(deliveries, merged, incidents, ok).ok  # grouping broken
    extra = [*incidents, (10**6, "fp-x", "triggered", 1)]
    assert not check_rows(deliveries, alerts, extra, ok).ok  # an incident too many
    flipped = [(i, fp, "triggered", n) for i, fp, _, n in incidents]
    assert not check_rows(deliveries, alerts, flipped, ok).ok  # never resolved
    assert not check_rows(deliveries, alerts, incidents, {200: len(deliveries) - 1, 503: 1}).ok


def test_checker_replays_the_order_the_server_applied() -> None:
    """A stalled request overtaken by the alarm's next delivery changes outcomes legally
    (the later ALARM opens, the older one is stale): accepted only if consistent."""
    deliveries, _ = expect(plan(SMALL, datetime(2026, 1, 1, tzinfo=UTC)))
    stored = [d for d in deliveries if d.outcome != "duplicate"]
    first, second = next(
        (i, k)
        for i, d in enumerate(stored)
        if d.outcome == "opened"
        for k in range(i + 1, len(stored))
        if stored[k].alarm == d.alarm and stored[k].outcome == "attached"
    )
    order = list(stored)
    order[first], order[second] = order[second], order[first]
    replayed, _ = expect(replan(order))
    alerts, incidents = _perfect_rows(replayed)
    ok = {200: len(deliveries)}
    result = check_rows(deliveries, alerts, incidents, ok)
    assert result.ok, result.problems
    assert result.reordered >= 2
    # the same arrival order with the outcomes of the generated order is wrong
    generated_outcome = {d.message_id: d for d in stored}
    inconsistent = [
        (n, d.message_id, d.action, generated_outcome[d.message_id].outcome, f"fp-{d.alarm}", None)
        for n, d in enumerate(order)
    ]
    assert not check_rows(deliveries, inconsistent, incidents, ok).ok


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    bodies: list[bytes] = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.lock:
            self.bodies.append(body)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder():  # type: ignore[no-untyped-def]
    _Recorder.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.mark.bench
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk (Debian package) is not installed")
def test_wrk_replay_sends_every_request_exactly_once(tmp_path: Path, recorder: str) -> None:
    deliveries, expected = expect(plan(SMALL, datetime(2026, 1, 1, tzinfo=UTC)))
    for i, d in enumerate(deliveries):
        d.body = f'{{"n": {i}}}'.encode()
    from bench.workload import Workload

    requests = tmp_path / "requests.bin"
    write_requests(Workload(SMALL, deliveries, expected, datetime.now(UTC)), "/x/key", requests)
    result = loadgen.replay(
        recorder, requests, len(deliveries), threads=2, connections=6, workdir=tmp_path
    )
    assert result.complete and result.statuses == {200: len(deliveries)}
    assert sorted(_Recorder.bodies) == sorted(d.body for d in deliveries)


def test_constant_rate_client_sends_every_request_once(recorder: str) -> None:
    requests = [("/x/key", f'{{"n": {i}}}'.encode()) for i in range(60)]
    result = loadgen.constant_rate(recorder, requests, rate=300)
    assert result.statuses == {200: 60} and result.errors == 0
    assert sorted(_Recorder.bodies) == sorted(b for _, b in requests)
    assert set(result.latency_ms) >= {"p50", "p99"}


@pytest.mark.slow
@pytest.mark.bench
def test_bench_command_end_to_end_against_real_alertgate(tmp_path: Path) -> None:
    """The whole command on a tiny mix: CLI setup, ``alertgate serve``, load, exact check."""
    out = tmp_path / "result.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--messages",
            "240",
            "--gap",
            "30",
            "--workers",
            "1",
            "--no-throughput",
            "--latency-rate",
            "100",
            "--latency-seconds",
            "2.4",
            "--out",
            str(out),
            "--workdir",
            str(tmp_path / "work"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    (phase,) = report["phases"]
    assert phase["check"]["ok"], phase["check"]["problems"]
    assert phase["check"]["stored_alerts"] == report["workload"]["expected"]["stored_alerts"]
    assert phase["load"]["statuses"] == {"200": 240}
    # Every rate comes with the interpreter it ran under and the machine's speed around it.
    assert report["python"]["executable"] == sys.executable
    assert report["python"]["speed_ms"] > 0
    assert phase["python_speed_ms_before"] > 0 and phase["python_speed_ms_after"] > 0
    assert report["summary"]["latency_sqlite_python_speed_ms"] == [
        phase["python_speed_ms_before"],
        phase["python_speed_ms_after"],
    ]


def test_callgrind_totals_and_the_per_delivery_difference(tmp_path: Path) -> None:
    out = tmp_path / "callgrind.out"
    out.write_bytes(b"events: Ir\nfn=main\n1 5\ntotals: 123456789\n")
    assert instructions.callgrind_total(out) == 123_456_789
    out.write_bytes(b"events: Ir\nsummary: 42\n")
    assert instructions.callgrind_total(out) == 42
    out.write_bytes(b"events: Ir\n")
    with pytest.raises(ValueError, match="no totals line"):
        instructions.callgrind_total(out)
    # Fixed costs (start-up, warm-up) cancel: only the extra deliveries count.
    assert instructions.per_delivery((300, 5_000_000_000), (1300, 6_500_000_000)) == 1_500_000
    with pytest.raises(ValueError):
        instructions.per_delivery((300, 1), (300, 2))


@pytest.mark.bench
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs Debian's valgrind")
def test_instruction_count_drives_the_real_app_under_callgrind() -> None:
    # A child that got anything but 200 for every delivery fails the count.
    result = instructions.count(small=4, large=20)
    assert result["deliveries"] == [4, 20]
    small, large = result["instructions"]
    assert large > small > 0
    assert 100_000 < result["instructions_per_delivery"] < 50_000_000


def test_growth_pairs_alternate_and_the_summary_takes_the_median_ratio() -> None:
    assert run.growth_order(3) == [
        ("growth-empty", "growth-prestored"),
        ("growth-prestored", "growth-empty"),
        ("growth-empty", "growth-prestored"),
    ]

    def phase(label: str, rate: float, database: str = "sqlite") -> dict[str, object]:
        return {"phase": label, "database": database, "load": {"rate_per_s": rate}}

    phases = [
        phase("throughput", 999.0),
        phase("growth-empty", 1000.0),
        phase("growth-prestored", 950.0),
        phase("growth-prestored", 700.0),  # the machine slowed down for this pair
        phase("growth-empty", 1000.0),
        phase("growth-empty", 800.0),
        phase("growth-prestored", 880.0),
        phase("growth-prestored", 10.0, database="postgresql"),
    ]
    assert run.paired_ratios(phases, "growth-prestored_sqlite", "growth-empty_sqlite") == [
        0.95,
        0.7,
        1.1,
    ]
    summary = run.summarize(phases)
    assert summary["growth_ratio_sqlite"] == 0.95
    assert summary["growth_ratios_sqlite"] == [0.95, 0.7, 1.1]
    # One pair: its ratio, as before.
    assert run.summarize(phases[:3])["growth_ratio_sqlite"] == 0.95
    assert "growth_ratios_sqlite" not in run.summarize(phases[:3])


def _post(url: str, body: bytes) -> int:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_bare_reference_handler_verifies_and_stores_each_message_once(tmp_path: Path) -> None:
    """The reference point is real uvicorn: signed messages stored once each, duplicates
    ignored, a forged signature refused and not stored."""
    signer = SnsSigner(tmp_path / "certs", name="bare-test")
    workload = generate(Params(messages=40, gap=5, seed=3, duplicate_rate=0.1), signer)
    bodies = [d.body for d in workload.deliveries]
    distinct = len({d.message_id for d in workload.deliveries})
    assert distinct < len(bodies)  # the mix does resend some messages
    forged = json.loads(bodies[0])
    forged["MessageId"] = "forged-0001"  # signed: the signature no longer matches
    db = tmp_path / "bare.db"
    with bare.BareServer(db, tmp_path / "certs", free_port(), 1, tmp_path / "bare.log") as handler:
        url = handler.url + "integrations/any"
        assert [_post(url, body) for body in bodies] == [200] * len(bodies)
        assert _post(url, json.dumps(forged).encode()) == 400
        assert _post(url, b"not json") == 400
    assert bare.row_count(db) == distinct


def test_summary_relates_alertgate_to_the_bare_handler_of_the_same_run() -> None:
    phases = [
        {"phase": "throughput", "database": "sqlite", "load": {"rate_per_s": 2000.0}},
        {"phase": "bare", "load": {"rate_per_s": 3200.0}, "check": {"ok": True, "problems": []}},
    ]
    summary = run.summarize(phases)
    assert summary["bare_per_s"] == 3200.0
    assert summary["ratio_alertgate_sqlite_to_bare"] == 0.625
    assert summary["all_checks_ok"]
    phases[1]["check"] = {"ok": False, "problems": ["10 rows stored, 12 distinct messages sent"]}
    assert not run.summarize(phases)["all_checks_ok"]
    assert "ratios_alertgate_sqlite_to_bare" not in summary  # one pair: no list


def test_bare_rounds_alternate_and_the_summary_takes_the_median_ratio() -> None:
    """``--bare-rounds``: each throughput phase pairs with the next bare phase whichever ran
    first; phases of other kinds in between (latency, Alertmanager, PostgreSQL) do not."""
    assert run.alternating(("throughput", "bare"), 3) == [
        ("throughput", "bare"),
        ("bare", "throughput"),
        ("throughput", "bare"),
    ]

    def phase(label: str, rate: float, database: str | None = "sqlite") -> dict[str, object]:
        named = {"phase": label, "load": {"rate_per_s": rate}}
        return {**named, "database": database} if database else named

    phases = [
        phase("throughput", 2000.0),
        phase("latency", 1000.0),
        phase("alertmanager", 9000.0, database=None),
        phase("bare", 2500.0, database=None),  # 0.8
        phase("bare", 2000.0, database=None),
        phase("throughput", 1800.0),  # 0.9
        phase("throughput", 1400.0, database="postgresql"),
        phase("throughput", 2100.0),
        phase("bare", 3000.0, database=None),  # 0.7
    ]
    assert run.paired_ratios(phases, "throughput_sqlite", "bare") == [0.8, 0.9, 0.7]
    summary = run.summarize(phases)
    assert summary["ratio_alertgate_sqlite_to_bare"] == 0.8
    assert summary["ratios_alertgate_sqlite_to_bare"] == [0.8, 0.9, 0.7]
    # An even number of pairs: the mean of the middle two.
    assert run.summarize(phases[:6])["ratio_alertgate_sqlite_to_bare"] == 0.85


@pytest.mark.slow
@pytest.mark.bench
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk (Debian package) is not installed")
def test_bench_command_drives_the_bare_handler_with_the_same_requests(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    command = [sys.executable, "-m", "bench", "--messages", "300", "--gap", "30"]
    command += ["--workers", "2", "--no-latency", "--bare", "--bare-rounds", "2"]
    command += ["--out", str(out)]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    # Two rounds, the second in the other order; each phase on a fresh database.
    assert [p["phase"] for p in report["phases"]] == ["throughput", "bare", "bare", "throughput"]
    first, reference, second_reference, second = report["phases"]
    for throughput, bare_phase in ((first, reference), (second, second_reference)):
        assert bare_phase["check"]["ok"], bare_phase["check"]
        assert throughput["check"]["ok"], throughput["check"]["problems"]
        assert bare_phase["load"]["statuses"] == throughput["load"]["statuses"] == {"200": 300}
        assert bare_phase["server_cpu_ms_per_delivery"] > 0
    ratios = [
        round(first["load"]["rate_per_s"] / reference["load"]["rate_per_s"], 3),
        round(second["load"]["rate_per_s"] / second_reference["load"]["rate_per_s"], 3),
    ]
    summary = report["summary"]
    assert summary["ratios_alertgate_sqlite_to_bare"] == ratios
    assert summary["ratio_alertgate_sqlite_to_bare"] == round(sum(ratios) / 2, 3)


def test_webhook_receiver_counts_each_delivery_by_key_over_keep_alive() -> None:
    """The --notify phase's receiver: what it reports is what was sent, twice included."""
    import httpx

    from bench.notify import WebhookReceiver

    with WebhookReceiver() as receiver, httpx.Client() as client:
        for key in ("a", "b", "a"):
            r = client.post(receiver.url, content=b'{"x": 1}',
                            headers={"X-Alertgate-Idempotency-Key": key})  # fmt: skip
            assert r.status_code == 204
        assert receiver.received() == {"a": 2, "b": 1}


@pytest.mark.slow
@pytest.mark.bench
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk (Debian package) is not installed")
def test_bench_notify_phase_delivers_every_notification_once(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    command = [sys.executable, "-m", "bench", "--messages", "300", "--gap", "30"]
    command += ["--workers", "1", "--no-latency", "--notify", "--out", str(out)]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert [p["phase"] for p in report["phases"]] == ["throughput", "notify"]
    notes = report["phases"][1]["notifications"]
    expected = report["workload"]["expected"]["outcomes"]
    # A rule on opened and resolved: one message per opened and per resolved incident.
    assert notes["received"] == notes["received_distinct_keys"] > 0
    assert notes["received_twice"] == 0
    assert notes["outbox_by_status"] == {"delivered": notes["received"]}
    assert notes["received"] >= expected["opened"]
    assert report["summary"]["ratio_notify_to_plain_sqlite"] > 0

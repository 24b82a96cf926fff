"""The incident console at volume: first-page server time of the incidents list with
100,000 incidents and of an incident with 100,000 alerts (issue 21: under 300 ms each).

    python -m bench.console [--database-url URL] [--incidents N] [--alerts N] [--runs N]

Everything is inserted through the engine (``IngestEngine.ingest``), as deliveries of
1,000 alerts, never by hand-written SQL. Each page is then requested in-process through
the real application (ASGI, no network): the web UI's ``/incidents`` and
``/incidents/{id}``, and the API's ``/api/v1/incidents`` and
``/api/v1/incidents/{id}/alerts``, each ``--runs`` times after one warm-up; the median
and the slowest are printed in milliseconds. A figure, not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from starlette.testclient import TestClient

from alertgate.engine import Delivery, IngestEngine
from alertgate.models import Action, Alert, Severity
from alertgate.server import admin
from alertgate.server.app import create_app
from alertgate.settings import Settings
from alertgate.storage import migrate
from alertgate.storage.database import make_engine, make_sessionmaker

BATCH = 1000
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _alert(n: int, fingerprint: str) -> Alert:
    return Alert(
        title=f"High CPU on web-{n % 50}",
        summary=f"Host: web-{n % 50}\nValue: {n % 97}%",
        source_time=T0 + timedelta(seconds=n),
        dedupe_key=f"{fingerprint}-{n}",
        kind="bench",
        severity=Severity.ERROR,
        fingerprint=fingerprint,
        action=Action.TRIGGER,
    )


def populate(url: str, incidents: int, alerts: int) -> tuple[str, int]:
    """A token, and the id of the incident with ``alerts`` alerts."""
    engine = make_engine(url)
    with make_sessionmaker(engine).begin() as s:
        org = admin.ensure_organization(s)
        service = admin.create_service(s, org, "bench")
        from alertgate.registry import load_plugins

        integration = admin.create_integration(s, load_plugins(), service, "aws_sns").integration
        ids = (integration.id, service.id)
        token = admin.create_token(s, org, "bench").secret
    ingest = IngestEngine(engine)
    try:
        big = ingest.ingest(Delivery(*ids, [_alert(0, "big")])).outcomes[0].incident_id
        assert big is not None
        for start in range(1, alerts, BATCH):
            batch = [_alert(n, "big") for n in range(start, min(start + BATCH, alerts))]
            ingest.ingest(Delivery(*ids, batch))
        for start in range(1, incidents, BATCH):
            stop = min(start + BATCH, incidents)
            ingest.ingest(Delivery(*ids, [_alert(n, f"fp{n}") for n in range(start, stop)]))
    finally:
        ingest.close()
        engine.dispose()
    return token, big


def _timed(client: TestClient, path: str, runs: int, headers: dict[str, str]) -> list[float]:
    response = client.get(path, headers=headers)  # warm-up (and a check it works)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        client.get(path, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
    return times


def measure(url: str, token: str, big: int, runs: int, folder: Path) -> dict[str, list[float]]:
    settings = Settings(database_url=url, secret_key_file=str(folder / "session.secret"))
    app = create_app(settings)
    results: dict[str, list[float]] = {}
    with TestClient(app) as client:
        login = client.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert csrf is not None
        client.post("/login", data={"token": token, "csrf_token": csrf.group(1)})
        api = {"Authorization": f"Bearer {token}"}
        pages = {
            "UI /incidents (first 50)": ("/incidents", {}),
            "UI /incidents/{id} (newest 50 of the big one)": (f"/incidents/{big}", {}),
            "API /api/v1/incidents?limit=50": ("/api/v1/incidents?limit=50", api),
            "API /api/v1/incidents/{id}/alerts?limit=50": (
                f"/api/v1/incidents/{big}/alerts?limit=50",
                api,
            ),
        }
        for label, (path, headers) in pages.items():
            results[label] = _timed(client, path, runs, headers)
        # A deep page costs the same as the first one (keyset, not offset).
        cursor = None
        for _ in range(100):
            page = client.get(
                "/api/v1/incidents",
                params={"limit": 500, **({"cursor": cursor} if cursor else {})},
                headers=api,
            ).json()
            if page["next_cursor"] is None:
                break
            cursor = page["next_cursor"]
        deep = f"&cursor={cursor}" if cursor else ""
        results["API /api/v1/incidents?limit=50 after 50,000 (cursor)"] = _timed(
            client, f"/api/v1/incidents?limit=50{deep}", runs, api
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="An empty database (default: a new SQLite file).")
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = args.database_url or f"sqlite:///{folder / 'console.db'}"
        migrate.upgrade(url)
        start = time.perf_counter()
        token, big = populate(url, args.incidents, args.alerts)
        print(f"inserted through the engine in {time.perf_counter() - start:.0f} s "
              f"({args.incidents:,} incidents, one of {args.alerts:,} alerts)")  # fmt: skip
        for label, times in measure(url, token, big, args.runs, folder).items():
            print(f"{label:<58} median {statistics.median(times):6.1f} ms   "
                  f"max {max(times):6.1f} ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

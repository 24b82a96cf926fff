"""``alertgate sns verify``: VALID/INVALID with the reason per file, exit 1 if any is invalid."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from alertgate.cli import main
from tests.sns_support import CERT_FIXTURES, SNS_FIXTURES

FIXTURES = sorted(SNS_FIXTURES.glob("*.json"))


def test_all_fixtures_valid_offline() -> None:
    args = ["sns", "verify", "--cert-dir", str(CERT_FIXTURES), *map(str, FIXTURES)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == len(FIXTURES)
    assert all(": VALID (" in line for line in lines)


def test_tampered_file_is_invalid_with_reason_and_exit_1(tmp_path: Path) -> None:
    doc = json.loads(FIXTURES[0].read_text())
    doc["Message"] += "!"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(doc))
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    args = ["sns", "verify", "--cert-dir", str(CERT_FIXTURES), str(FIXTURES[0]), str(tampered)]
    result = CliRunner().invoke(main, [*args, str(broken), str(tmp_path / "missing.json")])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].endswith(")") and ": VALID (" in lines[0]
    assert (
        lines[1]
        == f"{tampered}: INVALID signature_invalid: the SNS signature does not match the message"
    )
    assert lines[2].startswith(f"{broken}: INVALID invalid_json")
    assert lines[3].startswith(f"{tmp_path / 'missing.json'}: INVALID unreadable")


def test_json_output_and_optional_freshness() -> None:
    path = str(SNS_FIXTURES / "awsphp_2022_notification_v2_subject.json")
    result = CliRunner().invoke(
        main, ["sns", "verify", "--cert-dir", str(CERT_FIXTURES), "--json", path]
    )
    assert result.exit_code == 0
    [row] = json.loads(result.output)
    assert row["valid"] is True and row["signature_version"] == "2"
    assert row["message_id"] == "4504e649-d933-5aa9-8199-bd14ccf05f0b"
    result = CliRunner().invoke(
        main, ["sns", "verify", "--cert-dir", str(CERT_FIXTURES), "--max-age", "3600", path]
    )
    assert result.exit_code == 1 and "INVALID message_too_old" in result.output


def test_unknown_certificate_without_network_is_invalid(tmp_path: Path) -> None:
    """No certificate in the folder and a dead endpoint: INVALID cert_unavailable, exit 1."""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from alertgate.cli import main; main()",
            "sns",
            "verify",
            "--cert-dir",
            str(tmp_path),
            str(FIXTURES[0]),
        ],
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "AWS_ENDPOINT_URL_SNS": "http://127.0.0.1:9",
            "ALERTGATE_SNS_HTTP_TIMEOUT_SECONDS": "2",
        },
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    assert "INVALID cert_unavailable" in proc.stdout

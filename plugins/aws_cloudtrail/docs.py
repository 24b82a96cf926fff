"""Listings of the detection catalog: CLI rows and the Markdown in the user guide.

docs/integrations/aws-cloudtrail.md embeds :func:`catalog_markdown` and
:func:`patterns_markdown` between marker comments; a test keeps them identical, so the
guide cannot drift from the code. Regenerate them with
``python -m alertgate.plugins.aws_cloudtrail.docs docs/integrations/aws-cloudtrail.md``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alertgate.plugins.aws_cloudtrail.settings import CloudTrailSettings


def catalog_rows(settings: CloudTrailSettings | None = None) -> list[dict[str, Any]]:
    """Every known detection (built-in, then custom), with ``builtin`` and ``enabled``."""
    settings = settings or CloudTrailSettings()
    enabled = {detection.id for detection in settings.detections()}
    custom = {detection.id for detection in settings.custom_detections}
    rows = []
    for detection_id in settings.known_ids():
        detection = settings.detection(detection_id)
        assert detection is not None
        row = detection.describe()
        row["builtin"] = detection_id not in custom
        row["enabled"] = detection_id in enabled
        rows.append(row)
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def catalog_markdown(rows: Sequence[dict[str, Any]] | None = None) -> str:
    """The catalog as a Markdown table."""
    rows = catalog_rows() if rows is None else rows
    lines = [
        "| id | title | severity | category | CIS (v1.4+ / v1.2) | matches |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        cis = row["cis"] or "-"
        if row["cis_v1_2"]:
            cis += f" / {row['cis_v1_2']}"
        lines.append(
            f"| `{row['id']}` | {_cell(row['title'])} | {row['severity']} | {row['category']} "
            f"| {cis} | {_cell(row['description'])} |"
        )
    return "\n".join(lines) + "\n"


def patterns_markdown(rows: Sequence[dict[str, Any]] | None = None) -> str:
    """One section per detection: suggested metric name and its metric filter pattern."""
    rows = catalog_rows() if rows is None else rows
    out = []
    for row in rows:
        cis = f" (CIS {row['cis']})" if row["cis"] else ""
        metric = row["metric_names"][0] if row["metric_names"] else row["id"]
        out.append(f"#### {row['title']}{cis}\n")
        out.append(f"Metric name: `{metric}`  (detection `{row['id']}`)\n")
        out.append("```\n" + row["filter_pattern"] + "\n```\n")
        if not row["filter_pattern_exact"]:
            out.append(
                "Metric filters cannot compare two fields, so this pattern also counts "
                "events the detection leaves out (see its description above).\n"
            )
    return "\n".join(out)


_SECTIONS = {
    "detection catalog": catalog_markdown,
    "metric filter patterns": patterns_markdown,
}


def fill_guide(text: str) -> str:
    """The guide with every generated section (between its BEGIN/END markers) rewritten."""
    for name, render in _SECTIONS.items():
        begin = text.index(f"<!-- BEGIN {name}")
        start = text.index("-->", begin) + len("-->")
        end = text.index(f"<!-- END {name}", start)
        text = text[:start] + "\n" + render() + text[end:]
    return text


def main(argv: Sequence[str]) -> int:
    """Rewrite the generated sections of the guide(s) named on the command line."""
    for name in argv:
        path = Path(name)
        path.write_text(fill_guide(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Documentation links for the UI: integration types and settings fields name their docs
either as an absolute URL or as a path in alertgate's ``docs/`` folder
(``docs/integrations/aws-cloudtrail.md``). Paths are served by the server itself, as plain
text, from the ``docs/`` folder beside the package (a source or editable install); where
that folder is absent they are shown as text instead of a link that would not work.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

import alertgate

DOCS_DIR = Path(alertgate.__file__).resolve().parent.parent / "docs"
PREFIX = "/docs/"


def _doc_file(path: str) -> Path | None:
    """The Markdown file ``docs/<path>`` names, if it exists inside the docs folder."""
    if not path.endswith(".md") or ".." in path.split("/"):
        return None
    target = (DOCS_DIR / path).resolve()
    if not target.is_relative_to(DOCS_DIR) or not target.is_file():
        return None
    return target


def docs_href(url: str | None) -> str | None:
    """Where a docs link points, or ``None`` when it cannot be a working link."""
    if not url:
        return None
    if url.startswith(("https://", "http://")):
        return url
    path, _, fragment = url.removeprefix("docs/").partition("#")
    if _doc_file(path) is None:
        return None
    return PREFIX + path + (f"#{fragment}" if fragment else "")


async def serve_doc(request: Request) -> Response:
    """``GET /docs/<path>.md``: one page of the documentation, as UTF-8 plain text."""
    found = _doc_file(str(request.path_params["path"]))
    if found is None:
        return PlainTextResponse("No such documentation page.", status_code=404)
    return FileResponse(found, media_type="text/plain; charset=utf-8")

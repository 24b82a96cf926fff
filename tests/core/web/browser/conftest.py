"""Fixtures of the browser tests live in support.py, next to the helpers the tests use."""

from tests.core.web.browser.support import browser, pytest_collection_modifyitems, ui_server

__all__ = ["browser", "pytest_collection_modifyitems", "ui_server"]

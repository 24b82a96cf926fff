"""The browser fixtures (test_aws_links.py shows AWS deep links on the incident page)."""

from tests.core.web.browser.support import browser, pytest_collection_modifyitems, ui_server

__all__ = ["browser", "pytest_collection_modifyitems", "ui_server"]

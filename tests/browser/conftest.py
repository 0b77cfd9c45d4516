"""Fixtures of the browser tests: headless Chromium (Debian's), driven by Playwright."""

from tests.browser.test_review_page import browser_page  # noqa: F401  (shared by the dashboard test)

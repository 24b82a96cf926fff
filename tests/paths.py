"""Where the checkout's folders are, for tests in any sub-folder of tests/."""

from pathlib import Path

ROOT_DIR = Path(__file__).resolve().parents[1]
TESTS_DIR = ROOT_DIR / "tests"

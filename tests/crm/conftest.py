"""Fixtures of the store's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cti_daemon import logs
from tests.conftest import _CurrentStderr


@pytest.fixture
def cli_logging() -> Iterator[None]:
    """A test that runs the command line lets it configure logging its way; the suite's way comes back
    after it (later tests read their log lines from stderr)."""
    yield
    logs.configure(level="debug", fmt="json", stream=_CurrentStderr())

"""Fixtures of the parity tests: jwst 3.0.0 steps run offline for the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .harness import offline_jwst


@pytest.fixture(scope="session")
def jwst_offline() -> Iterator[None]:
    """Keep every jwst step of the session away from CRDS (see :func:`offline_jwst`)."""
    with offline_jwst():
        yield

"""The fuzz harness, started once for the whole fuzz package, and the hypothesis settings.

Default: a small, derandomized run (reproducible, no example database) that keeps the suite
fast. ``TABLEGRAPH_FUZZ_EXAMPLES=2000`` runs that many examples per operation, randomized;
hypothesis prints the falsifying example either way.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from .harness import FuzzEnv
from .properties import Checker

_BIG = int(os.environ.get("TABLEGRAPH_FUZZ_EXAMPLES", "0"))

FUZZ_SETTINGS = settings(
    max_examples=_BIG or 25,
    derandomize=not _BIG,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="package")
def fuzz_env() -> Iterator[FuzzEnv]:
    env = FuzzEnv()
    env.start()
    try:
        yield env
    finally:
        env.stop()


@pytest.fixture(scope="package")
def checker(fuzz_env: FuzzEnv) -> Checker:
    return Checker(fuzz_env.upstreams, fuzz_env.sim_urls)

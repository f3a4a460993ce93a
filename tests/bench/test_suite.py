"""The benchmark suite through pytest: ``pytest -m benchmark tests/bench`` (deselected by
default: ``addopts`` has ``-m 'not benchmark'``). Figures go to ``bench-results/``."""

from __future__ import annotations

import shutil

import pytest

from tests.bench.runner import main


@pytest.mark.benchmark
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk missing: apt-get install -y wrk")
def test_benchmark_suite() -> None:
    assert main(["--quick"]) == 0

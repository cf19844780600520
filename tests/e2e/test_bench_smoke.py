"""The ack benchmark runs end to end in its quick mode and prints its table (figures are not judged here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # three processes for some fifteen seconds: handed out first
def test_the_ack_benchmark_runs_quickly_and_prints_its_table() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "ack.py"), "--quick"], cwd=ROOT,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["ack", "latency", "app", "n", "p50", "ms", "p99", "ms", "max", "ms", "cpu", "ms/req"]
    assert sum(1 for line in lines if line.startswith(("/atlas-access", "approve click"))) == 6
    assert any(line.startswith("click-to-grant with 100 ms Atlas latency: n=5") for line in lines)
    assert sum(1 for line in lines if "server CPU per request" in line) == 2

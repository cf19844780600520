"""The revocation and memory benchmarks run end to end in their quick modes and print their tables.

Their timing figures are not judged here (this machine is shared); what must hold on any machine is: no
revocation missed or made twice, and the memory bound.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.process.conftest import require_postgres

ROOT = Path(__file__).resolve().parents[2]


def bench(name: str) -> list[str]:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / name), "--quick"], cwd=ROOT,
                            capture_output=True, text=True, timeout=280)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.splitlines()


@pytest.mark.postgres
@pytest.mark.slow
def test_the_revocation_benchmark_runs_quickly_and_misses_and_duplicates_nothing() -> None:
    require_postgres()
    lines = bench("revocation.py")
    assert lines[2].split()[:7] == ["run", "grants", "missed", "dup", "p50", "s", "p99"]
    rows = {line[:25].strip(): line[25:].split() for line in lines[3:7]}
    assert set(rows) == {"baseline: perfect Atlas", "two replicas", "two, random 429s", "one killed at 2 s"}
    for figures in rows.values():
        assert figures[:3] == ["200", "0", "0"]  # grants, missed, duplicates
    assert any("the killed replica held" in line for line in lines)


@pytest.mark.slow  # a `serve` child for some thirty seconds: handed out first
def test_the_memory_benchmark_runs_quickly_within_its_bound() -> None:
    lines = bench("memory.py")
    assert lines[0].split()[:4] == ["serve", "memory", "database", "past"]
    assert "5,000" in lines[2]
    assert lines[-1] == "all targets met"

"""bench/sync.py --quick runs end to end (sandbox over loopback HTTP, the real client) and prints its figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_quick_sync_benchmark_runs_and_prints_the_ratio() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "sync.py"), "--quick"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("ratio: ") for line in lines), result.stdout
    assert "failed calls: 0" in lines
    assert any(line.startswith("calls: 204 made, minimum 204") for line in lines), result.stdout

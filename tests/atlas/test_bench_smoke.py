"""bench/sync.py --quick --store runs end to end (sandbox over loopback HTTP, the real client, SQLite) and prints its
figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_quick_sync_benchmark_runs_at_the_minimum_of_calls() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "sync.py"), "--quick", "--store"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "failed calls: 0" in lines
    assert any(line.startswith("stored: the inventory written to SQLite") for line in lines), result.stdout
    # 1 getOrg + 3 project pages + 3 cluster-listing pages (1,500 visible projects) + 2 user pages + 3 fallbacks
    assert any(line.startswith("calls: 12 made, minimum 12 ") for line in lines), result.stdout
    assert any(line.startswith("rate-limit bound: 12 calls / 100 per s") for line in lines), result.stdout
    assert any(line.startswith("peak RSS of the sync process: ") for line in lines), result.stdout
    assert any(line.endswith("users (complete)") for line in lines), result.stdout

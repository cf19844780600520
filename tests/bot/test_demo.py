"""`atlas-access demo` tells the whole story and exits 0: the README's first command works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_runs_the_whole_story(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in ("DATABASE_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL", "ATLAS_BASE_URL"):
        env.pop(name, None)
    result = subprocess.run([sys.executable, "-m", "bot.cli", "demo"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Approvers: <!subteam^" in out
    assert "Atlas now shows: ['GROUP_DATA_ACCESS_READ_ONLY', 'GROUP_READ_ONLY']" in out
    assert "The grant is revoked; Atlas now shows: ['GROUP_READ_ONLY']" in out
    assert "system revoked" in out
    assert "Approved at once, because she is on call" in out and "auto auto_approved_on_call" in out
    assert "30 minutes later the grant is revoked" in out
    # the collection-scoped read with an expiring network entry: made, shown once, and all of it gone at the end
    assert 'A private one is refused there: "10.1.2.3/32 is not a public address' in out
    assert "`34.120.5.7/32` on the IP access list until the access ends" in out
    assert "(FIND on orders.payments); database user ann-g3-" in out
    assert 'IP access-list entry 34.120.5.7/32 "atlas-access request #3 (ann@example.com)", deleted by Atlas at' in out
    assert "Ann's DM (no password in it): :key: You now have `read@orders.payments`" in out
    assert "*Password:* `********`" in out and "*Connection string:* `mongodb+srv://ann-g3-" in out
    assert 'Pressed again: "These credentials cannot be shown: they are shown once only' in out
    assert "The grant is revoked; Atlas now has custom roles [], database users [], IP access list []." in out
    assert "U0ANN credentials_revealed" in out
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir()), "the demo leaves nothing behind in the working folder"

"""`atlas-access sandbox`: the Atlas simulator on a loopback port, seeded with a small organization to try things on."""

from __future__ import annotations

import os
import stat
import tempfile
import threading
from pathlib import Path

from atlas.sandbox import Sandbox, SandboxServer


def seed_demo(sb: Sandbox) -> dict[str, str]:
    """An organization with a few projects (one owned by @payments-oncall), clusters, users and an API key."""
    org = sb.add_org(name="Acme Corp")
    payments = sb.add_project(org_id=org, name="payments", tags={"owner": "payments-oncall", "env": "prod"})
    search = sb.add_project(org_id=org, name="search", tags={"env": "prod"})
    sb.add_project(org_id=org, name="sandbox-playground", tags={"env": "dev"})
    for project, name in ((payments, "payments-main"), (payments, "payments-analytics"), (search, "search-main")):
        sb.add_cluster(group_id=project, name=name, state="IDLE")
    sb.add_user(org_id=org, username="ann@example.com", org_roles=["ORG_MEMBER"],
                project_roles={payments: ["GROUP_READ_ONLY"], search: ["GROUP_READ_ONLY"]})
    sb.add_user(org_id=org, username="bob@example.com", org_roles=["ORG_OWNER"])
    public, private = sb.add_api_key(org_id=org, roles=["ORG_OWNER"], desc="atlas-access")
    return {"organization_id": org, "payments": payments, "search": search, "public_key": public,
            "private_key": private}


def run_sandbox(*, host: str, port: int) -> int:
    sandbox = Sandbox()
    seeded = seed_demo(sandbox)
    server = SandboxServer(sandbox, host=host, port=port)
    server.start()
    env_file = Path(tempfile.gettempdir()) / "atlas-sandbox.env"
    env_file.write_text(
        f"ATLAS_BASE_URL={server.url}\nATLAS_PUBLIC_KEY={seeded['public_key']}\n"
        f"ATLAS_PRIVATE_KEY={seeded['private_key']}\n", encoding="utf-8")
    os.chmod(env_file, stat.S_IRUSR | stat.S_IWUSR)
    print(f"Atlas sandbox at {server.url} (organization {seeded['organization_id']}, 3 projects, 2 users).")
    print(f"Its API key is in {env_file} (mode 600): `set -a; . {env_file}; set +a` before `atlas-access sync`.")
    print("Ctrl-C stops it.")
    try:
        threading.Event().wait()
    finally:
        server.stop()
    return 0

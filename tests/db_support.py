"""A throwaway PostgreSQL cluster for the subscriber-database tests: Debian's server binaries, a temp dir.

initdb refuses to run as root, so as root the cluster runs as `nobody`. When no server binaries are
installed the tests that need it are skipped with the reason (scripts/test installs `postgresql`).
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "nobody", "--", *command]


@pytest.fixture(scope="session")
def postgres_url():
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries not found (Debian package `postgresql`): PostgreSQL tests skipped")
    data = tempfile.mkdtemp(prefix="statusgen-pg-")
    if os.geteuid() == 0:
        shutil.chown(data, "nobody", "nogroup")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = os.path.join(data, "server.log")
    try:
        subprocess.run(_as_server_user([initdb, "-D", os.path.join(data, "db"), "-U", "statusgen", "-A", "trust",
                                        "-E", "UTF8", "--no-locale"]), check=True, capture_output=True, timeout=120)
        subprocess.run(_as_server_user([pg_ctl, "-D", os.path.join(data, "db"), "-l", log, "-w", "-t", "60", "-o",
                                        f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off", "start"]),
                       check=True, capture_output=True, timeout=120)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        shutil.rmtree(data, ignore_errors=True)
        pytest.skip(f"PostgreSQL could not start: {exc} {detail.decode(errors='replace')[-300:]}")
    try:
        yield f"postgresql://statusgen@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_server_user([pg_ctl, "-D", os.path.join(data, "db"), "-m", "immediate", "stop"]),
                       capture_output=True, timeout=60)
        time.sleep(0.1)
        shutil.rmtree(data, ignore_errors=True)

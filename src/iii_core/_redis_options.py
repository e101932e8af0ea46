"""The Redis store's command-line options, shared by ``iii-core call`` and ``iii-core serve``.

Rules: argparse only, no Redis import (``call`` and ``serve`` need the ``redis`` extra only
when ``--redis`` or ``--redis-cluster`` is given). What the options mean for a deployment:
docs/deployment.md.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_redis_options", "redis_store_options"]


def add_redis_options(parser: argparse.ArgumentParser, where: Any) -> None:
    """``--redis-cluster`` in the mutually exclusive group ``where`` (beside ``--redis``), and
    ``--no-engine-channel`` and ``--replica-acks`` on ``parser``."""
    where.add_argument(
        "--redis-cluster",
        metavar="URL",
        help="use the Redis Cluster that the node at URL is part of (Redis 7 or later)",
    )
    parser.add_argument(
        "--no-engine-channel",
        action="store_true",
        help="on Redis: neither publish nor read the iii engine's stream::events channel",
    )
    parser.add_argument(
        "--replica-acks",
        type=int,
        default=0,
        metavar="N",
        help="on Redis: every write waits until N replicas have it (default 0: no wait)",
    )


def redis_store_options(args: argparse.Namespace) -> dict[str, Any]:
    """The Redis store's keyword arguments from the options of :func:`add_redis_options`."""
    return {"engine_channel": not args.no_engine_channel, "replica_acks": args.replica_acks}

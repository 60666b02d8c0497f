"""The cluster fan-out: an answer is every worker's part, ours computed here, the others' asked.

Each worker holds the states of the partitions it owns; the API and the wallboard sum the parts
(``kpi_query.merge_parts``) so that any worker answers for the whole cluster.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from stream_app.web.host import WorkerHost
from stream_app.web.kpi_query import local_part

PEER_TIMEOUT_S = 5.0
"""A peer that does not answer within this makes the request fail (503), never a partial sum."""


async def gather_parts(
    host: WorkerHost, query: dict[str, str], now_ms: int
) -> list[dict[str, Any]]:
    """Every worker's part of the answer: ours computed here, the others' over HTTP."""
    own = str(host.conf.canonical_url).rstrip("/")
    peers = {str(url).rstrip("/") for url in host.router.tables_metadata()} - {own}
    owned = host.owns(host.customer_topic_name)
    parts = [local_part(host.engine, query, now_ms, owned)]
    if not peers:
        return parts
    params = {**query, "local": "1", "at": str(now_ms)}
    timeout = aiohttp.ClientTimeout(total=PEER_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def fetch(url: str) -> dict[str, Any]:
            async with session.get(f"{url}/api/kpis", params=params) as response:
                response.raise_for_status()
                part: dict[str, Any] = await response.json()
                return part

        parts += await asyncio.gather(*(fetch(url) for url in sorted(peers)))
    return parts

"""The wallboard's HTTP side: the page, its static files, the board as JSON and as a live stream.

``GET /wallboard?lang=ro&rotate=15&cols=3&rows=2&queues=billing,support`` is the page a TV opens;
``/api/wallboard`` the board once; ``/api/wallboard/stream`` the same board pushed as
Server-Sent Events whenever it changes (docs/wallboard.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

import faust
import orjson
from aiohttp import web as aioweb

from stream_app.wallboard.broadcast import Board, Broadcaster
from stream_app.wallboard.i18n import LABELS, LANGUAGES, language
from stream_app.wallboard.model import build_board
from stream_app.web.cluster import gather_parts
from stream_app.web.host import WorkerHost
from stream_app.web.kpi_query import merge_parts

STATIC_TYPES = {".js": "text/javascript", ".css": "text/css"}
KEEPALIVE_S = 15.0


def _static(name: str) -> bytes:
    return resources.files("stream_app.wallboard").joinpath("static", name).read_bytes()


def _int_param(query: Any, name: str, default: int, low: int, high: int) -> int:
    try:
        return min(high, max(low, int(query.get(name, default))))
    except ValueError:
        return default


def render_page(query: Any) -> str:
    """The page with its language, labels and layout baked in (no second request for them)."""
    lang = language(query.get("lang"))
    labels = LABELS[lang]
    queues = [q for q in str(query.get("queues", "")).split(",") if q]
    config = {
        "lang": lang,
        "locale": LANGUAGES[lang],
        "labels": labels,
        "rotate_s": _int_param(query, "rotate", 15, 0, 3600),
        "cols": _int_param(query, "cols", 3, 1, 6),
        "rows": _int_param(query, "rows", 2, 1, 4),
        "queues": queues,
        "stream_url": "/api/wallboard/stream",
    }
    # "</" cannot end the script element early once escaped this way.
    config_json = orjson.dumps(config).decode().replace("</", "<\\/")
    page = _static("wallboard.html").decode()
    for key, value in (
        ("lang", lang),
        ("title", labels["title"]),
        ("offline", labels["offline"]),
        ("config", config_json),
    ):
        page = page.replace("{{" + key + "}}", value)
    return page


def board_builder(host: WorkerHost) -> Callable[[], Awaitable[Board]]:
    """The board of the whole cluster now: today's and the last 15 minutes' KPIs."""

    async def build() -> Board:
        now_ms = host.engine.reference_ms()
        today_q = {"window": "today"}
        recent_q = {"window": "15m"}
        today_parts, recent_parts = await asyncio.gather(
            gather_parts(host, today_q, now_ms), gather_parts(host, recent_q, now_ms)
        )
        book = host.engine.book
        today = merge_parts(today_parts, today_q, book, now_ms)
        recent = merge_parts(recent_parts, recent_q, book, now_ms)
        return build_board(today, recent, book, now_ms)

    return build


def register_wallboard(host: WorkerHost) -> Broadcaster:
    """Attach the wallboard's pages to the worker's web server; returns the broadcaster."""
    build = board_builder(host)

    def version() -> int:
        stats = host.engine.stats
        return sum(stats.applied.values()) + sum(stats.duplicate.values())

    broadcaster = Broadcaster(build, version)

    async def close_streams(_: aioweb.Application) -> None:
        await broadcaster.stop()

    host.web.web_app.on_shutdown.append(close_streams)
    _register_page(host)
    _register_board(host, build, broadcaster)
    return broadcaster


def _register_page(host: WorkerHost) -> None:
    @host.page("/wallboard")
    class WallboardPage(faust.web.View):
        """The page a TV opens (language and layout from the query)."""

        async def get(self, request: Any) -> Any:
            return self.html(render_page(request.query))

    @host.page("/")
    class Root(faust.web.View):
        """The wallboard is what a person opening the worker's address wants to see."""

        async def get(self, request: Any) -> Any:
            query = f"?{request.query_string}" if request.query_string else ""
            raise aioweb.HTTPFound("/wallboard" + query)

    @host.page("/wallboard/static/{name}")
    class Static(faust.web.View):
        """The page's script and style sheet (packaged with the code)."""

        async def get(self, request: Any, name: str) -> Any:
            suffix = name[name.rfind(".") :]
            if suffix not in STATIC_TYPES or "/" in name:
                return self.json({"error": f"no such file: {name}"}, status=404)
            try:
                body = _static(name)
            except FileNotFoundError:
                return self.json({"error": f"no such file: {name}"}, status=404)
            return self.bytes(body, content_type=STATIC_TYPES[suffix])


def _register_board(
    host: WorkerHost, build: Callable[[], Awaitable[Board]], broadcaster: Broadcaster
) -> None:
    @host.page("/api/wallboard")
    class BoardView(faust.web.View):
        """The board once, as JSON (for scripts, and to compare with the page)."""

        async def get(self, request: Any) -> Any:
            return self.json(await build())

    @host.page("/api/wallboard/stream")
    class BoardStream(faust.web.View):
        """Server-Sent Events: one ``data:`` line with the board whenever it changes."""

        async def get(self, request: Any) -> Any:
            return await stream_board(request, broadcaster)


async def stream_board(request: Any, broadcaster: Broadcaster) -> aioweb.StreamResponse:
    """Push the board to one viewer until it goes away or the worker stops."""
    response = aioweb.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    queue = broadcaster.subscribe()
    try:
        await response.write(b"retry: 2000\n\n")
        while True:
            try:
                data = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_S)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if not data:  # the worker is stopping
                break
            await response.write(b"data: " + data + b"\n\n")
        await response.write_eof()
    except ConnectionResetError:
        pass  # the viewer went away
    finally:
        broadcaster.unsubscribe(queue)
    return response

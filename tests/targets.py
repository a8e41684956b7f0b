"""Local targets on 127.0.0.1 for the check-type integration tests: well-behaved ones
and every hostile kind a monitor must survive (hangs, resets, garbage, huge bodies,
redirect loops, bad certificates, silent streams, tasks that never finish)."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path

from aiohttp import web

from statuscore.testing import HOST, Handler, serve_app, serve_tcp

SEQUENCES = web.AppKey("sequences", dict)
TASKS = web.AppKey("tasks", dict)
HITS = web.AppKey("hits", dict)


def make_target_app() -> web.Application:
    app = web.Application()
    app[SEQUENCES] = {}
    app[TASKS] = {}
    app[HITS] = {}
    ids = itertools.count(1)

    def hit(request: web.Request) -> None:
        app[HITS][request.path] = app[HITS].get(request.path, 0) + 1

    async def ok(request: web.Request) -> web.Response:
        hit(request)
        return web.json_response({"he": ["בראשית"], "state": "ok", "items": [{"id": 1}]})

    async def status(request: web.Request) -> web.Response:
        hit(request)
        return web.Response(status=int(request.match_info["code"]), text="status page")

    async def sequence(request: web.Request) -> web.Response:
        """Answers the codes a test queued (e.g. [503, 503, 200]), then the last forever."""
        hit(request)
        codes = app[SEQUENCES].setdefault(request.match_info["name"], [200])
        code = codes.pop(0) if len(codes) > 1 else codes[0]
        return web.json_response({"code": code}, status=code)

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query.get("delay", "0.3")))
        return web.json_response({"slow": True})

    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(3600)
        return web.Response()

    async def hang_body(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "100000"})
        await response.prepare(request)
        await response.write(b"x" * 1000)
        await asyncio.sleep(3600)
        return response

    async def huge(request: web.Request) -> web.StreamResponse:
        """An endless body: a check that buffered it whole would never finish."""
        response = web.StreamResponse()
        await response.prepare(request)
        chunk = b"y" * 65536
        for _ in range(100_000):  # 6.5 GB at most; the client hangs up long before
            await response.write(chunk)
        return response

    async def redirect(request: web.Request) -> web.Response:
        target = {"a": "/loop/b", "b": "/loop/a"}[request.match_info["step"]]
        raise web.HTTPFound(target)

    async def chain(request: web.Request) -> web.Response:
        remaining = int(request.match_info["n"])
        if remaining == 0:
            return web.json_response({"arrived": True})
        raise web.HTTPFound(f"/chain/{remaining - 1}")

    async def sse_ok(request: web.Request) -> web.StreamResponse:
        response = await _sse_start(request)
        await response.write(b": welcome\n\nevent: endpoint\ndata: /messages/?session_id=1\n\n")
        await asyncio.sleep(3600)
        return response

    async def sse_silent(request: web.Request) -> web.StreamResponse:
        response = await _sse_start(request)
        await asyncio.sleep(3600)
        return response

    async def sse_pings(request: web.Request) -> web.StreamResponse:
        """Keep-alive comments forever and never an event."""
        response = await _sse_start(request)
        for _ in range(1_000_000):
            await response.write(b": ping " + b"." * 1000 + b"\n\n")
        return response

    async def sse_wrong_type(request: web.Request) -> web.Response:
        return web.Response(text="<html>not a stream</html>", content_type="text/html")

    async def submit(request: web.Request) -> web.Response:
        kind = request.match_info["kind"].removesuffix(".json")
        if kind == "noid":
            return web.json_response({"status": "queued"}, status=202)
        if kind == "error":
            return web.json_response({"error": "overloaded"}, status=503)
        task_id = f"{kind}-{next(ids)}"
        app[TASKS][task_id] = 0
        return web.json_response({"task_id": task_id}, status=202)

    async def task(request: web.Request) -> web.Response:
        task_id = request.match_info["task_id"]
        polls = app[TASKS].get(task_id, 0) + 1
        app[TASKS][task_id] = polls
        kind = task_id.split("-")[0]
        if kind == "ok":
            return web.json_response({"state": "SUCCESS" if polls >= 2 else "STARTED"})
        if kind == "fail":
            return web.json_response({"state": "FAILURE"})
        return web.json_response({"state": "PENDING"})

    async def bomb(request: web.Request) -> web.Response:
        """About 1 MB that decodes to 1 GiB of zeros (`/bomb/gzip`, `deflate`, `br`), with
        the compressed Content-Length; `?status=202&type=text/event-stream` for the
        other check types."""
        encoding = request.match_info["encoding"]
        return web.Response(
            body=decompression_bombs()[encoding],
            status=int(request.query.get("status", 200)),
            headers={"Content-Encoding": encoding, "Content-Type": request.query.get("type", "application/json")},
        )

    app.router.add_get("/ok", ok)
    app.router.add_route("*", "/bomb/{encoding}", bomb)
    app.router.add_route("*", "/status/{code}", status)
    app.router.add_get("/sequence/{name}", sequence)
    app.router.add_get("/slow", slow)
    app.router.add_get("/hang", hang)
    app.router.add_get("/hang-body", hang_body)
    app.router.add_get("/huge", huge)
    app.router.add_get("/loop/{step}", redirect)
    app.router.add_get("/chain/{n}", chain)
    app.router.add_get("/sse/ok", sse_ok)
    app.router.add_get("/sse/silent", sse_silent)
    app.router.add_get("/sse/pings", sse_pings)
    app.router.add_get("/sse/wrong-type", sse_wrong_type)
    app.router.add_post("/submit/{kind}", submit)
    app.router.add_get("/task/{task_id}", task)
    return app


BOMB_BYTES = 1 << 30


@lru_cache(maxsize=1)
def decompression_bombs() -> dict[str, bytes]:
    """1 GiB of zeros as gzip, deflate (zlib) and br bodies, made once per test run: one
    raw deflate stream (about 3 s) wrapped two ways, and a brotli stream."""
    import brotli

    zeros = bytes(1 << 20)
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [raw.compress(zeros) for _ in range(BOMB_BYTES // len(zeros))]
    deflated = b"".join(parts) + raw.flush()
    crc, adler = 0, 1
    for _ in range(BOMB_BYTES // len(zeros)):
        crc, adler = zlib.crc32(zeros, crc), zlib.adler32(zeros, adler)
    gzip = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + deflated + struct.pack("<II", crc, BOMB_BYTES & 0xFFFFFFFF)
    zlib_body = b"\x78\xda" + deflated + struct.pack(">I", adler)
    compressor = brotli.Compressor(quality=5)
    br = b"".join(compressor.process(zeros) for _ in range(BOMB_BYTES // len(zeros))) + compressor.finish()
    return {"gzip": gzip, "deflate": zlib_body, "br": br}


def hello_app() -> web.Application:
    """The smallest target: GET / answers 200 "hi" (for TLS tests)."""

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hi")

    app = web.Application()
    app.router.add_get("/", hello)
    return app


async def _sse_start(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    return response


@asynccontextmanager
async def raw_tcp(handler: Handler) -> AsyncIterator[str]:
    """A TCP server that speaks whatever `handler` writes (broken HTTP); yields its URL."""
    async with serve_tcp(handler) as port:
        yield f"http://{HOST}:{port}"


async def reset_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read the request, then abort with an RST (SO_LINGER 0)."""
    await reader.readuntil(b"\r\n\r\n")
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"\x00\xff\xfeSMTP ready? \x1b[31m not http at all\r\n\r\n")
    await writer.drain()
    writer.close()


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(3600)


def refused_url() -> str:
    """A URL on a port nothing listens on."""
    return f"http://{HOST}:{free_port()}/"


class SlackShapedServer:
    """A local stand-in for Slack's incoming webhook: records every message and can
    be told to answer 429 (with Retry-After) or 500 first, as Slack does under load."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.failures: list[tuple[int, dict[str, str]]] = []
        self.requests = 0
        self.app = web.Application()
        self.app.router.add_post("/services/T000/B000/XXXX", self._post)

    def fail_next(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.failures.append((status, headers or {}))

    async def _post(self, request: web.Request) -> web.Response:
        self.requests += 1
        payload = await request.json()
        if self.failures:
            status, headers = self.failures.pop(0)
            return web.Response(status=status, text="rate_limited" if status == 429 else "oops", headers=headers)
        self.messages.append(payload)
        return web.Response(text="ok")

    @asynccontextmanager
    async def running(self, host: str = "127.0.0.1") -> AsyncIterator[str]:
        async with serve_app(self.app, host=host) as base:
            yield f"{base}/services/T000/B000/XXXX"


def free_port() -> int:
    """A port nothing listens on right now, for a server started in another process."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class KeyedReceiver:
    """A local webhook receiver that records each alert with its `Idempotency-Key` and
    when it came, so a kill -9 test can tell the one repeat a kill between our answer and
    the runner's commit explains (same key, a kill just after the first arrival) from any
    other (a different key for the same news: two runners decided one transition)."""

    EXPLAINS_WITHIN = 5.0  # seconds from an arrival to a kill that can explain its repeat

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, str, str, str]] = []  # (monotonic, key, event, monitor)
        self.notes: dict[str, str] = {}  # key -> the note an alert carried ("sent while ...")
        self.app = web.Application()
        self.app.router.add_post("/hook", self._post)

    async def _post(self, request: web.Request) -> web.Response:
        body = await request.json()
        key = request.headers.get("Idempotency-Key", "")
        singles = body["alerts"] if body.get("event") == "down_group" else [body]
        if body.get("note"):
            self.notes[key] = body["note"]
        now = asyncio.get_running_loop().time()
        for single in singles:
            self.arrivals.append((now, key, single["event"], single["monitor"]))
        return web.Response(status=204)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        async with serve_app(self.app) as base:
            yield f"{base}/hook"

    def news(self) -> list[tuple[str, str]]:
        """(event, monitor) of every distinct alert, in order of first arrival."""
        seen: dict[tuple[str, str, str], tuple[str, str]] = {}
        for _, key, event, monitor in self.arrivals:
            seen.setdefault((key, event, monitor), (event, monitor))
        return list(seen.values())

    def unexplained_repeats(self, kills: list[float]) -> list[str]:
        """Repeats of one key that no kill explains: none within EXPLAINS_WITHIN seconds
        after its first arrival (`kills`: loop times of each kill -9). One piece of news
        under two keys shows in `news()` twice."""
        problems = []
        first: dict[tuple[str, str, str], float] = {}
        for at, key, event, monitor in self.arrivals:
            before = first.setdefault((key, event, monitor), at)
            if before != at and not any(before <= kill <= min(at, before + self.EXPLAINS_WITHIN) for kill in kills):
                problems.append(f"{event} {monitor} repeated {at - before:.1f} s later with no kill in between")
        return problems


VENDOR_DATA = Path(__file__).parent / "data" / "statuspage"


class VendorPages:
    """Vendors' Statuspage v2 summary.json on 127.0.0.1, as recorded in
    tests/data/statuspage (github, cloudflare, stripe): /<vendor>/api/v2/summary.json.
    `set_status` changes one component (or the page's indicator) mid-test; /broken/<kind>
    is every way a vendor's answer can go wrong."""

    def __init__(self) -> None:
        self.summaries = {
            path.name.removesuffix("-summary.json"): json.loads(path.read_text())
            for path in VENDOR_DATA.glob("*-summary.json")
        }
        self.requests: list[str] = []
        self.app = web.Application()
        self.app.router.add_get("/{vendor}/api/v2/summary.json", self._summary)
        self.app.router.add_get("/broken/{kind}", self._broken)

    def set_status(self, vendor: str, component: str, status: str) -> None:
        summary = self.summaries[vendor]
        if component == "page":
            summary["status"]["indicator"] = status
            return
        for found in summary["components"]:
            if found["name"] == component:
                found["status"] = status

    async def _summary(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        summary = self.summaries.get(request.match_info["vendor"])
        if summary is None:
            return web.json_response({"error": "no such page"}, status=404)
        return web.json_response(summary)

    async def _broken(self, request: web.Request) -> web.StreamResponse:
        kind = request.match_info["kind"].removesuffix(".json")
        if kind == "html":
            return web.Response(text="<html><body>Maintenance</body></html>", content_type="text/html")
        if kind == "error":
            return web.Response(status=503, text="upstream connect error")
        if kind == "shape":  # JSON, but not Statuspage's
            return web.json_response({"components": "none", "status": ["minor"], "page": 7})
        if kind == "control":  # a vendor's strings with line breaks and escapes in them
            name = "API\r\nX-Injected: 1\x1b[31m"
            return web.json_response(
                {
                    "page": {"name": "Evil\nCorp"},
                    "status": {"indicator": "major", "description": "Down\r\nnow"},
                    "components": [{"id": "a", "name": name, "status": "major_outage", "group": False}],
                    "incidents": [],
                }
            )
        # "endless": a JSON array that never ends
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        await response.write(b'{"components": [')
        for _ in range(100_000):
            await response.write(b'{"id": "x", "name": "filler", "status": "operational"},' * 64)
        return response

    @asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        async with serve_app(self.app) as base:
            yield base

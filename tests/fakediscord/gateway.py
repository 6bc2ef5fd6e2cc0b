"""The gateway websocket, speaking what discord.py 2.7 expects on the wire.

discord.py connects to ``DEFAULT_GATEWAY`` with ``?v=10&encoding=json&compress=zlib-stream``
(``zstd-stream`` when a zstd module is importable) and feeds every binary frame into one
``zlib.decompressobj``, decoding only when a frame ends in ``00 00 ff ff``. So each
connection owns one compressor and every payload is flushed with ``Z_SYNC_FLUSH``; frames
are sent under a lock so the compressed stream stays in order.

A *session* (what IDENTIFY creates and RESUME reattaches to) outlives its connection and
buffers dispatches, so tests can force a reconnect and check nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .payloads import guild_payload, member_payload, ready_payload

if TYPE_CHECKING:
    from .server import FakeDiscord

# Opcodes
DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE_UPDATE, VOICE_STATE = 0, 1, 2, 3, 4
RESUME, RECONNECT, REQUEST_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 6, 7, 8, 9, 10, 11

# Intents the emulator filters on.
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15


class _Encoder:
    """Turns payloads into frames for one connection's ``compress`` choice."""

    def __init__(self, compress: str | None) -> None:
        self.kind = compress or None
        self._zlib = zlib.compressobj() if compress == "zlib-stream" else None
        self._zstd: Any = None
        if compress == "zstd-stream":
            self._zstd = _zstd_stream()
        elif compress not in (None, "", "zlib-stream"):
            raise ValueError(f"unsupported compress={compress!r}")

    def encode(self, payload: dict[str, Any]) -> str | bytes:
        text = json.dumps(payload, separators=(",", ":"))
        if self._zlib is not None:
            return self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
        if self._zstd is not None:
            return self._zstd(text.encode())
        return text


def _zstd_stream():
    """A per-message block-flushing zstd stream, from whichever module discord.py would use."""
    try:
        import zstandard  # type: ignore[import-not-found]

        cobj = zstandard.ZstdCompressor().compressobj()
        return lambda data: cobj.compress(data) + cobj.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
    except ImportError:
        from compression import zstd  # type: ignore[import-not-found]

        comp = zstd.ZstdCompressor()
        return lambda data: comp.compress(data, mode=zstd.ZstdCompressor.FLUSH_BLOCK)


class Connection:
    def __init__(self, ws: web.WebSocketResponse, encoder: _Encoder) -> None:
        self.ws = ws
        self.encoder = encoder
        self.lock = asyncio.Lock()
        self.session: Session | None = None

    async def send(self, payload: dict[str, Any]) -> None:
        async with self.lock:
            if self.ws.closed:
                return
            frame = self.encoder.encode(payload)
            if isinstance(frame, bytes):
                await self.ws.send_bytes(frame)
            else:
                await self.ws.send_str(frame)


@dataclass
class Session:
    id: str
    token: str
    intents: int
    shard: list[int] | None
    seq: int = 0
    #: Every dispatch of the session as sent (``op`` 0 payloads), for RESUME replay.
    events: list[dict[str, Any]] = field(default_factory=list)
    conn: Connection | None = None

    def serves(self, guild_id: int | None) -> bool:
        """Discord's sharding formula: a shard [id, count] gets the events of the guilds with
        (guild_id >> 22) % count == id; events of no guild (DMs) go to shard 0."""
        if self.shard is None:
            return True
        shard_id, count = int(self.shard[0]), int(self.shard[1])
        return (0 if guild_id is None else (guild_id >> 22) % count) == shard_id


def event_guild(event: str, data: dict[str, Any]) -> int | None:
    """The guild a dispatch belongs to (None: no guild)."""
    found = data.get("guild_id")
    if found is None and event.startswith("GUILD_") and "id" in data:
        found = data["id"]
    return int(found) if found is not None else None


class Gateway:
    """All gateway state of one emulator; see ``FakeDiscord.gateway``."""

    def __init__(self, world: FakeDiscord, heartbeat_interval_ms: int = 41250) -> None:
        self.world = world
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.sessions: dict[str, Session] = {}
        self.connections: set[Connection] = set()
        #: IDENTIFY ``d`` payloads received, in order.
        self.identifies: list[dict[str, Any]] = []
        #: RESUME ``d`` payloads received, in order.
        self.resumes: list[dict[str, Any]] = []
        self.presence_updates: list[dict[str, Any]] = []
        self.heartbeats = 0
        #: Query strings clients connected with (``v``, ``encoding``, ``compress``).
        self.connect_params: list[dict[str, str]] = []
        self._identified = asyncio.Event()

    @property
    def url(self) -> str:
        return self.world.base_url.replace("http://", "ws://") + "/gateway"

    def live_sessions(self) -> list[Session]:
        return [s for s in self.sessions.values() if s.conn is not None]

    async def wait_identified(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Until some client has identified and received its guilds."""
        try:
            await asyncio.wait_for(self._identified.wait(), timeout)
        except TimeoutError:
            raise TimeoutError("no bot identified on the fake gateway") from None

    # -- websocket handler --------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        params = dict(request.query)
        self.connect_params.append(params)
        try:
            encoder = _Encoder(params.get("compress"))
        except ValueError:
            await ws.close(code=4000, message=b"Unsupported compression")
            return ws
        if params.get("encoding", "json") != "json":
            await ws.close(code=4002, message=b"Only json encoding is emulated")
            return ws
        if params.get("v") not in ("9", "10"):
            await ws.close(code=4012, message=b"Invalid API version")
            return ws
        conn = Connection(ws, encoder)
        self.connections.add(conn)
        try:
            hello = {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["fake"]}
            await conn.send({"op": HELLO, "d": hello, "s": None, "t": None})
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    await ws.close(code=4002, message=b"Decode error")
                    break
                await self._on_payload(conn, json.loads(msg.data))
        finally:
            self.connections.discard(conn)
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
                if ws.close_code in (1000, 1001):  # a clean close ends the session, as on Discord
                    self.sessions.pop(session.id, None)
                if not self.live_sessions():
                    self._identified.clear()
        return ws

    async def _on_payload(self, conn: Connection, payload: dict[str, Any]) -> None:
        op, d = payload.get("op"), payload.get("d")
        if op == HEARTBEAT:
            self.heartbeats += 1
            await conn.send({"op": HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == IDENTIFY:
            await self._identify(conn, d)
        elif op == RESUME:
            await self._resume(conn, d)
        elif conn.session is None:
            await conn.ws.close(code=4003, message=b"Not authenticated.")
        elif op == PRESENCE_UPDATE:
            self.presence_updates.append(d)
        elif op == REQUEST_MEMBERS:
            await self._members_chunk(conn.session, d)
        elif op == VOICE_STATE:
            pass
        else:
            await conn.ws.close(code=4001, message=b"Unknown opcode.")

    def _token_ok(self, token: str | None) -> bool:
        token = (token or "").removeprefix("Bot ")
        return token == self.world.token

    async def _identify(self, conn: Connection, d: dict[str, Any]) -> None:
        if conn.session is not None:
            await conn.ws.close(code=4005, message=b"Already authenticated.")
            return
        self.identifies.append(d)
        if not self._token_ok(d.get("token")):
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        session = Session(
            id=secrets.token_hex(16),
            token=d["token"],
            intents=int(d.get("intents", 0)),
            shard=d.get("shard"),
        )
        self.sessions[session.id] = session
        session.conn = conn
        conn.session = session
        ready = ready_payload(
            self.world, session_id=session.id, resume_url=self.url, shard=session.shard
        )
        await self._dispatch_to(session, "READY", ready)
        for guild in self.world.guilds.values():
            if not session.serves(guild.id):
                continue
            if guild.available:
                data = guild_payload(self.world, guild, gateway=True)
            else:
                data = {"id": str(guild.id), "unavailable": True}
            await self._dispatch_to(session, "GUILD_CREATE", data)
        self._identified.set()

    async def _resume(self, conn: Connection, d: dict[str, Any]) -> None:
        self.resumes.append(d)
        session = self.sessions.get(d.get("session_id", ""))
        if session is None or not self._token_ok(d.get("token")):
            await conn.send({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        session.conn = conn
        conn.session = session
        last = int(d.get("seq") or 0)
        for event in session.events:
            if event["s"] > last:
                await conn.send(event)
        await self._dispatch_to(session, "RESUMED", {"_trace": ["fake"]})
        self._identified.set()

    async def _members_chunk(self, session: Session, d: dict[str, Any]) -> None:
        guild = self.world.guilds.get(int(d["guild_id"]))
        if guild is None:
            return
        members = list(guild.members.values())
        if d.get("user_ids"):
            wanted = {int(u) for u in d["user_ids"]}
            members = [m for m in members if m.user_id in wanted]
        if d.get("query"):
            q = d["query"].lower()
            members = [
                m for m in members if self.world.users[m.user_id].username.lower().startswith(q)
            ]
        if d.get("limit"):
            members = members[: int(d["limit"])]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": [member_payload(self.world, guild, m) for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if d.get("nonce"):
            chunk["nonce"] = d["nonce"]
        await self._dispatch_to(session, "GUILD_MEMBERS_CHUNK", chunk)

    # -- sending ------------------------------------------------------------------------------

    async def _dispatch_to(self, session: Session, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        payload = {"op": DISPATCH, "t": event, "s": session.seq, "d": data}
        session.events.append(payload)
        if session.conn is not None:
            await session.conn.send(payload)

    async def dispatch(
        self, event: str, data: dict[str, Any], *, intent: int = 0, content_gated: bool = False
    ) -> int:
        """Send a dispatch to every identified session; returns how many got it.

        ``intent``: only sessions that identified with it receive the event. ``content_gated``:
        sessions without MESSAGE_CONTENT get the message with its content stripped, unless it
        mentions the bot, as Discord does for other users' messages.
        """
        sent = 0
        guild_id = event_guild(event, data)
        for session in list(self.sessions.values()):
            if intent and not session.intents & intent:
                continue
            if not session.serves(guild_id):
                continue
            payload = data
            if content_gated and not session.intents & MESSAGE_CONTENT:
                if f"<@{self.world.bot_user.id}>" not in data.get("content", ""):
                    payload = dict(data, content="", embeds=[], attachments=[], components=[])
            await self._dispatch_to(session, event, payload)
            sent += 1
        return sent

    async def reconnect(self, *, resumable: bool = True) -> None:
        """Ask live clients to reconnect: op 7 (they RESUME), or op 9 false (re-IDENTIFY)."""
        for session in self.live_sessions():
            assert session.conn is not None
            if resumable:
                await session.conn.send({"op": RECONNECT, "d": None, "s": None, "t": None})
            else:
                self.sessions.pop(session.id, None)
                await session.conn.send({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
        self._identified.clear()

    async def close_all(self, code: int = 1001) -> None:
        for conn in list(self.connections):
            with contextlib.suppress(Exception):
                await conn.ws.close(code=code, message=b"emulator shutting down")

"""Serving safely: the Host header check (DNS rebinding), a cap on request bodies, per-client rate
limits (chat, fetch, login) and the rule for binding to a non-loopback address. Pure ASGI and plain
Python: the page (ui.py) wires them in; nothing here knows about Gradio's components."""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class RateLimiter:
    """At most ``per_minute`` events per key in any sliding 60 s window (0: no limit)."""

    def __init__(self, per_minute: int, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.per_minute, self.window, self.clock = per_minute, window_s, clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        if self.per_minute <= 0:
            return True
        now = self.clock()
        with self._lock:
            if len(self._seen) > 10_000:  # forget idle clients rather than grow without bound
                self._seen = {k: v for k, v in self._seen.items() if v and now - v[-1] < self.window}
            q = self._seen.setdefault(key, deque())
            while q and now - q[0] >= self.window:
                q.popleft()
            if len(q) >= self.per_minute:
                return False
            q.append(now)
            return True


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def host_of(header: str) -> str:
    """The host name of a Host header, without the port ("[::1]:7860" → "::1")."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class HostPolicy:
    """Which Host headers the page answers to: loopback names, the bound host, the configured names;
    when bound to every interface (0.0.0.0, ::) also any IP address (nobody can rebind a literal)."""

    def __init__(self, bound_host: str, allowed: Iterable[str] = ()) -> None:
        self.names = set(LOOPBACK_NAMES) | {h.strip().lower().strip("[]") for h in allowed if h.strip()}
        self.any_ip = bound_host in ("0.0.0.0", "::", "")
        if bound_host and not self.any_ip:
            self.names.add(bound_host.lower().strip("[]"))

    def allows(self, header: str) -> bool:
        host = host_of(header)
        return host in self.names or (self.any_ip and _is_ip(host))


class BodyTooLarge(Exception):
    pass


class GuardMiddleware:
    """ASGI middleware in front of the page: refuses a foreign Host header (421), a request body over
    ``max_body`` bytes outside the upload route (413), and login attempts over the rate limit (429)."""

    def __init__(
        self,
        app: ASGIApp,
        policy: HostPolicy,
        max_body: int,
        login_limiter: RateLimiter,
        upload_paths: tuple[str, ...] = ("/gradio_api/upload",),
    ) -> None:
        self.app, self.policy, self.max_body = app, policy, max_body
        self.login_limiter, self.upload_paths = login_limiter, upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if not self.policy.allows(headers.get("host", "")):
            await _refuse(scope, send, 421, "This server does not answer to that host name.")
            return
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and scope.get("method") == "POST" and path.rstrip("/").endswith("/login"):
            client = (scope.get("client") or ("?", 0))[0]
            if not self.login_limiter.allow(str(client)):
                await _refuse(scope, send, 429, "Too many login attempts; wait a minute.")
                return
        if scope["type"] != "http" or path.startswith(self.upload_paths):
            await self.app(scope, receive, send)
            return
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            await _refuse(scope, send, 413, f"The request is too large (over {self.max_body:,} bytes).")
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                raise BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if not started:
                await _refuse(scope, send, 413, f"The request is too large (over {self.max_body:,} bytes).")


async def _refuse(scope: Scope, send: Send, status: int, text: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = json.dumps({"error": text}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def binding_problem(host: str, has_login: bool, allow_public: bool) -> tuple[str, bool]:
    """(message, fatal) about serving on ``host``: a non-loopback address without a login needs the
    explicit flag, and even then gets a warning."""
    if is_loopback(host):
        return "", False
    if has_login:
        return f"warning: serving on {host}: anyone who can reach it can try the login.", False
    if not allow_public:
        return (
            f"error: refusing to serve on {host} without a login: anyone on the network could read and "
            "change the index. Set ASSISTANT_UI__USERNAME and ASSISTANT_UI__PASSWORD, or pass --public "
            "(ASSISTANT_UI__ALLOW_PUBLIC=true) if that is what you want.",
            True,
        )
    return f"warning: serving on {host} WITHOUT a login (--public): anyone on the network can use it.", False

"""Serving safely: who the client is (forwarded headers only from a trusted proxy), the Host header check
(DNS rebinding), a cap on request bodies, per-client rate limits (chat, fetch, login) and the rule for
binding to a non-loopback address. Pure ASGI and plain Python: the page (ui.py) wires them in; nothing
here knows about Gradio's components."""

from __future__ import annotations

import ipaddress
import json
import os
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


Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_CLIENT_CHARS = 100  # a hop that is no address is kept as written, this long at most


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address of one hop ("203.0.113.9", "203.0.113.9:5555", "[2001:db8::1]:443"; an IPv4 address
    seen on a dual-stack socket as ::ffff:a.b.c.d is that IPv4 address), or None."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else text
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    """The peers allowed to say who the client is (``ui.trusted_proxies``: addresses and CIDR ranges).

    Only X-Forwarded-For is read, and only from a trusted peer: each proxy appends the address it saw, so
    the client is the right-most address of the chain that is not a trusted proxy; everything left of
    it was written by the client. X-Real-IP and Forwarded are never read: a proxy that does not set them
    passes a client's own values through. With no trusted proxy (the default) the client is the peer."""

    def __init__(self, entries: Iterable[str | Network] = ()) -> None:
        self.networks: tuple[Network, ...] = tuple(ipaddress.ip_network(e, strict=False) for e in entries)

    def trusts(self, host: str) -> bool:
        address = _address(host)
        return address is not None and any(address in n for n in self.networks)

    def client(self, peer: str, forwarded_for: str) -> str:
        """The client's address, from the TCP peer and its X-Forwarded-For header ("" when none)."""
        if not self.trusts(peer):
            return peer
        hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
        # every hop a trusted proxy: the first one asked; no hop: the proxy asked itself
        client = next((h for h in reversed(hops) if not self.trusts(h)), hops[0] if hops else peer)
        address = _address(client)
        return str(address) if address else client[:MAX_CLIENT_CHARS]


class ClientAddressMiddleware:
    """ASGI middleware in front of everything else: sets the scope's client to the address the rate
    limits key on (``TrustedProxies.client``), so the login limit (GuardMiddleware) and gr.Request.client
    (chat, fetch) see the same one; from a trusted proxy it also takes X-Forwarded-Proto."""

    def __init__(self, app: ASGIApp, proxies: TrustedProxies) -> None:
        self.app, self.proxies = app, proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        peer, port = scope.get("client") or ("", 0)
        if not self.proxies.trusts(str(peer)):
            await self.app(scope, receive, send)
            return
        forwarded = [
            v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"x-forwarded-for"
        ]
        client = self.proxies.client(str(peer), ", ".join(forwarded))
        scope = {**scope, "client": (client, port if client == peer else 0)}
        proto = next((v for k, v in scope.get("headers", []) if k.lower() == b"x-forwarded-proto"), b"")
        scheme = proto.decode("latin-1").strip()
        if scheme in ("http", "https"):
            scope["scheme"] = scheme.replace("http", "ws") if scope["type"] == "websocket" else scheme
        await self.app(scope, receive, send)


def keep_the_peer_address() -> None:
    """Stops uvicorn from choosing the client address: Gradio starts it without proxy settings, so it
    takes the client from X-Forwarded-For whenever the peer is in $FORWARDED_ALLOW_IPS, 127.0.0.1 and ::1
    by default: anyone on this machine (or a proxy on it passing the header through) could then rotate
    the header for unlimited password tries. An empty list trusts no peer; ClientAddressMiddleware
    applies ``ui.trusted_proxies`` instead. Call it before the server starts."""
    os.environ["FORWARDED_ALLOW_IPS"] = ""


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

"""Serving safely (assistant/ui/guard.py): Host header, body cap, rate limits, binding rule."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from assistant.ui.guard import GuardMiddleware, HostPolicy, RateLimiter, binding_problem, host_of, is_loopback


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_rate_limiter_counts_per_client_in_a_sliding_minute() -> None:
    clock = Clock()
    lim = RateLimiter(3, clock=clock)
    assert [lim.allow("a") for _ in range(4)] == [True, True, True, False]
    assert lim.allow("b")  # another client has its own budget
    clock.t = 59.9
    assert not lim.allow("a")
    clock.t = 60.0  # the first three fall out of the window
    assert lim.allow("a")
    assert all(RateLimiter(0).allow("x") for _ in range(100))  # 0: no limit


@pytest.mark.parametrize(
    ("header", "host"),
    [
        ("127.0.0.1:7860", "127.0.0.1"),
        ("[::1]:7860", "::1"),
        ("LocalHost", "localhost"),
        ("a.example", "a.example"),
        ("", ""),
    ],
)
def test_host_of(header: str, host: str) -> None:
    assert host_of(header) == host


def test_host_policy_refuses_rebound_names() -> None:
    local = HostPolicy("127.0.0.1")
    assert local.allows("127.0.0.1:7860") and local.allows("localhost:7860") and local.allows("[::1]:7860")
    for bad in (
        "rebind.attacker.example",
        "rebind.attacker.example:7860",
        "10.0.0.5:7860",
        "",
        "127.0.0.1.attacker.example",
    ):
        assert not local.allows(bad), bad
    named = HostPolicy("127.0.0.1", ["News.Intranet.example"])
    assert named.allows("news.intranet.example:7860")
    everywhere = HostPolicy("0.0.0.0")
    assert everywhere.allows("192.168.1.20:7860") and not everywhere.allows("rebind.attacker.example")


def test_binding_to_the_network_needs_a_login_or_the_flag() -> None:
    assert binding_problem("127.0.0.1", False, False) == ("", False)
    assert binding_problem("localhost", False, False) == ("", False)
    msg, fatal = binding_problem("0.0.0.0", False, False)
    assert fatal and "--public" in msg and "ASSISTANT_UI__USERNAME" in msg
    msg, fatal = binding_problem("0.0.0.0", False, True)
    assert not fatal and msg.startswith("warning")
    msg, fatal = binding_problem("192.168.1.2", True, False)
    assert not fatal and msg.startswith("warning")
    assert is_loopback("::1") and is_loopback("127.0.0.2") and not is_loopback("0.0.0.0")


async def _echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = b""
    while True:
        m = await receive()
        body += m.get("body", b"")
        if not m.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(len(body)).encode()})


def _call(
    app: Any, method: str, path: str, host: str = "127.0.0.1:7860", content: Any = None
) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:7860") as c:
            return await c.request(method, path, headers={"host": host}, content=content)

    return asyncio.run(go())


def test_middleware_refuses_foreign_hosts_big_bodies_and_login_floods() -> None:
    app = GuardMiddleware(_echo, HostPolicy("127.0.0.1"), max_body=1000, login_limiter=RateLimiter(3))
    assert _call(app, "GET", "/").status_code == 200
    r = _call(app, "GET", "/config", host="rebind.attacker.example")
    assert r.status_code == 421 and "host name" in r.json()["error"]
    assert _call(app, "POST", "/gradio_api/queue/join", content=b"x" * 1000).text == "1000"
    r = _call(app, "POST", "/gradio_api/queue/join", content=b"x" * 1001)
    assert r.status_code == 413 and "too large" in r.json()["error"]

    async def chunked() -> Any:  # no Content-Length: counted while it is read
        for _ in range(5):
            yield b"y" * 400

    assert _call(app, "POST", "/gradio_api/queue/join", content=chunked()).status_code == 413
    assert _call(app, "POST", "/gradio_api/upload", content=b"z" * 5000).text == "5000"  # Gradio caps uploads
    codes = [_call(app, "POST", "/login", content=b"u=a&p=b").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]

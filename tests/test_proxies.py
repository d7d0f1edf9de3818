"""Who the client is (assistant/ui/guard.py): forwarded headers count only from a trusted proxy.

The rate limits (login, chat, fetch) key on the client's address. A header a client can write itself
(X-Forwarded-For, X-Real-IP, Forwarded) must not choose that key, or rotating it buys unlimited password
tries; behind a proxy listed in ASSISTANT_UI__TRUSTED_PROXIES the client is the right-most address of
the X-Forwarded-For chain that is not a trusted proxy.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.settings import SettingsError, load_settings
from assistant.ui.guard import (
    ClientAddressMiddleware,
    GuardMiddleware,
    HostPolicy,
    RateLimiter,
    TrustedProxies,
)
from tests.conftest import SEED
from tests.serverutil import app_env, free_port, start_app, stop_app

QUESTION = "What did Putin agree to limit attacks on?"
WRONG = (400, 401)  # Gradio's answer to a wrong password


# ---- the rule, on its own ---------------------------------------------------------------------------


def test_without_trusted_proxies_the_client_is_the_peer() -> None:
    none = TrustedProxies()
    assert none.client("127.0.0.1", "203.0.113.9") == "127.0.0.1"
    assert none.client("127.0.0.1", "") == "127.0.0.1"
    assert none.client("::1", "203.0.113.9, 198.51.100.1") == "::1"


def test_a_trusted_peer_s_chain_is_read_from_the_right() -> None:
    proxies = TrustedProxies(["127.0.0.1", "10.9.0.0/16"])
    assert proxies.client("127.0.0.1", "203.0.113.9") == "203.0.113.9"
    # the client wrote the left part itself; the trusted proxies appended the rest
    assert proxies.client("127.0.0.1", "192.0.2.1, 192.0.2.2, 203.0.113.9, 10.9.0.5") == "203.0.113.9"
    assert proxies.client("127.0.0.1", "203.0.113.9:5555, [2001:db8::1]:443") == "2001:db8::1"
    assert proxies.client("127.0.0.1", "") == "127.0.0.1"  # no header: the proxy itself
    assert proxies.client("127.0.0.1", "10.9.0.1, 10.9.0.2") == "10.9.0.1"  # every hop trusted
    assert proxies.client("::ffff:127.0.0.1", "203.0.113.9") == "203.0.113.9"  # IPv4 on a dual-stack socket
    assert proxies.client("192.0.2.50", "203.0.113.9") == "192.0.2.50"  # an untrusted peer
    assert proxies.client("127.0.0.1", "203.0.113.9, unknown") == "unknown"  # kept as the proxy wrote it
    assert len(proxies.client("127.0.0.1", "x" * 5000)) <= 100
    assert proxies.client("127.0.0.1", ",".join(["203.0.113.9"] * 10_000)) == "203.0.113.9"


def test_trusted_proxies_setting_takes_addresses_and_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_UI__TRUSTED_PROXIES", '["127.0.0.1", "10.9.0.0/16", "::1"]')
    proxies = TrustedProxies(load_settings().ui.trusted_proxies)
    assert proxies.trusts("10.9.200.1") and proxies.trusts("::1") and not proxies.trusts("10.8.0.1")
    monkeypatch.setenv("ASSISTANT_UI__TRUSTED_PROXIES", "127.0.0.1, 10.9.0.0/16")  # a plain list works too
    assert TrustedProxies(load_settings().ui.trusted_proxies).trusts("10.9.0.7")
    monkeypatch.setenv("ASSISTANT_UI__TRUSTED_PROXIES", '["127.0.0.1", "proxy.example"]')
    with pytest.raises(SettingsError) as e:
        load_settings()
    assert "ASSISTANT_UI__TRUSTED_PROXIES" in str(e.value) and "'proxy.example'" in str(e.value)
    assert "\n" not in str(e.value)


async def _ok(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = json.dumps({"client": scope["client"][0], "scheme": scope["scheme"]}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def _asgi(app: Any, headers: dict[str, str], path: str = "/") -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:7860") as c:
            return await c.post(path, headers=headers, content=b"u=a&p=b")

    return asyncio.run(go())


def test_the_middleware_sets_the_client_the_guard_and_gradio_see() -> None:
    guard = GuardMiddleware(_ok, HostPolicy("127.0.0.1"), 1000, RateLimiter(2))
    direct = ClientAddressMiddleware(guard, TrustedProxies())
    codes = [_asgi(direct, {"x-forwarded-for": f"203.0.113.{i}"}, "/login").status_code for i in range(4)]
    assert codes == [200, 200, 429, 429]
    r = _asgi(direct, {"x-forwarded-for": "203.0.113.1", "x-forwarded-proto": "https"})
    assert r.json() == {"client": "127.0.0.1", "scheme": "http"}

    proxied = ClientAddressMiddleware(
        GuardMiddleware(_ok, HostPolicy("127.0.0.1"), 1000, RateLimiter(2)), TrustedProxies(["127.0.0.1"])
    )
    codes = [_asgi(proxied, {"x-forwarded-for": f"203.0.113.{i}"}, "/login").status_code for i in range(4)]
    assert codes == [200, 200, 200, 200]
    r = _asgi(proxied, {"x-forwarded-for": "192.0.2.1, 203.0.113.1", "x-forwarded-proto": "https"})
    assert r.json() == {"client": "203.0.113.1", "scheme": "https"}
    r = _asgi(proxied, {"x-real-ip": "192.0.2.7", "forwarded": "for=192.0.2.8"})
    assert r.json()["client"] == "127.0.0.1"  # only X-Forwarded-For is read


# ---- against the real server ---------------------------------------------------------------------------


def _server(root: Path, **extra: str) -> Iterator[str]:
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    env = app_env(
        root,
        corpus,
        ui__username="ana",
        ui__password="s3cret",
        ui__login_per_minute="4",
        ui__chat_per_minute="2",
        ui__fetch_per_minute="1",
        **extra,
    )
    proc, url = start_app(env, free_port(), root / "server.log")
    try:
        yield url
    finally:
        stop_app(proc)


@pytest.fixture(scope="module")
def direct(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The page with no trusted proxy (the default)."""
    yield from _server(tmp_path_factory.mktemp("direct"))


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The page behind a proxy on this machine, itself behind proxies in 10.9.0.0/16."""
    yield from _server(
        tmp_path_factory.mktemp("proxied"), ui__trusted_proxies=json.dumps(["127.0.0.1", "10.9.0.0/16"])
    )


def login(http: httpx.Client, password: str, headers: dict[str, str] | None = None) -> int:
    return http.post("login", data={"username": "ana", "password": password}, headers=headers).status_code


def call(http: httpx.Client, api: str, data: list[Any], headers: dict[str, str] | None = None) -> list[Any]:
    """A Gradio API call over plain HTTP: the outputs of its last update."""
    r = http.post(f"gradio_api/call/{api}", json={"data": data}, headers=headers)
    assert r.status_code == 200, r.text
    events = http.get(f"gradio_api/call/{api}/{r.json()['event_id']}").text
    last = [line for line in events.splitlines() if line.startswith("data: ")][-1]
    outputs = json.loads(last[len("data: ") :])
    assert isinstance(outputs, list), events[-500:]
    return outputs


def ask(http: httpx.Client, headers: dict[str, str]) -> str:
    return str(call(http, "chat", [QUESTION, [], [], "", ""], headers)[3])


def fetch(http: httpx.Client, headers: dict[str, str]) -> str:
    return str(call(http, "fetch_url", ["http://127.0.0.1:1/"], headers)[0])


@pytest.mark.slow
def test_rotating_forwarded_headers_from_an_untrusted_peer_buys_nothing(direct: str) -> None:
    with httpx.Client(base_url=direct, timeout=120) as http:
        assert login(http, "s3cret") == 200  # the session's login: 1 of this machine's 4 a minute
        codes = [login(http, f"guess{i}", {"X-Forwarded-For": f"203.0.113.{i}"}) for i in range(6)]
        assert all(c in WRONG for c in codes[:3]) and codes[3:] == [429, 429, 429], codes
        assert login(http, "guess", {"X-Real-IP": "203.0.113.50"}) == 429
        assert login(http, "guess", {"Forwarded": "for=203.0.113.51"}) == 429
        assert login(http, "s3cret", {"X-Forwarded-For": "203.0.113.52"}) == 429

        notes = [ask(http, {"X-Forwarded-For": f"198.51.100.{i}"}) for i in range(3)]
        assert "Answered by" in notes[0] and "Answered by" in notes[1], notes
        assert "Too many questions" in notes[2], notes
        lines = [fetch(http, {"X-Forwarded-For": f"198.51.100.{i}"}) for i in range(2)]
        assert "Could not fetch" in lines[0] and "Too many fetches" in lines[1], lines


@pytest.mark.slow
def test_a_trusted_proxy_s_clients_each_get_their_own_limits(proxied: str) -> None:
    a, b = {"X-Forwarded-For": "203.0.113.1"}, {"X-Forwarded-For": "203.0.113.2"}
    with httpx.Client(base_url=proxied, timeout=120) as http:
        assert login(http, "s3cret", {"X-Forwarded-For": "198.51.100.1"}) == 200
        codes = [login(http, f"guess{i}", a) for i in range(6)]
        assert all(c in WRONG for c in codes[:4]) and codes[4:] == [429, 429], codes
        assert login(http, "guess", b) in WRONG  # another client behind the same proxy
        assert login(http, "guess") in WRONG  # the proxy itself, with no header

        notes = [ask(http, a) for _ in range(3)]
        assert "Answered by" in notes[1] and "Too many questions" in notes[2], notes
        assert "Answered by" in ask(http, b)
        lines = [fetch(http, a) for _ in range(2)]
        assert "Could not fetch" in lines[0] and "Too many fetches" in lines[1], lines
        assert "Could not fetch" in fetch(http, b)


@pytest.mark.slow
def test_a_spoofed_chain_keys_on_the_right_most_untrusted_hop(proxied: str) -> None:
    def chain(spoof: str, client: str) -> dict[str, str]:
        return {"X-Forwarded-For": f"{spoof}, {client}, 10.9.0.5"}

    with httpx.Client(base_url=proxied, timeout=120) as http:
        codes = [login(http, "guess", chain(f"192.0.2.{i}", "203.0.113.7")) for i in range(6)]
        assert all(c in WRONG for c in codes[:4]) and codes[4:] == [429, 429], codes
        rotated = {
            **chain("192.0.2.99", "203.0.113.7"),
            "X-Real-IP": "192.0.2.98",
            "Forwarded": "for=192.0.2.97",
        }
        assert login(http, "guess", rotated) == 429
        # another client behind the same inner proxy is not held up by the first one's tries
        assert login(http, "guess", chain("192.0.2.1", "203.0.113.8")) in WRONG

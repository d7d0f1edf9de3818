"""The one safe fetcher (assistant/corpus/fetch.py), against real HTTP(S) servers on 127.0.0.1 and ::1.

Every refusal has a control beside it where one is possible: the same URL, allowed, does reach the
server, so the test shows that the refusal (and nothing else) kept the request away.
"""

from __future__ import annotations

import gzip
import http.server
import socket
import ssl
import subprocess
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.corpus.fetch import PAGE_TYPES, UNREACHABLE, Fetched, FetchError, fetch
from assistant.settings import FetchSettings, Settings
from tests.serverutil import free_port

PAGE = (
    "<html><head><title>Owls return to the old mill</title>"
    '<meta property="article:published_time" content="2025-03-18"></head><body><article>'
    "<h1>Owls return to the old mill</h1>"
    + "<p>A pair of barn owls has nested in the old mill at Fenwick for the first time in twenty years.</p>"
    * 3
    + "</article></body></html>"
).encode()
SECRET = b"the secret internal page"
MB = 1_000_000


# ---- real servers -----------------------------------------------------------------------------------

Route = Callable[[http.server.BaseHTTPRequestHandler], None]


class Site:
    """A real HTTP server in a thread; `routes` maps a path to a handler; `requests` lists the paths asked."""

    def __init__(
        self, routes: dict[str, Route], host: str = "127.0.0.1", tls: ssl.SSLContext | None = None
    ) -> None:
        self.routes = routes
        self.requests: list[str] = []
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                site.requests.append(self.path)
                route = site.routes.get(self.path.split("?")[0])
                try:
                    if route is None:
                        self.send_error(404)
                    else:
                        route(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the fetcher hung up, as it should

            def log_message(self, *args: Any) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # refused TLS handshakes and hung-up fetchers are expected here

        self.httpd = Server((host, 0), Handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = int(self.httpd.server_address[1])
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def respond(
    body: bytes, ctype: str | None = "text/html; charset=utf-8", status: int = 200, **headers: str
) -> Route:
    def route(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        if ctype is not None:
            h.send_header("Content-Type", ctype)
        for name, value in headers.items():
            h.send_header(name.replace("_", "-"), value)
        if "Content_Length" not in headers:
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    return route


def redirect(location: str | Callable[[], str], status: int = 302) -> Route:
    def route(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Location", location() if callable(location) else location)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return route


def stream_zeros(total: int) -> Route:
    """text/html without a Content-Length: the body ends when the connection closes."""

    def route(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.end_headers()
        block = b"0" * 65536
        for start in range(0, total, len(block)):
            h.wfile.write(block[: total - start])

    return route


def drip(body: bytes, every: float) -> Route:
    def route(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/plain")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.flush()
        for i in range(len(body)):
            h.wfile.write(body[i : i + 1])
            h.wfile.flush()
            time.sleep(every)

    return route


def drip_headers(every: float) -> Route:
    def route(h: http.server.BaseHTTPRequestHandler) -> None:
        head = b"HTTP/1.0 200 OK\r\n" + b"".join(b"X-Slow-%d: yes\r\n" % i for i in range(40))
        for i in range(len(head)):
            h.wfile.write(head[i : i + 1])
            h.wfile.flush()
            time.sleep(every)

    return route


def gzip_bomb(zeros: int) -> bytes:
    """`zeros` zero bytes, gzip-compressed chunk by chunk (~1000:1), never all in memory."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(MB)
    parts = [z.compress(block) for _ in range(zeros // MB)]
    return b"".join(parts) + z.flush()


@pytest.fixture(scope="module")
def secret() -> Iterator[Site]:
    site = Site({"/secret": respond(SECRET)})
    yield site
    site.close()


@pytest.fixture(scope="module")
def site(secret: Site) -> Iterator[Site]:
    raw_deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    routes: dict[str, Route] = {
        "/page": respond(PAGE),
        "/latin1": respond("<p>café</p>".encode("latin-1"), "text/html; charset=ISO-8859-1"),
        "/plain": respond(b"Owls\nThe owls are back.", "text/plain"),
        "/moved": redirect("/page"),
        "/moved-twice": redirect("/moved", 301),
        "/loop": redirect("/loop"),
        "/to-secret": redirect(lambda: f"http://127.0.0.1:{secret.port}/secret"),
        "/to-file": redirect("file:///etc/passwd"),
        "/to-metadata": redirect("http://169.254.169.254/latest/meta-data/"),
        "/big": respond(b"0" * (10 * MB)),
        "/big-stream": stream_zeros(10 * MB),
        "/bomb": respond(gzip_bomb(50 * MB), Content_Encoding="gzip"),
        "/gzip": respond(gzip.compress(PAGE), Content_Encoding="gzip"),
        "/deflate": respond(zlib.compress(PAGE), Content_Encoding="deflate"),
        "/raw-deflate": respond(raw_deflate.compress(PAGE) + raw_deflate.flush(), Content_Encoding="deflate"),
        "/broken-gzip": respond(gzip.compress(PAGE)[:-30], Content_Encoding="gzip"),
        "/brotli": respond(b"\x0b\x02\x80hi\x03", Content_Encoding="br"),
        "/png": respond(b"\x89PNG\r\n\x1a\n", "image/png"),
        "/no-type": respond(PAGE, None),
        "/gone": respond(b"gone", "text/html", status=410),
        "/drip": drip(b"abcdef", 0.5),
        "/drip-headers": drip_headers(0.1),
    }
    site = Site(routes)
    yield site
    site.close()


@pytest.fixture(scope="module")
def site6() -> Iterator[Site]:
    site = Site({"/page": respond(PAGE)}, host="::1")
    yield site
    site.close()


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every address the fetcher opens a TCP connection to (the real connection still happens)."""
    seen: list[tuple[str, int]] = []
    real = socket.create_connection

    def spy(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        seen.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", spy)
    return seen


def cfg(allow: list[str] | None = None, **kw: Any) -> FetchSettings:
    return FetchSettings(allow=allow or [], **{"timeout_s": 5.0, **kw})


def refusal(url: str, settings: FetchSettings, **kw: Any) -> str:
    with pytest.raises(FetchError) as e:
        fetch(url, settings, **kw)
    message = str(e.value)
    assert "\n" not in message and message.startswith("Could not fetch ")
    return message


def same_text(message: str, url: str) -> str:
    """The message with its URL taken out: what must not differ between two refusals."""
    assert url in message
    return message.replace(url, "<url>")


# ---- the happy path ---------------------------------------------------------------------------------


def test_a_page_from_an_allowed_host(site: Site) -> None:
    url = f"http://localhost:{site.port}/page"
    got = fetch(url, cfg(["localhost"]))
    assert got == Fetched(url, PAGE, "text/html", "utf-8")
    assert "barn owls" in got.text()
    latin = fetch(f"http://localhost:{site.port}/latin1", cfg(["LOCALHOST"]))  # names match in any case
    assert latin.charset == "iso-8859-1" and latin.text() == "<p>café</p>"


def test_the_final_url_after_redirects_is_returned(site: Site) -> None:
    before = len(site.requests)
    got = fetch(f"http://localhost:{site.port}/moved-twice", cfg(["localhost"]))
    assert got.url == f"http://localhost:{site.port}/page" and got.content == PAGE
    assert site.requests[before:] == ["/moved-twice", "/moved", "/page"]


def test_redirects_are_counted(site: Site) -> None:
    assert fetch(f"http://localhost:{site.port}/moved", cfg(["localhost"], max_redirects=1)).content == PAGE
    msg = refusal(f"http://localhost:{site.port}/moved", cfg(["localhost"], max_redirects=0))
    assert "too many redirects (more than 0)" in msg
    assert "too many redirects (more than 5)" in refusal(
        f"http://localhost:{site.port}/loop", cfg(["localhost"])
    )


@pytest.mark.parametrize("path", ["/gzip", "/deflate", "/raw-deflate"])
def test_compressed_pages_are_decompressed(site: Site, path: str) -> None:
    assert fetch(f"http://localhost:{site.port}{path}", cfg(["localhost"])).content == PAGE


def test_a_damaged_or_unknown_encoding_is_refused(site: Site) -> None:
    assert "cut short or damaged" in refusal(f"http://localhost:{site.port}/broken-gzip", cfg(["localhost"]))
    assert "unsupported content encoding br" in refusal(
        f"http://localhost:{site.port}/brotli", cfg(["localhost"])
    )


def test_the_allow_list_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_FETCH__ALLOW", '["intranet.example", "10.0.0.0/8"]')
    assert Settings().fetch.allow == ["intranet.example", "10.0.0.0/8"]


# ---- schemes and credentials ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://ftp.example.org/file",
        "data:text/html,<p>hi</p>",
        "javascript:alert(1)",
        "gopher://127.0.0.1:70/",
        "example.org/page",
        "//example.org/page",
        "",
    ],
)
def test_only_http_and_https(url: str, connections: list[tuple[str, int]]) -> None:
    assert "only http(s) addresses can be fetched" in refusal(url, cfg(["localhost", "0.0.0.0/0"]))
    assert connections == []


def test_credentials_in_the_url_are_refused(site: Site, connections: list[tuple[str, int]]) -> None:
    before = len(site.requests)
    for userinfo in ("user:pass@", "user@", "@"):
        msg = refusal(f"http://{userinfo}localhost:{site.port}/page", cfg(["localhost"]))
        assert "user name or password" in msg
    assert connections == [] and site.requests[before:] == []
    assert fetch(f"http://localhost:{site.port}/page", cfg(["localhost"])).content == PAGE  # control


def test_control_characters_are_refused(site: Site, connections: list[tuple[str, int]]) -> None:
    msg = refusal(f"http://localhost:{site.port}/page\r\nX-Injected: 1", cfg(["localhost"]))
    assert "control characters" in msg and connections == []


# ---- addresses ----------------------------------------------------------------------------------------

LOOPBACK_FORMS = [
    "127.0.0.1",
    "localhost",
    "2130706433",  # decimal
    "0x7f.0.0.1",  # hex
    "0177.0.0.1",  # octal
    "127.1",  # short form
    "0x7f000001",
    "[::ffff:127.0.0.1]",  # IPv4-mapped IPv6
    "0.0.0.0",  # connects to this host on Linux
]


@pytest.mark.parametrize("host", LOOPBACK_FORMS)
def test_every_form_of_loopback_is_refused_before_any_connection(
    site: Site, host: str, connections: list[tuple[str, int]]
) -> None:
    url = f"http://{host}:{site.port}/page"
    before = len(site.requests)
    msg = refusal(url, cfg())
    assert msg == f"Could not fetch {url}: {UNREACHABLE}"
    assert connections == [] and site.requests[before:] == []
    # control: the same URL does reach the server once its address range is allowed (on Linux,
    # ::ffff:127.0.0.1 and 0.0.0.0 both reach a server on 127.0.0.1)
    assert fetch(url, cfg(["127.0.0.0/8", "0.0.0.0/32"])).content == PAGE
    assert site.requests[before:] == ["/page"]


def test_ipv6_loopback_is_refused(site6: Site, connections: list[tuple[str, int]]) -> None:
    url = f"http://[::1]:{site6.port}/page"
    assert refusal(url, cfg()) == f"Could not fetch {url}: {UNREACHABLE}"
    assert connections == [] and site6.requests == []
    assert fetch(url, cfg(["::1"])).content == PAGE  # control
    assert site6.requests == ["/page"]


@pytest.mark.parametrize(
    "host",
    [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "[fd00:ec2::254]",  # cloud metadata, IPv6
        "100.100.100.200",  # cloud metadata (shared address space)
        "100.64.0.1",  # carrier-grade NAT
        "224.0.0.1",  # multicast
        "240.0.0.1",  # reserved
        "255.255.255.255",
        "[fe80::1]",  # link-local
        "[fc00::1]",  # unique local
        "[::]",
        "[::ffff:10.0.0.1]",
        "[2002:7f00:1::]",  # 6to4 around 127.0.0.1
        "[64:ff9b::a9fe:a9fe]",  # NAT64 around 169.254.169.254
    ],
)
def test_private_and_special_addresses_are_refused_before_any_connection(
    host: str, connections: list[tuple[str, int]]
) -> None:
    url = f"http://{host}/latest/meta-data/"
    assert refusal(url, cfg(["localhost"])) == f"Could not fetch {url}: {UNREACHABLE}"
    assert connections == []


class FakeDNS:
    """socket.getaddrinfo answering from a table (a list of answers per name, one per lookup)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, table: dict[str, list[list[str]]]) -> None:
        self.table = table
        self.lookups: list[str] = []
        real = socket.getaddrinfo

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host not in self.table:
                return real(host, port, *args, **kwargs)
            self.lookups.append(host)
            answers = self.table[host]
            ips = answers.pop(0) if len(answers) > 1 else answers[0]
            if not ips:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [
                (socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
                for ip in ips
            ]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """create_connection that records the address and refuses, so no test reaches the internet."""
    seen: list[tuple[str, int]] = []

    def refuse(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        seen.append(address)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return seen


def test_a_name_with_any_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, no_network: list[tuple[str, int]]
) -> None:
    FakeDNS(
        monkeypatch, {"mixed.example": [["93.184.216.34", "10.0.0.1"]], "public.example": [["93.184.216.34"]]}
    )
    assert UNREACHABLE in refusal("http://mixed.example/", cfg())
    assert no_network == []
    refusal("http://public.example/", cfg())  # control: a public name is connected to
    assert no_network == [("93.184.216.34", 80)]


def test_the_connection_goes_to_the_address_that_was_checked(
    monkeypatch: pytest.MonkeyPatch, no_network: list[tuple[str, int]]
) -> None:
    # DNS rebinding: public when checked, 127.0.0.1 on any later lookup
    dns = FakeDNS(monkeypatch, {"rebind.example": [["93.184.216.34"], ["127.0.0.1"]]})
    refusal("http://rebind.example:8080/", cfg())
    assert dns.lookups == ["rebind.example"] and no_network == [("93.184.216.34", 8080)]


def test_allowing_a_name_does_not_open_the_metadata_address(
    monkeypatch: pytest.MonkeyPatch, no_network: list[tuple[str, int]]
) -> None:
    FakeDNS(monkeypatch, {"intranet.example": [["169.254.169.254"], ["10.1.2.3"]]})
    settings = cfg(["intranet.example"])
    assert UNREACHABLE in refusal("http://intranet.example/", settings)
    assert no_network == []
    refusal("http://intranet.example/", settings)  # control: its intranet address is allowed
    assert no_network == [("10.1.2.3", 80)]
    assert UNREACHABLE in refusal("http://169.254.169.254/", cfg(["169.254.169.254/32"]))
    assert no_network[-1] == ("169.254.169.254", 80)  # an allowed address range does open it


def test_refused_unknown_and_closed_give_one_identical_text(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    FakeDNS(monkeypatch, {"nowhere.example": [[]]})
    closed = free_port()
    cases = {
        "refused address": (f"http://127.0.0.1:{site.port}/page", cfg()),
        "refused by name": (f"http://localhost:{site.port}/page", cfg()),
        "closed port": (f"http://localhost:{closed}/page", cfg(["localhost"])),
        "connection refused": (f"http://127.0.0.1:{closed}/page", cfg(["127.0.0.1/32"])),
        "unknown name": ("http://nowhere.example/page", cfg()),
    }
    texts = {name: same_text(refusal(url, settings), url) for name, (url, settings) in cases.items()}
    assert set(texts.values()) == {f"Could not fetch <url>: {UNREACHABLE}"}, texts


# ---- the allow list: an entry with a port opens that port only -------------------------------------


def other_port_reason(host: str, port: int) -> str:
    return f"ASSISTANT_FETCH__ALLOW allows {host} on other ports only, not on port {port}"


@pytest.mark.parametrize(
    ("entry", "host"),
    [
        ("127.0.0.1:{port}", "127.0.0.1"),
        ("localhost:{port}", "localhost"),
        ("LocalHost.:{port}", "localhost"),
        ("127.0.0.0/8:{port}", "127.0.0.1"),
    ],
)
def test_an_allow_entry_with_a_port_opens_that_port_only(
    site: Site, secret: Site, entry: str, host: str, connections: list[tuple[str, int]]
) -> None:
    settings = cfg([entry.format(port=site.port)])
    assert fetch(f"http://{host}:{site.port}/page", settings).content == PAGE
    before = len(connections)
    url = f"http://{host}:{secret.port}/secret"  # the same host, another port: a server answers there
    assert refusal(url, settings) == f"Could not fetch {url}: {other_port_reason(host, secret.port)}"
    assert connections[before:] == [] and secret.requests == []
    # control: the same URL with its own port allowed too
    assert fetch(url, cfg([entry.format(port=site.port), entry.format(port=secret.port)])).content == SECRET
    secret.requests.clear()


def test_an_ipv6_allow_entry_with_a_port_opens_that_port_only(
    site6: Site, connections: list[tuple[str, int]]
) -> None:
    settings = cfg([f"[::1]:{site6.port}"])
    assert fetch(f"http://[::1]:{site6.port}/page", settings).content == PAGE
    other = free_port()
    url = f"http://[::1]:{other}/page"
    assert refusal(url, settings) == f"Could not fetch {url}: {other_port_reason('[::1]', other)}"
    assert [c for c in connections if c[1] == other] == []
    assert fetch(f"http://[::1]:{site6.port}/page", cfg([f"[::/0]:{site6.port}"])).content == PAGE


@pytest.mark.parametrize("entry", ["127.0.0.1", "localhost", "127.0.0.0/8", "LOCALHOST."])
def test_an_allow_entry_without_a_port_opens_every_port_of_the_host(
    site: Site, secret: Site, entry: str
) -> None:
    """As the README says: an entry without a port opens the host (or range) on any port."""
    host = "localhost" if entry.lower().startswith("localhost") else "127.0.0.1"
    assert fetch(f"http://{host}:{site.port}/page", cfg([entry])).content == PAGE
    assert fetch(f"http://{host}:{secret.port}/secret", cfg([entry])).content == SECRET
    secret.requests.clear()


@pytest.mark.parametrize("entry", ["::1", "[::1]", "::1/128", "[::1/128]"])
def test_an_ipv6_allow_entry_without_a_port_opens_every_port(site6: Site, entry: str) -> None:
    assert fetch(f"http://[::1]:{site6.port}/page", cfg([entry])).content == PAGE


def test_an_allow_entry_with_a_port_does_not_close_public_addresses(
    monkeypatch: pytest.MonkeyPatch, no_network: list[tuple[str, int]]
) -> None:
    """A port on an entry narrows what the entry opens; a public host stays reachable on every port."""
    FakeDNS(monkeypatch, {"public.example": [["93.184.216.34"]]})
    refusal("http://public.example:8080/", cfg(["public.example:443"]))
    assert no_network == [("93.184.216.34", 8080)]


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("127.0.0.1:99999", "the port must be a number from 1 to 65535"),
        ("127.0.0.1:0", "the port must be a number from 1 to 65535"),
        ("localhost:", "the port must be a number from 1 to 65535"),
        ("localhost:http", "the port must be a number from 1 to 65535"),
        ("[::1]:-1", "the port must be a number from 1 to 65535"),
        ("[::1]80", "after ']' only ':' and a port may follow"),
        ("[::1", "'[' without its ']'"),
        ("[127.0.0.1]:80", "brackets hold an IPv6 address or range only"),
        ("[intranet.example]", "brackets hold an IPv6 address or range only"),
        ("10.0.0.0/33", "not a valid IP range"),
        ("10.0.0.0/8/8", "not a valid IP range"),
        ("300.1.2.3", "not a valid IPv4 address"),
        ("http://intranet.example", "a host (with a port or not), not a URL"),
        ("intranet.example:8080:1", "not a host name, an IP address or an IP range"),
        ("intranet.example/path", "not a valid IP range"),
        ("intra net.example", "not a host name, an IP address or an IP range"),
        ("*.example", "not a host name, an IP address or an IP range"),
        ("a:b:c", "not a host name, an IP address or an IP range"),
        ("", "an empty entry"),
        ("   ", "an empty entry"),
    ],
)
def test_a_malformed_allow_entry_is_one_line_naming_it(
    site: Site, entry: str, why: str, connections: list[tuple[str, int]]
) -> None:
    """Never silently ignored: the fetch is refused, before any connection, with the entry and the reason,
    even when another entry would allow the URL."""
    url = f"http://127.0.0.1:{site.port}/page"
    msg = refusal(url, cfg(["127.0.0.0/8", entry]))
    assert msg == f"Could not fetch {url}: ASSISTANT_FETCH__ALLOW has a bad entry {entry!r}: {why}"
    assert connections == []


def test_a_malformed_allow_entry_from_the_environment_is_one_line_in_the_cli(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from assistant.cli import app

    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("ASSISTANT_FETCH__ALLOW", '["127.0.0.1:31001x"]')
    result = CliRunner().invoke(app, ["feeds", "add", f"http://127.0.0.1:{site.port}/page"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1
    assert "ASSISTANT_FETCH__ALLOW has a bad entry '127.0.0.1:31001x'" in result.stderr


# ---- redirects are checked hop by hop ----------------------------------------------------------------


def test_a_redirect_to_a_refused_address_is_refused_at_the_hop(site: Site, secret: Site) -> None:
    secret.requests.clear()
    msg = refusal(f"http://localhost:{site.port}/to-secret", cfg(["localhost"]))
    assert msg == f"Could not fetch http://127.0.0.1:{secret.port}/secret: {UNREACHABLE}"
    assert site.requests[-1] == "/to-secret" and secret.requests == []
    # control: with 127.0.0.1 allowed too, the same redirect does reach the secret server
    got = fetch(f"http://localhost:{site.port}/to-secret", cfg(["localhost", "127.0.0.1/32"]))
    assert got == Fetched(f"http://127.0.0.1:{secret.port}/secret", SECRET, "text/html", "utf-8")
    assert secret.requests == ["/secret"]
    secret.requests.clear()


def test_a_redirect_to_another_port_of_a_host_allowed_on_one_port_is_refused(
    site: Site, secret: Site
) -> None:
    secret.requests.clear()
    settings = cfg([f"127.0.0.1:{site.port}"])
    msg = refusal(f"http://127.0.0.1:{site.port}/to-secret", settings)
    target = f"http://127.0.0.1:{secret.port}/secret"
    assert msg == f"Could not fetch {target}: {other_port_reason('127.0.0.1', secret.port)}"
    assert site.requests[-1] == "/to-secret" and secret.requests == []
    # control: with the secret's port allowed too, the same redirect does reach it; and an entry without
    # a port opens both
    got = fetch(f"http://127.0.0.1:{site.port}/to-secret", cfg([f"127.0.0.1:{site.port}", target[7:-7]]))
    assert got.url == target and got.content == SECRET
    assert fetch(f"http://127.0.0.1:{site.port}/to-secret", cfg(["127.0.0.1"])).content == SECRET
    secret.requests.clear()


def test_a_redirect_to_another_scheme_or_metadata_is_refused(site: Site) -> None:
    msg = refusal(f"http://localhost:{site.port}/to-file", cfg(["localhost"]))
    assert msg == "Could not fetch file:///etc/passwd: only http(s) addresses can be fetched"
    msg = refusal(f"http://localhost:{site.port}/to-metadata", cfg(["localhost"]))
    assert msg == f"Could not fetch http://169.254.169.254/latest/meta-data/: {UNREACHABLE}"


# ---- size, time, type, status ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/big", "/big-stream"])
def test_a_body_over_the_cap_is_refused(site: Site, path: str) -> None:
    url = f"http://localhost:{site.port}{path}"
    assert (
        refusal(url, cfg(["localhost"], max_bytes=MB))
        == f"Could not fetch {url}: too large (over 1,000,000 bytes)"
    )
    assert len(fetch(url, cfg(["localhost"], max_bytes=11 * MB)).content) == 10 * MB  # control


def test_a_compression_bomb_stops_at_the_cap(site: Site) -> None:
    url = f"http://localhost:{site.port}/bomb"
    tracemalloc.start()
    try:
        msg = refusal(url, cfg(["localhost"], max_bytes=MB))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "too large (over 1,000,000 bytes)" in msg
    assert peak < 8 * MB, f"{peak:,} bytes held while reading a 50 MB bomb with a 1 MB cap"


def test_a_slow_body_is_cut_at_the_overall_deadline(site: Site) -> None:
    url = f"http://localhost:{site.port}/drip"  # six bytes, one every 0.5 s
    t0 = time.monotonic()
    msg = refusal(url, cfg(["localhost"], timeout_s=2.0))
    elapsed = time.monotonic() - t0
    assert msg == f"Could not fetch {url}: too slow (no complete answer within 2 s)"
    assert 1.8 <= elapsed < 3.0, elapsed
    assert fetch(url, cfg(["localhost"], timeout_s=8.0)).content == b"abcdef"  # control: ~3 s is fine


def test_slow_headers_are_cut_at_the_overall_deadline(site: Site) -> None:
    url = f"http://localhost:{site.port}/drip-headers"  # one header byte every 0.1 s, ~70 s in all
    t0 = time.monotonic()
    assert "too slow" in refusal(url, cfg(["localhost"], timeout_s=2.0))
    assert time.monotonic() - t0 < 3.0


def test_the_content_type_must_be_accepted(site: Site) -> None:
    url = f"http://localhost:{site.port}/png"
    assert (
        refusal(url, cfg(["localhost"])) == f"Could not fetch {url}: not a web page (content type image/png)"
    )
    assert "not a web page (content type none)" in refusal(
        f"http://localhost:{site.port}/no-type", cfg(["localhost"])
    )
    got = fetch(url, cfg(["localhost"]), accept=("image/png",))  # control: a caller that takes images
    assert got.content_type == "image/png"
    plain = fetch(f"http://localhost:{site.port}/plain", cfg(["localhost"]))
    assert plain.content_type == "text/plain" and "text/plain" in PAGE_TYPES
    msg = refusal(url, cfg(["localhost"]), accept=("application/rss+xml",), kind="feed")
    assert "not a feed (content type image/png)" in msg


def test_http_errors_are_reported(site: Site) -> None:
    url = f"http://localhost:{site.port}/gone"
    assert refusal(url, cfg(["localhost"])) == f"Could not fetch {url}: the server answered HTTP 410 Gone"
    assert "HTTP 404 Not Found" in refusal(f"http://localhost:{site.port}/missing", cfg(["localhost"]))


# ---- https: the pinned address is verified against the host NAME ------------------------------------


@pytest.fixture(scope="module")
def tls_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, Path]]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    site = Site({"/page": respond(PAGE)}, tls=context)
    yield site, cert
    site.close()


def test_https_checks_the_certificate_against_the_host_name(tls_site: tuple[Site, Path]) -> None:
    site, cert = tls_site
    trust = ssl.create_default_context(cafile=str(cert))
    url = f"https://localhost:{site.port}/page"
    assert fetch(url, cfg(["localhost"]), ssl_context=trust).content == PAGE
    assert "TLS certificate is not valid" in refusal(url, cfg(["localhost"]))  # not a trusted issuer
    by_ip = f"https://127.0.0.1:{site.port}/page"  # the certificate names localhost, not 127.0.0.1
    assert "TLS certificate is not valid" in refusal(by_ip, cfg(["127.0.0.1/32"]), ssl_context=trust)


# ---- the page's "fetch a URL" -------------------------------------------------------------------------


@pytest.fixture
def chat_app(tmp_path: Path) -> Any:
    from assistant.service import Assistant
    from assistant.ui.page import ChatApp

    (tmp_path / "corpus").mkdir()
    settings = Settings(
        index_dir=tmp_path / "index", corpus_dirs=[tmp_path / "corpus"], upload_dir=tmp_path / "uploads"
    )
    settings.llm.backend = "extractive"
    settings.answer.min_support = 0.0  # one small article: the gate is not what is tested here
    return ChatApp(Assistant.from_settings(settings))


def test_the_page_refuses_a_loopback_address_and_indexes_nothing(site: Site, chat_app: Any) -> None:
    before = len(site.requests)
    url = f"http://127.0.0.1:{site.port}/page"
    line, _ = chat_app.adding.fetch_url(url)
    assert line == f"Could not fetch {url}: {UNREACHABLE}"
    assert site.requests[before:] == []
    assert chat_app.ctx.assistant.index.manifest() == {}
    assert not any(Path(chat_app.ctx.settings.upload_dir).glob("*"))


def test_the_page_fetches_an_allowed_page_and_cites_its_final_url(site: Site, chat_app: Any) -> None:
    chat_app.ctx.settings.fetch.allow = ["localhost"]
    line, _ = chat_app.adding.fetch_url(f"http://localhost:{site.port}/moved")
    final = f"http://localhost:{site.port}/page"
    assert "Owls return to the old mill" in line and "1 added" in line, line
    assert list(chat_app.ctx.assistant.index.manifest()) == [final]
    article = chat_app.ctx.assistant.index.article(final)
    assert article.url == final and "barn owls" in article.text
    answer = chat_app.ctx.assistant.ask("Which birds nested in the old mill at Fenwick?")
    assert "barn owls" in answer.text and answer.citations[0].url == final

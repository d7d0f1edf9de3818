"""The one safe fetcher of web pages (and feeds): `fetch(url, settings.fetch) -> Fetched`.

What it guards against, hop by hop (redirects are followed here, never by a library):

- only ``http``/``https`` URLs without credentials;
- the host is resolved once (``socket.getaddrinfo``) and refused when ANY of its addresses is not public
  (loopback, private, link-local, multicast, reserved, unspecified, shared, cloud metadata; IPv4 forms
  such as ``2130706433`` or ``0x7f.0.0.1`` and IPv4 inside IPv6 such as ``::ffff:127.0.0.1`` are judged by
  the address they really are), unless ``FetchSettings.allow`` names the host or holds the address
  (an entry with a port opens that port only; one without opens every port; see `_Allow`);
- the connection goes to the address that was checked (no second lookup: DNS rebinding), with the
  host name in the ``Host`` header and, for https, in SNI and the certificate check;
- one deadline (``timeout_s``) for the whole fetch, redirects included, enforced by a watchdog that shuts
  the socket, so a server that drips one byte at a time is cut off;
- the body is streamed and decompressed (gzip, deflate) with a cap on the decompressed size
  (``max_bytes``): a compression bomb stops as soon as it passes the cap;
- the content type must be one the caller accepts.

Every refusal is a `FetchError` whose message is one line naming the URL. A refused address, a name that
does not resolve, a closed port and a refused connection all give the same text (`UNREACHABLE`), so
messages do not tell which internal ports are open. Two refusals say more, from the settings alone (before
any connection): a malformed allow-list entry, and a port of a host the allow list opens on other ports.
"""

from __future__ import annotations

import codecs
import http
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, TypeAlias
from urllib.parse import quote, urljoin, urlsplit

from assistant.settings import FetchSettings

PAGE_TYPES = ("text/html", "application/xhtml+xml", "text/plain")

# The one text for every address that is refused or does not answer (see the module docstring).
UNREACHABLE = "no public web server answers at this address"

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network
Port: TypeAlias = int | None  # an allow-list entry's port; None: every port

# Cloud metadata services. All are non-public anyway; they are listed so that allowing a host NAME never
# opens them (a name's DNS can change): only an allowed address range does.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*+=\s*+["']?\s*+([A-Za-z0-9._:-]{1,40})""", re.I)
_TOKEN = re.compile(r"[A-Za-z0-9._:+/-]{1,80}")
_ALLOW_SETTING = "ASSISTANT_FETCH__ALLOW"
_PORT = re.compile(r"[0-9]{1,5}")
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_SHOWN_URL_CHARS = 200


class FetchError(ValueError):
    """A URL that cannot be fetched; `str()` is one line naming the URL and the reason."""

    def __init__(self, url: str, reason: str, status: int = 0) -> None:
        self.url = url
        self.reason = reason
        self.status = status  # the HTTP status the server answered, 0 when none
        super().__init__(f"Could not fetch {_shown(url)}: {reason}")

    @property
    def transient(self) -> bool:
        """True for a problem that may pass by itself (a server error, a timeout, no answer)."""
        if self.status:
            return self.status in (408, 425, 429) or self.status >= 500
        return self.reason == UNREACHABLE or self.reason.startswith(
            ("too slow", "the server's answer was broken", "the TLS connection failed")
        )


@dataclass(frozen=True)
class Fetched:
    url: str  # the final URL, after redirects: the one a citation shows
    content: bytes  # decompressed
    content_type: str  # lower case, without parameters: "text/html"
    charset: str = ""  # from the Content-Type header, "" when it names none
    status: int = 200  # 304 (no content) only when the caller sent a conditional request
    etag: str = ""  # the validators a conditional request sends next time ("" when none)
    last_modified: str = ""

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    def text(self) -> str:
        """The content decoded: the header's charset, else an HTML <meta charset>, else UTF-8."""
        encoding = self.charset
        if not encoding and self.content_type != "text/plain":
            m = _META_CHARSET.search(self.content[:4096])
            encoding = m.group(1).decode("ascii") if m else ""
        if self.content.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
        try:
            codecs.lookup(encoding or "utf-8")
        except LookupError:
            encoding = ""
        return self.content.decode(encoding or "utf-8", errors="replace")


def fetch(
    url: str,
    settings: FetchSettings,
    accept: Collection[str] = PAGE_TYPES,
    *,
    kind: str = "web page",
    ssl_context: ssl.SSLContext | None = None,
    etag: str = "",
    last_modified: str = "",
) -> Fetched:
    """GETs `url` under the rules of the module docstring. `accept`: the content types taken (lower
    case); `kind` names them in the refusal ("not a web page"); `ssl_context` replaces the default
    verifying context (tests use it to trust their own certificate). `etag` / `last_modified`: the
    validators of the last answer, sent as a conditional request; an unchanged resource then comes
    back as a `Fetched` with status 304 and no content."""
    deadline = time.monotonic() + settings.timeout_s
    try:
        allow = _Allow.parse(settings.allow)
    except ValueError as e:  # a setting's mistake: said, never taken as "allows nothing"
        raise FetchError(url, str(e)) from None
    conditional: dict[str, str] = {}
    if etag and _printable_header(etag):
        conditional["If-None-Match"] = etag
    if last_modified and _printable_header(last_modified):
        conditional["If-Modified-Since"] = last_modified
    current = url.strip()
    for _hop in range(settings.max_redirects + 1):
        target = _Target.parse(current)
        infos = _checked_addresses(target, allow, deadline)
        result = _get(target, infos, deadline, settings, accept, kind, ssl_context, conditional)
        if isinstance(result, Fetched):
            return result
        current = result
    raise FetchError(url, f"too many redirects (more than {settings.max_redirects})")


# ---- the URL -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    url: str
    scheme: str
    host: str  # lower case; ASCII (IDNA) for names, without brackets for IPv6 literals
    port: int
    request_target: str  # path and query, percent-encoded

    @classmethod
    def parse(cls, url: str) -> _Target:
        if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
            raise FetchError(url, "not a valid URL (it contains spaces or control characters)")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise FetchError(url, "not a valid http(s) URL") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise FetchError(url, "only http(s) addresses can be fetched")
        if "@" in parts.netloc:
            raise FetchError(url, "addresses with a user name or password are not fetched")
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise FetchError(url, "not a valid http(s) URL (no host)")
        if ":" not in host:  # a name or an IPv4 form; IPv6 literals stay as they are
            try:
                host = host.encode("idna").decode("ascii").lower()
            except UnicodeError:
                raise FetchError(url, "not a valid host name") from None
        scheme = parts.scheme.lower()
        safe = "!$%&'()*+,/:;=?@[]~"
        target = quote(parts.path or "/", safe=safe)
        if parts.query:
            target += "?" + quote(parts.query, safe=safe)
        return cls(url, scheme, host, port or (443 if scheme == "https" else 80), target)

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


# ---- the address -------------------------------------------------------------------------------------


def _fits(entry_port: Port, port: Port) -> bool:
    """An entry's port against a URL's (None for the URL: on any port)."""
    return entry_port is None or port is None or entry_port == port


@dataclass(frozen=True)
class _Allow:
    """What `FetchSettings.allow` opens. Each entry is a host name, an IP address or a CIDR range,
    optionally with a port: ``intranet.example``, ``10.1.0.0/16``, ``::1`` or ``[::1]`` open every port;
    ``intranet.example:8080``, ``10.1.0.0/16:8080``, ``[::1]:8080`` or ``[fd00::/8]:8080`` open that port
    only (an IPv6 address or range with a port goes in brackets). A malformed entry is a ValueError naming
    it, never an entry that silently opens nothing."""

    names: tuple[tuple[str, Port], ...]
    networks: tuple[tuple[IPNetwork, Port], ...]

    @classmethod
    def parse(cls, entries: Collection[str]) -> _Allow:
        names: list[tuple[str, Port]] = []
        networks: list[tuple[IPNetwork, Port]] = []
        for entry in entries:
            try:
                host, port, bracketed = _split_port(entry.strip())
                opened = _entry_host(host, bracketed)
            except ValueError as e:
                raise ValueError(f"{_ALLOW_SETTING} has a bad entry {entry[:100]!r}: {e}") from None
            if isinstance(opened, str):
                names.append((opened, port))
            else:
                networks.append((opened, port))
        return cls(tuple(names), tuple(networks))

    def names_host(self, host: str, port: Port) -> bool:
        return any(name == host and _fits(p, port) for name, p in self.names)

    def holds(self, addr: IPAddress, port: Port) -> bool:
        """The address (or the IPv4 address inside it) is in an allowed range on that port."""
        inner = _embedded_ipv4(addr) if isinstance(addr, ipaddress.IPv6Address) else None
        return any(
            a is not None and a.version == net.version and a in net and _fits(p, port)
            for a in (addr, inner)
            for net, p in self.networks
        )


def _split_port(entry: str) -> tuple[str, Port, bool]:
    """(host part, port or None, whether the host was in brackets)."""
    if not entry:
        raise ValueError("an empty entry")
    if "://" in entry:
        raise ValueError("a host (with a port or not), not a URL")
    if entry.startswith("["):
        close = entry.find("]")
        if close < 0:
            raise ValueError("'[' without its ']'")
        host, rest = entry[1:close], entry[close + 1 :]
        if rest and not rest.startswith(":"):
            raise ValueError("after ']' only ':' and a port may follow")
        return host, _port(rest[1:]) if rest else None, True
    if entry.count(":") == 1:  # a name or an IPv4 address or range with a port
        host, port = entry.split(":")
        return host, _port(port), False
    return entry, None, False  # no port, or an IPv6 address or range without brackets (no port)


def _port(text: str) -> int:
    if not _PORT.fullmatch(text) or not 1 <= int(text) <= 65535:
        raise ValueError("the port must be a number from 1 to 65535")
    return int(text)


def _entry_host(host: str, bracketed: bool) -> IPNetwork | str:
    """The entry's address range, or its host name as `_Target` spells hosts (lower case ASCII, no
    trailing dot)."""
    try:
        network = ipaddress.ip_network(host, strict=False)
    except ValueError:
        network = None
    if bracketed and (network is None or network.version != 6):
        raise ValueError("brackets hold an IPv6 address or range only")
    if network is not None:
        return network
    if "/" in host:
        raise ValueError("not a valid IP range")
    if re.fullmatch(r"[0-9.]+", host):
        raise ValueError("not a valid IPv4 address")
    try:
        name = host.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        name = ""
    if not 0 < len(name) <= 253 or not all(_LABEL.fullmatch(label) for label in name.split(".")):
        raise ValueError("not a host name, an IP address or an IP range")
    return name


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), if any."""
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr in _NAT64:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def is_public(addr: IPAddress) -> bool:
    """True for an address on the public internet; False for loopback, private, link-local, multicast,
    reserved, unspecified, shared (100.64/10) and cloud metadata addresses, IPv4 inside IPv6 included."""
    if addr in METADATA_ADDRESSES:
        return False
    if isinstance(addr, ipaddress.IPv6Address):
        inner = _embedded_ipv4(addr)
        if inner is not None:
            return is_public(inner)
    return addr.is_global and not (
        addr.is_loopback
        or addr.is_private
        or addr.is_link_local
        or addr.is_multicast
        or addr.is_reserved
        or addr.is_unspecified
    )


def _metadata(addr: IPAddress) -> bool:
    inner = _embedded_ipv4(addr) if isinstance(addr, ipaddress.IPv6Address) else None
    return addr in METADATA_ADDRESSES or inner in METADATA_ADDRESSES


def _allowed(addr: IPAddress, target: _Target, allow: _Allow) -> bool:
    """An allowed range opens any address in it; an allowed name opens its addresses but a metadata one."""
    if allow.holds(addr, target.port):
        return True
    if _metadata(addr):
        return False
    return allow.names_host(target.host, target.port) or is_public(addr)


def _refusal(addr: IPAddress, target: _Target, allow: _Allow) -> str:
    """UNREACHABLE, unless the allow list opens this host or address on other ports: then it says so. That
    tells what the settings open, never which ports answer (no connection was made)."""
    on_other_port = allow.holds(addr, None) or (allow.names_host(target.host, None) and not _metadata(addr))
    if not on_other_port:
        return UNREACHABLE
    host = f"[{target.host}]" if ":" in target.host else target.host
    return f"{_ALLOW_SETTING} allows {host} on other ports only, not on port {target.port}"


def _checked_addresses(target: _Target, allow: _Allow, deadline: float) -> list[str]:
    """The host's addresses (IP strings, resolved once); a FetchError when any of them is refused."""
    infos = _resolve(target, deadline)
    addresses: list[str] = []
    for info in infos:
        ip = str(info[4][0])
        try:
            addr = ipaddress.ip_address(ip.split("%", 1)[0])
        except ValueError:
            raise FetchError(target.url, UNREACHABLE) from None
        if not _allowed(addr, target, allow):
            raise FetchError(target.url, _refusal(addr, target, allow))
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise FetchError(target.url, UNREACHABLE)
    return addresses


def _resolve(target: _Target, deadline: float) -> list[Any]:
    """getaddrinfo within the deadline (it has no timeout of its own, so it runs in a daemon thread)."""
    box: list[Any] = []

    def run() -> None:
        try:
            box.append(socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError):
            box.append(None)

    worker = threading.Thread(target=run, name="fetch-resolve", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if not box or not box[0]:
        raise FetchError(target.url, UNREACHABLE)
    return list(box[0])


# ---- one request --------------------------------------------------------------------------------------


class _Watchdog:
    """Shuts the socket down when the deadline passes, which ends any read or write blocked on it."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.fired = False
        self._lock = threading.Lock()
        self._sock: socket.socket | None = sock.dup()  # the same connection, also after TLS wraps sock
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self._sock is None:
                return
            self.fired = True
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None


def _remaining(target: _Target, deadline: float, settings: FetchSettings) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _too_slow(target, settings)
    return left


def _too_slow(target: _Target, settings: FetchSettings) -> FetchError:
    return FetchError(target.url, f"too slow (no complete answer within {settings.timeout_s:g} s)")


def _connect(target: _Target, addresses: list[str], deadline: float) -> socket.socket:
    for ip in addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            return socket.create_connection((ip, target.port), timeout=left)
        except OSError:
            continue
    raise FetchError(target.url, UNREACHABLE)


def _get(
    target: _Target,
    addresses: list[str],
    deadline: float,
    settings: FetchSettings,
    accept: Collection[str],
    kind: str,
    ssl_context: ssl.SSLContext | None,
    conditional: dict[str, str] | None = None,
) -> Fetched | str:
    """One GET to a checked address: the page, or the URL a redirect points to."""
    conn = http.client.HTTPConnection(target.host_header)
    raw = _connect(target, addresses, deadline)
    watchdog = _Watchdog(raw, deadline)
    sock: socket.socket = raw
    resp: http.client.HTTPResponse | None = None
    try:
        if target.scheme == "https":
            context = ssl_context or ssl.create_default_context()
            sock.settimeout(_remaining(target, deadline, settings))
            sock = context.wrap_socket(raw, server_hostname=target.host)
        conn.sock = sock  # so http.client never connects (or resolves) by itself
        headers = {
            "Host": target.host_header,
            "User-Agent": settings.user_agent,
            "Accept": ", ".join([*accept, "*/*;q=0.1"]),
            "Accept-Encoding": "gzip, deflate",
            "Connection": "close",
            **(conditional or {}),
        }
        sock.settimeout(_remaining(target, deadline, settings))
        conn.request("GET", target.request_target, headers=headers)
        resp = conn.getresponse()
        if resp.status in _REDIRECTS:
            location = resp.getheader("Location")
            if not location:
                raise FetchError(target.url, f"HTTP {resp.status} redirect without a Location")
            return urljoin(target.url, _header_text(location).strip())
        validators = {
            "etag": _header_value(resp.getheader("ETag")),
            "last_modified": _header_value(resp.getheader("Last-Modified")),
        }
        if resp.status == 304 and conditional:
            return Fetched(target.url, b"", "", status=304, **validators)
        if not 200 <= resp.status < 300:
            raise FetchError(
                target.url, f"the server answered HTTP {resp.status} {_phrase(resp.status)}", resp.status
            )
        content_type = (resp.getheader("Content-Type") or "").split(";", 1)[0].strip().lower()
        if content_type not in accept:
            shown = _token(content_type) or "none"
            raise FetchError(target.url, f"not a {kind} (content type {shown})", resp.status)
        content = _read_body(resp, sock, watchdog, target, deadline, settings)
        charset = _token(resp.headers.get_content_charset() or "").lower()
        return Fetched(target.url, content, content_type, charset, resp.status, **validators)
    except FetchError:
        if watchdog.fired:
            raise _too_slow(target, settings) from None
        raise
    except ssl.SSLCertVerificationError as e:
        raise FetchError(target.url, f"its TLS certificate is not valid ({e.verify_message})") from None
    except (OSError, http.client.HTTPException, zlib.error) as e:
        # the address was checked and a server answered there: a broken answer may say so
        if watchdog.fired or isinstance(e, TimeoutError) or time.monotonic() >= deadline:
            raise _too_slow(target, settings) from None
        if isinstance(e, ssl.SSLError):
            raise FetchError(target.url, f"the TLS connection failed ({e.reason or 'SSL error'})") from None
        if isinstance(e, zlib.error):
            raise FetchError(target.url, "the compressed body is damaged") from None
        raise FetchError(target.url, f"the server's answer was broken ({type(e).__name__})") from None
    finally:
        watchdog.close()
        if resp is not None:
            resp.close()
        conn.close()
        sock.close()


def _read_body(
    resp: http.client.HTTPResponse,
    sock: socket.socket,
    watchdog: _Watchdog,
    target: _Target,
    deadline: float,
    settings: FetchSettings,
) -> bytes:
    cap = settings.max_bytes
    too_large = FetchError(target.url, f"too large (over {cap:,} bytes)")
    encoding = (resp.getheader("Content-Encoding") or "identity").strip().lower()
    inflater = _Inflater(encoding, cap, too_large)
    if inflater.unsupported:
        raise FetchError(target.url, f"unsupported content encoding {_token(encoding) or '?'}")
    # the bytes on the wire are bounded too: a stream of empty deflate blocks inflates to nothing
    wire_cap = cap + cap // 10 + 64 * 1024
    length = resp.getheader("Content-Length")
    if length and length.strip().isdigit() and int(length) > (cap if encoding == "identity" else wire_cap):
        raise too_large
    on_wire = 0
    while True:
        sock.settimeout(_remaining(target, deadline, settings))
        chunk = resp.read1(_CHUNK)
        if not chunk:
            break
        on_wire += len(chunk)
        if on_wire > wire_cap:
            raise too_large
        inflater.feed(chunk)
    if watchdog.fired:  # the watchdog's shutdown looks like the end of the body
        raise _too_slow(target, settings)
    if not inflater.complete:
        raise FetchError(target.url, "the compressed body is cut short or damaged")
    return bytes(inflater.out)


class _Inflater:
    """Decompresses a body chunk by chunk, never holding more than `cap` + 1 decompressed bytes."""

    def __init__(self, encoding: str, cap: int, too_large: FetchError) -> None:
        self.out = bytearray()
        self._cap = cap
        self._too_large = too_large
        self._wbits = {"identity": 0, "gzip": 31, "x-gzip": 31, "deflate": 15}.get(encoding)
        self.unsupported = self._wbits is None
        self._z = zlib.decompressobj(self._wbits) if self._wbits else None
        self._started = False

    @property
    def complete(self) -> bool:
        return self._z is None or self._z.eof

    def feed(self, data: bytes) -> None:
        if self._z is None:
            self._append(data)
            return
        while data:
            if self._z.eof:
                if self._wbits != 31:  # trailing bytes after a deflate stream are ignored
                    return
                self._z = zlib.decompressobj(31)  # the next member of a multi-member gzip
            try:
                out = self._z.decompress(data, self._cap - len(self.out) + 1)
            except zlib.error:
                if self._started or self._wbits != 15:
                    raise
                # "deflate" is meant to be zlib-wrapped, but some servers send a raw stream
                self._wbits = -15
                self._z = zlib.decompressobj(-15)
                continue
            self._started = True
            self._append(out)
            data = self._z.unconsumed_tail or self._z.unused_data

    def _append(self, data: bytes) -> None:
        if len(self.out) + len(data) > self._cap:
            raise self._too_large
        self.out += data


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _header_text(value: str) -> str:
    """http.client reads header bytes as Latin-1; a UTF-8 Location is read back as UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _printable_header(value: str) -> bool:
    return len(value) <= 200 and all(" " <= c <= "~" for c in value)


def _header_value(value: str | None) -> str:
    """A validator header kept for the next conditional request: printable ASCII, at most 200 chars."""
    value = (value or "").strip()
    return value if _printable_header(value) else ""


def _token(value: str) -> str:
    """A header value shown in a message only when it is a plain short token (it is server text)."""
    return value if _TOKEN.fullmatch(value) else ""


def _shown(url: str) -> str:
    url = "".join(c if c.isprintable() else "?" for c in url)
    return url if len(url) <= _SHOWN_URL_CHARS else url[: _SHOWN_URL_CHARS - 1] + "…"

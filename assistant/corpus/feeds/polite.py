"""Politeness towards the sites feeds point to: a delay between two requests to one host, and
robots.txt (RFC 9309) for article pages."""

from __future__ import annotations

import ssl
import threading
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from assistant.corpus.fetch import FetchError, fetch
from assistant.settings import FetchSettings

ROBOTS_TYPES = ("text/plain", "text/html", "application/octet-stream")
MAX_CRAWL_DELAY_S = 30.0
ROBOTS_UNREADABLE = "its robots.txt could not be read"


@dataclass
class HostPacer:
    """Waits so that two requests to one host are at least `delay_s` apart (more when robots.txt asks)."""

    delay_s: float
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    _last: dict[str, float] = field(default_factory=dict)
    _extra: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ask_for(self, host: str, delay_s: float) -> None:
        with self._lock:
            self._extra[host] = min(max(delay_s, 0.0), MAX_CRAWL_DELAY_S)

    def wait(self, url: str) -> None:
        host = (urlsplit(url).hostname or "").lower()
        with self._lock:
            gap = max(self.delay_s, self._extra.get(host, 0.0))
            due = self._last.get(host, -1e18) + gap
            start = max(self.clock(), due)
            self._last[host] = start
        pause = start - self.clock()
        if pause > 0:
            self.sleep(pause)


@dataclass
class Robots:
    """robots.txt per host, read once per `ttl_s`. 4xx (none there) allows everything; a server error or
    no answer disallows for now (RFC 9309), reported as a passing problem."""

    settings: FetchSettings
    pacer: HostPacer
    ttl_s: float = 3600.0
    ssl_context: ssl.SSLContext | None = None
    _rules: dict[str, tuple[float, urllib.robotparser.RobotFileParser | None, str]] = field(
        default_factory=dict
    )
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def forget_failures(self) -> None:
        """A robots.txt that could not be read is read again (called at the start of each poll)."""
        with self._lock:
            self._rules = {k: v for k, v in self._rules.items() if v[1] is not None}

    def check(self, url: str) -> tuple[bool, str]:
        """(allowed, why not): why not is "" when allowed. Thread-safe: one read per origin at a time."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            origin_lock = self._locks.setdefault(origin, threading.Lock())
        with origin_lock:
            cached = self._rules.get(origin)
            if cached is None or time.monotonic() - cached[0] > self.ttl_s:
                cached = (time.monotonic(), *self._read(origin))
                self._rules[origin] = cached
        _, rules, problem = cached
        if rules is None:
            return False, problem
        agent = self.settings.user_agent.split("/", 1)[0]
        if not rules.can_fetch(agent, url):
            return False, "robots.txt does not allow fetching it"
        delay = rules.crawl_delay(agent)
        if delay:
            self.pacer.ask_for((parts.hostname or "").lower(), float(delay))
        return True, ""

    def _read(self, origin: str) -> tuple[urllib.robotparser.RobotFileParser | None, str]:
        rules = urllib.robotparser.RobotFileParser()
        self.pacer.wait(origin + "/robots.txt")
        try:
            got = fetch(
                origin + "/robots.txt",
                self.settings,
                ROBOTS_TYPES,
                kind="robots.txt",
                ssl_context=self.ssl_context,
            )
        except FetchError as e:
            if 200 <= e.status < 300 or (400 <= e.status < 500 and e.status != 429):
                rules.parse([])  # none there, or something else where it should be: all allowed
                return rules, ""
            return None, f"{ROBOTS_UNREADABLE} ({e.reason})"
        if got.content_type != "text/plain":
            rules.parse([])  # a page where robots.txt should be: there is none
            return rules, ""
        rules.parse(got.text().splitlines())
        return rules, ""

"""The transport every HTTP adapter shares: one httpx client, request pacing, and the
translation of network failures into the error hierarchy.

Keys are sent per request as each document says and are never put in URLs or logs. The
client's own default headers hold no key, and it only ever calls the provider's API: result
files are fetched by jobs/download.py on a client of its own.
"""

from __future__ import annotations

import asyncio
import email.utils
import enum
import json
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx

from providers.errors import OutcomeUnknown, RequestNotSent
from providers.tunables import (  # imported by name, so tests can patch them here
    CONNECT_TIMEOUT,
    LOOKUP_DEADLINE,
    LOOKUP_SHARE,
    LOOKUP_WAIT,
    MAX_RETRY_AFTER,
    POOL_TIMEOUT,
    READ_TIMEOUT,
    STATUS_DEADLINE,
    WRITE_TIMEOUT,
)

USER_AGENT = "bananabot/0.1 (+discord bot)"


def default_timeout() -> httpx.Timeout:
    return httpx.Timeout(
        connect=CONNECT_TIMEOUT, read=READ_TIMEOUT, write=WRITE_TIMEOUT, pool=POOL_TIMEOUT
    )


def parse_retry_after(
    headers: httpx.Headers | dict[str, str], *, now: float | None = None
) -> float | None:
    """Seconds to wait from Retry-After / retry-after-ms: seconds, milliseconds or an HTTP
    date. Capped at MAX_RETRY_AFTER; None when absent or unreadable."""
    lowered = {k.lower(): v for k, v in dict(headers).items()}
    value = lowered.get("retry-after-ms")
    if value is not None:
        try:
            return min(max(float(value) / 1000.0, 0.0), MAX_RETRY_AFTER)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return min(max(when.timestamp() - current, 0.0), MAX_RETRY_AFTER)


def redact(text: str, secret: str | None) -> str:
    """The provider's words without our API key (some APIs echo the key they were sent)."""
    if secret and len(secret) >= 4:
        return text.replace(secret, "[redacted]")
    return text


def json_body(response: httpx.Response) -> dict[str, Any]:
    """The response's JSON object, or {} when the body is not a JSON object."""
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {"data": data}


class Purpose(enum.Enum):
    """Why a request is made: it decides its place in line and how long it may take."""

    SUBMIT = "submit"  # starts a paid task: first in line, the full timeouts
    STATUS = "status"  # reads a task: first in line, STATUS_DEADLINE
    LOOKUP = "lookup"  # prices, balances, model lists: behind job requests, LOOKUP_DEADLINE


class RequestPacer:
    """Sliding-window limit on requests per period, shared by every request of an account.
    Waiting here is cheaper than a 429. Submits and status reads come first: a lookup waits
    while any of them waits, and may use only LOOKUP_SHARE of the window."""

    def __init__(
        self,
        limit: int,
        period: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.limit = limit
        self.period = period
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._jobs_waiting = 0

    async def acquire(self, *, lookup: bool = False) -> None:
        cap = max(1, int(self.limit * LOOKUP_SHARE)) if lookup else self.limit
        if not lookup:
            self._jobs_waiting += 1
        try:
            while True:
                now = self._clock()
                while self._sent and now - self._sent[0] >= self.period:
                    self._sent.popleft()
                held_back = lookup and self._jobs_waiting > 0
                if len(self._sent) < cap and not held_back:
                    self._sent.append(now)
                    return
                if len(self._sent) >= cap:
                    await self._sleep(self.period - (now - self._sent[-cap]))
                else:
                    await self._sleep(LOOKUP_WAIT)
        finally:
            if not lookup:
                self._jobs_waiting -= 1


RequestObserver = Callable[[str, str, str, int | str, float], None]
"""Told of every request once it ends: (provider id, method, path, HTTP status or the
network error's name, seconds). The bot's metrics listen here; providers know nothing more."""


def fan_out(*observers: RequestObserver) -> RequestObserver:
    """One observer that tells each of ``observers`` (the metrics and the health record)."""

    def observe(provider: str, method: str, path: str, outcome: int | str, seconds: float) -> None:
        for observer in observers:
            try:
                observer(provider, method, path, outcome, seconds)
            except Exception:  # one listener failing must not deprive the others
                pass

    return observe


class ProviderHTTP:
    """One AsyncClient per provider, with the documented auth header and optional pacing."""

    observer: RequestObserver | None = None

    def __init__(
        self,
        provider_id: str,
        base_url: str,
        auth_headers: dict[str, str],
        *,
        requests_per_minute: int | None = None,
        timeout: httpx.Timeout | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.provider_id = provider_id
        self._auth_headers = dict(auth_headers)
        self.pacer = RequestPacer(requests_per_minute) if requests_per_minute else None
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout or default_timeout(),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            transport=transport,
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        auth: bool = True,
        purpose: Purpose = Purpose.SUBMIT,
    ) -> httpx.Response:
        if self.pacer is not None:
            await self.pacer.acquire(lookup=purpose is Purpose.LOOKUP)
        headers = self._auth_headers if auth else None
        deadline = {Purpose.STATUS: STATUS_DEADLINE, Purpose.LOOKUP: LOOKUP_DEADLINE}.get(purpose)
        started = time.monotonic()
        outcome: int | str = "error"
        try:
            async with asyncio.timeout(deadline):
                response = await self.client.request(
                    method, path, json=json, params=params, headers=headers
                )
            outcome = response.status_code
            return response
        except TimeoutError:
            outcome = "timeout"
            raise OutcomeUnknown(
                f"no answer within {deadline:g}s", provider=self.provider_id
            ) from None
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            outcome = "connect"
            raise RequestNotSent(
                f"could not connect ({type(exc).__name__})", provider=self.provider_id
            ) from None
        except httpx.TransportError as exc:
            outcome = "transport"
            raise OutcomeUnknown(
                f"no answer ({type(exc).__name__})", provider=self.provider_id
            ) from None
        finally:
            if self.observer is not None:
                try:
                    self.observer(
                        self.provider_id, method, path, outcome, time.monotonic() - started
                    )
                except Exception:  # counting must never fail a request
                    pass

    async def aclose(self) -> None:
        await self.client.aclose()

"""Fetching results from the URLs providers return: only from where the bot may go, bounded in
size, time and type, and a few jobs at a time.

Why here, with its own HTTP client, and not in the provider adapters: a media URL is whatever
a provider's response says, and the hosts behind it are not the provider's API. Which
addresses the bot may reach, which origins the operator trusts, how large and how slow a file
may be and how many jobs download at once are the bot's policy, the same for every provider,
so they live in the job layer. The client here never saw an API key (the adapters send keys
per request on their own clients), so no key can reach a media host, and the adapters'
transport never fetches arbitrary URLs. Adapters keep ``Provider.open_media`` only for schemes
that are not HTTP (the sandbox's ``sandbox://``); those bytes get the same size, time, type
and spooling bounds.

The rules, per file:

* An ``http(s)`` URL whose origin is in ``trusted_origins`` (``MEDIA_TRUSTED_ORIGINS``;
  default: the providers' base URLs, which is how the emulators on http://127.0.0.1 stay
  reachable) is fetched as it is. Trust covers that origin only, never where it redirects.
* Any other URL must be https. Its host is resolved here and every address it resolves to must
  be public (``address_problem``: not loopback, private, link-local, multicast, reserved,
  unspecified, shared, nor an IPv4-mapped, 6to4, Teredo or NAT64 form of one). The request
  then goes to the checked address itself (the URL's host is replaced by the address; the Host
  header and TLS SNI and certificate check keep the name), so DNS cannot answer differently
  between the check and the connection. No proxy is taken from the environment, no
  connection is kept alive (a pooled connection belongs to an address, not a name) and no
  cookie is kept.
* Redirects are followed here, at most ``MAX_REDIRECTS``, each hop checked as a new URL.
* The whole file, redirects included, has ``FILE_DEADLINE`` seconds, apart from the read
  timeout that catches a silent server; a body that trickles in forever is abandoned.
* The size is checked against the upload limit from ``Content-Length`` and while streaming;
  the download stops at the limit.
* The type comes from ``Content-Type`` and must fit the job (``media.fits_kind``); an untyped
  or ``application/octet-stream`` body is accepted only when its first bytes are a known image
  or video format (``media.sniff``). The file name's extension comes from that type.
* Files over ``media.SPOOL_OVER`` go to a temporary file (see ``media.MediaFile``).
* One job at a time per slot: ``concurrency`` jobs download at once, the others wait.

A file that is not fetched is linked instead only when every URL on its way that was looked
at was allowed (public https, or a trusted origin): never a URL that is not https, points at a
private address, redirects to one, or could not be resolved. The member is told about the
rest (``Fetched.unfetched``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx

from jobs.media import (
    SNIFF_BYTES,
    SPOOL_OVER,
    UNTYPED,
    MediaFile,
    MediaWriter,
    bare_type,
    filename_for,
    fits_kind,
    sniff,
)
from jobs.policy import (  # the package's tunables
    DOWNLOAD_CONCURRENCY,
    DOWNLOAD_CONNECT_TIMEOUT,
    DOWNLOAD_READ_TIMEOUT,
    DOWNLOAD_WRITE_TIMEOUT,
    FILE_DEADLINE,
    MAX_REDIRECTS,
)
from providers.base import Media, Provider
from providers.errors import ProviderError

log = logging.getLogger(__name__)

USER_AGENT = "bananabot/0.1 (+discord bot; result download)"
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
NAT64 = ipaddress.ip_network("64:ff9b::/96")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]


class NotFetched(Exception):
    """A result file was not downloaded. ``linkable``: the URL may still be shown to the
    member as a link (every URL on its way was allowed). The message is for the log."""

    def __init__(self, reason: str, *, linkable: bool) -> None:
        super().__init__(reason)
        self.linkable = linkable


class Refused(NotFetched):
    """The URL, or a redirect, leads where the bot must not go."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, linkable=False)


class TooLarge(NotFetched):
    """The file is larger than the upload limit."""


class Trail:
    """What a download learned on its way: whether its URL may be shown as a link."""

    def __init__(self) -> None:
        self.linkable = False

    def allowed(self) -> None:
        """A URL passed the check (trusted origin, or https to public addresses only)."""
        self.linkable = True


def address_problem(ip: Address) -> str | None:
    """Why the bot must not connect to ``ip``, or None for a public address."""
    for kind in ("loopback", "private", "link_local", "multicast", "reserved", "unspecified"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    if not ip.is_global:  # e.g. 100.64.0.0/10, shared carrier-grade NAT space
        return "non-public"
    if isinstance(ip, ipaddress.IPv6Address):
        inner: list[ipaddress.IPv4Address | None] = [ip.ipv4_mapped, ip.sixtofour]
        inner += list(ip.teredo or ())
        if ip in NAT64:
            inner.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        for embedded in inner:
            problem = address_problem(embedded) if embedded is not None else None
            if problem:
                return f"{problem} (embedded {embedded})"
    return None


def origin_of(url: httpx.URL) -> str:
    """``scheme://host:port`` with the port always written, as settings.normalise_origin."""
    port = url.port or (443 if url.scheme == "https" else 80)
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{url.scheme}://{host}:{port}"


def _origin_or_none(raw: str) -> str | None:
    """An http(s) origin in origin_of's form; None for anything else (``sandbox://``)."""
    try:
        url = httpx.URL(raw.strip())
    except httpx.InvalidURL:
        return None
    return origin_of(url) if url.scheme in ("http", "https") and url.host else None


def host_of(url: str) -> str:
    """The host of ``url`` for a log line (never the path or query, which may be signed)."""
    try:
        return httpx.URL(url).host or url.partition(":")[0]
    except httpx.InvalidURL:
        return "?"


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the event loop's resolver, off the loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass
class Fetched:
    """A job's results after downloading: files to attach, media to link instead, and how
    many files are neither (refused, and not safe to link)."""

    files: list[MediaFile] = field(default_factory=list)
    links: list[Media] = field(default_factory=list)
    oversized: bool = False  # some links are there because the file passed the upload limit
    unfetched: int = 0

    def discard(self) -> None:
        for file in self.files:
            file.discard()


class MediaFetcher:
    """Downloads result files under the rules in the module docstring. One per bot; the
    engine calls ``fetch_all`` once per job and ``discard``s the files after delivery.
    Tests inject small bounds, a fake ``resolver`` and an httpx ``transport``."""

    def __init__(
        self,
        *,
        trusted_origins: Iterable[str] = (),
        concurrency: int = DOWNLOAD_CONCURRENCY,
        deadline: float = FILE_DEADLINE,
        max_redirects: int = MAX_REDIRECTS,
        spool_over: int = SPOOL_OVER,
        spool_dir: str | None = None,
        resolver: Resolver = system_resolver,
        timeout: httpx.Timeout | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        found = (_origin_or_none(raw) for raw in trusted_origins)
        self.trusted_origins = frozenset(origin for origin in found if origin)
        self.deadline = deadline
        self.max_redirects = max_redirects
        self.spool_over = spool_over
        self.spool_dir = spool_dir
        self._resolve = resolver
        self._slots = asyncio.Semaphore(concurrency)
        self.client = httpx.AsyncClient(
            timeout=timeout
            or httpx.Timeout(
                connect=DOWNLOAD_CONNECT_TIMEOUT,
                read=DOWNLOAD_READ_TIMEOUT,
                write=DOWNLOAD_WRITE_TIMEOUT,
                pool=None,
            ),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,  # every hop is checked here
            trust_env=False,  # a proxy would resolve names itself, past the address check
            limits=httpx.Limits(max_keepalive_connections=0),
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def fetch_all(
        self, job_id: str, kind: str, media: Sequence[Media], limit: int, provider: Provider
    ) -> Fetched:
        """Every result of one job, in order, holding one of the ``concurrency`` slots."""
        fetched = Fetched()
        try:
            async with self._slots:
                for index, item in enumerate(media):
                    try:
                        file = await self.fetch(
                            item,
                            kind=kind,
                            limit=limit,
                            provider=provider,
                            job_id=job_id,
                            index=index,
                        )
                    except NotFetched as exc:
                        # the host only: a signed URL's query is as good as a password
                        log.warning(
                            "job=%s result %d not downloaded host=%s linked=%s: %s",
                            job_id,
                            index + 1,
                            host_of(item.url),
                            exc.linkable,
                            exc,
                        )
                        if exc.linkable:
                            fetched.links.append(item)
                            fetched.oversized = fetched.oversized or isinstance(exc, TooLarge)
                        else:
                            fetched.unfetched += 1
                    else:
                        fetched.files.append(file)
        except BaseException:
            fetched.discard()
            raise
        return fetched

    async def fetch(
        self,
        media: Media,
        *,
        kind: str,
        limit: int,
        provider: Provider,
        job_id: str = "result",
        index: int = 0,
    ) -> MediaFile:
        """One file, or NotFetched saying why not and whether it may be linked."""
        trail = Trail()
        try:
            async with asyncio.timeout(self.deadline):
                scheme = media.url.partition("://")[0].lower()
                if scheme in ("http", "https"):
                    return await self._fetch_http(media.url, kind, limit, job_id, index, trail)
                stream = provider.open_media(media.url)  # the sandbox's files
                return await self._store(
                    stream, media.content_type, kind, limit, job_id, index, media.url, trail
                )
        except TimeoutError:
            raise NotFetched(
                f"not complete within {self.deadline:g} s", linkable=trail.linkable
            ) from None
        except ProviderError as exc:  # open_media refused the URL or failed while reading
            raise NotFetched(f"the provider could not stream it: {exc}", linkable=False) from None

    # --- HTTP --------------------------------------------------------------------------

    async def _fetch_http(
        self, url: str, kind: str, limit: int, job_id: str, index: int, trail: Trail
    ) -> MediaFile:
        for hop in range(self.max_redirects + 1):
            response = await self._open(url, trail)
            try:
                location = response.headers.get("location")
                if response.status_code in REDIRECT_STATUSES and location:
                    if hop == self.max_redirects:
                        raise NotFetched(
                            f"more than {self.max_redirects} redirects", linkable=trail.linkable
                        )
                    try:
                        url = str(httpx.URL(url).join(location))
                    except httpx.InvalidURL:
                        raise Refused("a redirect to an invalid URL") from None
                    continue
                if response.status_code >= 400:
                    raise NotFetched(
                        f"HTTP {response.status_code} from the media host", linkable=trail.linkable
                    )
                length = response.headers.get("content-length", "")
                if length.isdigit() and int(length) > limit:
                    raise TooLarge(
                        f"{int(length)} bytes, over the {limit} byte limit", linkable=trail.linkable
                    )
                return await self._store(
                    response.aiter_bytes(),
                    response.headers.get("content-type"),
                    kind,
                    limit,
                    job_id,
                    index,
                    url,
                    trail,
                    declared=True,
                )
            finally:
                await response.aclose()
        raise AssertionError("unreachable: the loop returns or raises")

    async def _open(self, url: str, trail: Trail) -> httpx.Response:
        """Send the GET for ``url`` after checking it; the response's body is not read yet."""
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL:
            raise Refused("not a valid URL") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise Refused(f"a {parsed.scheme or 'relative'} URL is not fetched")
        if parsed.userinfo:
            raise Refused("URLs with credentials are not fetched")
        if origin_of(parsed) in self.trusted_origins:
            trail.allowed()
            return await self._send(self.client.build_request("GET", parsed), trail)
        if parsed.scheme != "https":
            raise Refused(f"{parsed.host} is not https and not a trusted origin")
        addresses = await self._checked_addresses(parsed)
        trail.allowed()
        last: Exception | None = None
        for address in addresses:  # every one is public; the first that answers is used
            request = self.client.build_request(
                "GET",
                parsed.copy_with(host=str(address)),
                headers={"Host": parsed.netloc.decode("ascii")},
                extensions={"sni_hostname": parsed.host},
            )
            try:
                return await self._send(request, trail, connect_errors=False)
            except httpx.ConnectError as exc:
                last = exc
        raise NotFetched(
            f"could not connect to {parsed.host} ({type(last).__name__})", linkable=trail.linkable
        )

    async def _checked_addresses(self, url: httpx.URL) -> list[Address]:
        port = url.port or 443
        try:
            found = await self._resolve(url.host, port)
        except (OSError, UnicodeError) as exc:
            raise NotFetched(
                f"{url.host} could not be resolved ({type(exc).__name__})", linkable=False
            ) from None
        addresses = []
        for raw in found:
            try:
                address = ipaddress.ip_address(raw)
            except ValueError:
                raise Refused(f"{url.host} resolved to something not an address") from None
            problem = address_problem(address)
            if problem:
                raise Refused(f"{url.host} resolves to a {problem} address")
            addresses.append(address)
        if not addresses:
            raise NotFetched(f"{url.host} has no address", linkable=False)
        return addresses

    async def _send(
        self, request: httpx.Request, trail: Trail, *, connect_errors: bool = True
    ) -> httpx.Response:
        try:
            return await self.client.send(request, stream=True)
        except httpx.ConnectError:
            if not connect_errors:
                raise
            raise NotFetched("could not connect", linkable=trail.linkable) from None
        except httpx.TransportError as exc:
            raise NotFetched(f"no answer ({type(exc).__name__})", linkable=trail.linkable) from None

    # --- the body ------------------------------------------------------------------------

    async def _store(
        self,
        chunks: AsyncIterator[bytes],
        content_type: str | None,
        kind: str,
        limit: int,
        job_id: str,
        index: int,
        source_url: str,
        trail: Trail,
        *,
        declared: bool = False,
    ) -> MediaFile:
        """Read ``chunks`` into a MediaFile. ``declared``: ``content_type`` is the server's
        Content-Type (checked); otherwise it is a provider's hint and the bytes decide."""
        said = bare_type(content_type)
        if declared and said not in UNTYPED and not fits_kind(said, kind):
            raise NotFetched(f"a {said} file is not a {kind} result", linkable=trail.linkable)
        writer = MediaWriter(limit, spool_over=self.spool_over, spool_dir=self.spool_dir)
        head = b""
        try:
            try:
                async for chunk in chunks:
                    if not writer.write(chunk):
                        raise TooLarge(
                            f"over the {limit} byte limit", linkable=trail.linkable
                        ) from None
                    if len(head) < SNIFF_BYTES:
                        head += chunk[: SNIFF_BYTES - len(head)]
            except httpx.TransportError as exc:
                raise NotFetched(
                    f"the download broke off ({type(exc).__name__})", linkable=trail.linkable
                ) from None
            finally:
                closing = getattr(chunks, "aclose", None)
                if closing is not None:
                    await closing()
            found = said if declared and said not in UNTYPED else sniff(head) or said
            if not found or not fits_kind(found, kind):
                shown = found or "an unrecognised"
                raise NotFetched(f"{shown} file is not a {kind} result", linkable=trail.linkable)
            return writer.finish(filename_for(job_id, index, found), found, source_url)
        except BaseException:
            writer.discard()
            raise

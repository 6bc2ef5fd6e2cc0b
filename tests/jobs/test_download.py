"""Result downloads (jobs/download.py): where the bot may fetch from, and the bounds on what it
fetches. Real HTTP servers on 127.0.0.1; the bounds are injected small so nothing waits long.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from jobs.download import Fetched, MediaFetcher, NotFetched, Refused, TooLarge, address_problem
from providers.base import Media, ProviderConfig
from providers.sandbox import SandboxProvider
from tests.emulators.base import serve
from tests.emulators.media import KIB, MIB, PNG, MediaServer, big_png

SANDBOX = SandboxProvider()  # stands in for "the job's provider" where no adapter is involved


@pytest.fixture
async def media() -> AsyncIterator[MediaServer]:
    async with serve(MediaServer()) as server:
        yield server  # type: ignore[misc]


@pytest.fixture
async def elsewhere() -> AsyncIterator[MediaServer]:
    """A second host on 127.0.0.1 (another port) that no fetcher trusts."""
    async with serve(MediaServer()) as server:
        yield server  # type: ignore[misc]


@pytest.fixture
async def fetcher(media: MediaServer, tmp_path: Path) -> AsyncIterator[MediaFetcher]:
    made = MediaFetcher(trusted_origins=[media.base_url], spool_dir=str(tmp_path))
    try:
        yield made
    finally:
        await made.aclose()


async def fetch(fetcher: MediaFetcher, url: str, kind: str = "image", limit: int = 8 * MIB):
    return await fetcher.fetch(Media(url), kind=kind, limit=limit, provider=SANDBOX, job_id="j1")


# --- where the bot may go ---------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # shared (carrier-grade NAT)
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:10.0.0.1",
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "2001:db8::1",  # documentation
    ],
)
def test_addresses_that_are_not_public_are_refused(address):
    assert address_problem(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "2002:808:808::1"]
)
def test_public_addresses_are_allowed(address):
    assert address_problem(ipaddress.ip_address(address)) is None


async def test_a_loopback_url_that_is_not_trusted_is_never_requested(media: MediaServer):
    untrusting = MediaFetcher()  # no trusted origin at all
    try:
        for url in (
            media.url("/typed/image/png/a.png?body=png"),  # http, and loopback
            media.url("/typed/image/png/a.png?body=png").replace("http:", "https:"),
            f"https://localhost:{media.base_url.rsplit(':', 1)[1]}/typed/image/png/a.png",
        ):
            with pytest.raises(Refused) as refused:
                await fetch(untrusting, url)
            assert refused.value.linkable is False
    finally:
        await untrusting.aclose()
    assert media.hits == []


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.7/result.png",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/result.png",
        "https://[fe80::1]/result.png",
        "https://[::ffff:192.168.0.1]/result.png",
        "http://93.184.216.34/result.png",  # public, but not https
        "https://user:secret@93.184.216.34/result.png",
    ],
)
async def test_private_addresses_and_other_schemes_are_refused(fetcher, url):
    with pytest.raises(Refused):
        await fetch(fetcher, url)


async def test_every_address_a_name_resolves_to_must_be_public():
    lookups: list[str] = []

    async def rebinding(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["93.184.216.34", "10.0.0.5"]  # one public answer does not make it safe

    def never(request: httpx.Request) -> httpx.Response:  # pragma: no cover - must not run
        raise AssertionError(f"connected to {request.url}")

    fetcher = MediaFetcher(resolver=rebinding, transport=httpx.MockTransport(never))
    try:
        with pytest.raises(Refused, match="private"):
            await fetch(fetcher, "https://cdn.example.com/result.png")
    finally:
        await fetcher.aclose()
    assert lookups == ["cdn.example.com"]


async def test_the_connection_goes_to_the_checked_address_with_the_name_kept_for_tls():
    """Resolved once, checked, then pinned: DNS cannot answer differently at connect time.
    The first address refuses the connection, the second answers."""
    lookups: list[str] = []
    seen: list[httpx.Request] = []

    async def resolver(host: str, port: int) -> list[str]:
        lookups.append(f"{host}:{port}")
        return ["93.184.216.34", "2606:2800:220:1::1"]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "93.184.216.34":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, headers={"Content-Type": "image/png"}, content=PNG)

    fetcher = MediaFetcher(resolver=resolver, transport=httpx.MockTransport(handler))
    try:
        file = await fetch(fetcher, "https://cdn.example.com:8443/r/1?sig=abc")
    finally:
        await fetcher.aclose()
    assert file.read() == PNG and file.filename == "bananabot-j1.png"
    assert file.source_url == "https://cdn.example.com:8443/r/1?sig=abc"
    assert lookups == ["cdn.example.com:8443"]
    assert [str(r.url) for r in seen] == [
        "https://93.184.216.34:8443/r/1?sig=abc",
        "https://[2606:2800:220:1::1]:8443/r/1?sig=abc",
    ]
    for request in seen:
        assert request.headers["Host"] == "cdn.example.com:8443"
        assert request.extensions["sni_hostname"] == "cdn.example.com"
        assert "authorization" not in request.headers and "cookie" not in request.headers


async def test_a_trusted_origin_does_not_vouch_for_where_it_redirects(fetcher, media, elsewhere):
    away = media.url(f"/away?to={elsewhere.url('/typed/image/png/x.png?body=png')}")

    with pytest.raises(Refused) as refused:
        await fetch(fetcher, away)

    assert "not https" in str(refused.value)
    assert refused.value.linkable is False  # it leads to a private address: never linked
    assert media.hits == ["/away"] and elsewhere.hits == []


async def test_a_redirect_to_https_on_a_private_address_is_refused(fetcher, media, elsewhere):
    port = elsewhere.base_url.rsplit(":", 1)[1]
    away = media.url(f"/away?to=https://127.0.0.1:{port}/typed/image/png/x.png")

    with pytest.raises(Refused, match="loopback"):
        await fetch(fetcher, away)
    assert elsewhere.hits == []


async def test_three_redirects_are_followed_and_a_fourth_is_refused(fetcher, media):
    file = await fetch(fetcher, media.url("/hop/3"))
    assert file.read() == PNG
    assert media.hits == ["/hop/3", "/hop/2", "/hop/1", "/hop/0"]

    media.hits.clear()
    with pytest.raises(NotFetched, match="more than 3 redirects") as refused:
        await fetch(fetcher, media.url("/hop/4"))
    assert media.hits == ["/hop/4", "/hop/3", "/hop/2", "/hop/1"]  # the end is never read
    assert refused.value.linkable is True  # every hop was allowed: the link may be shown


async def test_no_api_key_or_cookie_goes_to_a_media_host(fetcher, media):
    await fetch(fetcher, media.url("/hop/2"))
    assert media.auth_headers == []


# --- what the bot accepts ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "kind", "name"),
    [
        ("/typed/image/webp/picture.png?body=webp", "image", "bananabot-j1.webp"),
        ("/typed/image/png/download.php?body=png", "image", "bananabot-j1.png"),
        ("/typed/image/jpeg/x.webp", "image", "bananabot-j1.jpg"),  # the server's word counts
        ("/typed/application/octet-stream/blob?body=png", "image", "bananabot-j1.png"),
        ("/typed/none/none/blob?body=webp", "image", "bananabot-j1.webp"),
        ("/typed/video/mp4/clip.gif?body=mp4", "video", "bananabot-j1.mp4"),
        ("/typed/image/gif/clip.mp4?body=gif", "video", "bananabot-j1.gif"),  # sandbox videos
        ("/typed/application/octet-stream/clip?body=mp4", "video", "bananabot-j1.mp4"),
    ],
)
async def test_the_extension_comes_from_the_content_type_not_the_url(
    fetcher, media, path, kind, name
):
    file = await fetch(fetcher, media.url(path), kind)
    assert file.filename == name


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/typed/text/html/result.png", "image"),
        ("/typed/application/json/result.png?body=png", "image"),
        ("/typed/application/octet-stream/result.png", "image"),  # bytes are not an image
        ("/typed/image/png/result.mp4?body=png", "video"),  # a still is not a video
        ("/typed/video/mp4/result.png?body=mp4", "image"),
        ("/typed/application/octet-stream/result.png?body=mp4", "image"),
    ],
)
async def test_a_body_of_the_wrong_type_is_refused(fetcher, media, path, kind, tmp_path):
    with pytest.raises(NotFetched, match=f"not a {kind} result") as refused:
        await fetch(fetcher, media.url(path), kind)
    assert refused.value.linkable is True  # a trusted origin: shown as a link
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", ["/endless", "/declared-huge"])
async def test_an_oversized_file_is_abandoned_at_the_limit(fetcher, media, path, tmp_path):
    started = time.monotonic()
    with pytest.raises(TooLarge) as refused:
        await fetch(fetcher, media.url(path), limit=1 * MIB)
    assert time.monotonic() - started < 5
    assert refused.value.linkable is True
    await asyncio.sleep(0.1)  # let the server notice the closed connection
    assert media.sent < 32 * MIB  # of 256 MiB offered: socket buffers, not the whole body
    assert list(tmp_path.iterdir()) == []  # the partial spool file is gone


async def test_a_body_that_trickles_past_the_deadline_is_abandoned(media, tmp_path):
    fetcher = MediaFetcher(trusted_origins=[media.base_url], deadline=0.3, spool_dir=str(tmp_path))
    started = time.monotonic()
    try:
        with pytest.raises(NotFetched, match=r"not complete within 0\.3 s") as late:
            await fetch(fetcher, media.url("/trickle"))
    finally:
        await fetcher.aclose()
    assert 0.25 < time.monotonic() - started < 3  # each byte came well inside the read timeout
    assert late.value.linkable is True
    assert 0 < media.sent < 100


# --- where the bytes are kept -----------------------------------------------------------


async def test_a_large_file_is_spooled_to_disk_and_reads_whole_each_time(media, tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    fetcher = MediaFetcher(
        trusted_origins=[media.base_url], spool_over=256 * KIB, spool_dir=str(spool)
    )
    try:
        small = await fetch(fetcher, media.url("/big/100000"))
        large = await fetch(fetcher, media.url(f"/big/{3 * MIB}"))
    finally:
        await fetcher.aclose()

    assert not small.on_disk and small.read() == big_png(100_000)
    assert large.on_disk and large.path is not None and large.path.parent == spool
    assert large.size == large.path.stat().st_size == 3 * MIB
    with large.open() as first, large.open() as second:  # e.g. the channel, then a followup
        assert first.read() == second.read() == big_png(3 * MIB)
    large.discard()
    assert list(spool.iterdir()) == []


async def test_a_jobs_files_are_discarded_together(media, tmp_path):
    fetcher = MediaFetcher(
        trusted_origins=[media.base_url], spool_over=64 * KIB, spool_dir=str(tmp_path)
    )
    try:
        fetched = await fetcher.fetch_all(
            "j2", "image", [Media(media.url(f"/big/{200 * KIB}"))] * 2, 8 * MIB, SANDBOX
        )
    finally:
        await fetcher.aclose()
    assert [f.filename for f in fetched.files] == ["bananabot-j2.png", "bananabot-j2-2.png"]
    assert len(list(tmp_path.iterdir())) == 2
    fetched.discard()
    assert list(tmp_path.iterdir()) == []


# --- a job's results together -----------------------------------------------------------


async def test_fetch_all_links_what_may_be_linked_and_counts_the_rest(fetcher, media, elsewhere):
    good = Media(media.url("/typed/image/png/a.png?body=png"))
    huge = Media(media.url("/endless"))
    wrong = Media(media.url("/typed/text/html/b.png"))
    private = Media(media.url(f"/away?to={elsewhere.url('/typed/image/png/c.png')}"))
    untrusted = Media(elsewhere.url("/typed/image/png/d.png?body=png"))

    fetched = await fetcher.fetch_all(
        "j3", "image", [good, huge, wrong, private, untrusted], 1 * MIB, SANDBOX
    )

    assert isinstance(fetched, Fetched)
    assert [f.source_url for f in fetched.files] == [good.url]
    assert fetched.links == [huge, wrong]
    assert fetched.oversized is True
    assert fetched.unfetched == 2
    assert elsewhere.hits == []


async def test_at_most_download_concurrency_jobs_download_at_once(media):
    fetcher = MediaFetcher(trusted_origins=[media.base_url], concurrency=2)
    jobs = [[Media(media.url("/slow"))] * 2 for _ in range(5)]
    try:
        results = await asyncio.gather(
            *(
                fetcher.fetch_all(f"j{n}", "image", files, 8 * MIB, SANDBOX)
                for n, files in enumerate(jobs)
            )
        )
    finally:
        await fetcher.aclose()
    assert [len(r.files) for r in results] == [2] * 5
    assert media.most_active == 2  # two jobs at a time, each one file at a time
    assert media.hits.count("/slow") == 10


async def test_sandbox_files_come_through_the_provider_with_the_same_bounds(tmp_path):
    sandbox = SandboxProvider(speed=10**6)
    fetcher = MediaFetcher(spool_dir=str(tmp_path))
    try:
        image_url = "sandbox://sb-image-1-1-abc/0.png?ar=1:1&res=1K"
        video_url = "sandbox://sb-video-1-1-abc/0.gif?ar=1:1&res=480p&s=1"
        image = await fetcher.fetch(
            Media(image_url, content_type="image/png"), kind="image", limit=8 * MIB,
            provider=sandbox, job_id="s1",
        )  # fmt: skip
        video = await fetcher.fetch(
            Media(video_url, content_type="image/gif"), kind="video", limit=8 * MIB,
            provider=sandbox, job_id="s2",
        )  # fmt: skip
        with pytest.raises(TooLarge):
            await fetcher.fetch(Media(video_url), kind="video", limit=1000, provider=sandbox)
        with pytest.raises(NotFetched) as not_media:
            await fetcher.fetch(Media("ftp://x/y.png"), kind="image", limit=1000, provider=sandbox)
    finally:
        await fetcher.aclose()
    assert image.filename == "bananabot-s1.png" and image.read().startswith(b"\x89PNG")
    assert video.filename == "bananabot-s2.gif" and video.read().startswith(b"GIF89a")
    assert not_media.value.linkable is False


def test_http_adapters_have_no_media_stream_of_their_own():
    """Their HTTP client carries the API key; results never go through it."""
    from providers.nanobanana import NanoBananaProvider

    adapter = NanoBananaProvider(ProviderConfig(api_key="nb_sk_x", base_url="https://h"))
    with pytest.raises(Exception, match="no files at https"):
        adapter.open_media("https://h/files/x.png")

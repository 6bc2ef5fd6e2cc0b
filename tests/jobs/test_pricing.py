"""Pricer: cost previews are cached per priced options, shared while in flight, replaced by the
printed table when slow or failing, and failures are remembered only briefly."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from jobs.errors import PriceUnavailable
from jobs.pricing import PRICE_CACHE_SECONDS, PRICE_FAILURE_SECONDS, Pricer
from presentation.sentences import for_member
from providers.base import GenerationRequest, Kind, Provider, ProviderConfig
from providers.errors import UpstreamError


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class PreviewProvider(Provider):
    """Prices only through a (controllable) preview; ``table`` stands for a printed table."""

    id = "preview"
    display_name = "Preview"

    def __init__(self) -> None:
        super().__init__(ProviderConfig(api_key="k", base_url="http://preview.invalid"))
        self.calls = 0
        self.delay = 0.0
        self.error: Exception | None = None
        self.price = 12.0
        self.table: float | None = None

    def models(self):
        return ()

    async def estimate_cost(self, request: GenerationRequest) -> float:
        self.calls += 1
        await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return self.price

    def table_cost(self, request: GenerationRequest) -> float | None:
        return self.table

    async def submit(self, request, *, callback_url=None):
        raise NotImplementedError

    async def status(self, task_id, request):
        raise NotImplementedError

    def open_media(self, url):
        raise NotImplementedError


def video(prompt: str = "a banana", **options) -> GenerationRequest:
    return GenerationRequest(kind=Kind.VIDEO, model="clip", prompt=prompt, **options)


@pytest.fixture
def provider() -> PreviewProvider:
    return PreviewProvider()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pricer(provider, clock) -> Pricer:
    return Pricer({provider.id: provider}, lambda _pid: 1.5, timeout=0.2, clock=clock)


async def test_a_price_is_asked_once_per_priced_options(pricer, provider, clock):
    assert await pricer.price("preview", video(duration=5)) == 18  # 12 x 1.5
    assert await pricer.price("preview", video("other words", duration=5)) == 18
    assert pricer.cached("preview", video("third", duration=5)) == 18
    assert provider.calls == 1
    await pricer.price("preview", video(duration=10))  # another option: another price
    assert provider.calls == 2
    clock.now += PRICE_CACHE_SECONDS
    assert pricer.cached("preview", video(duration=5)) is None
    await pricer.price("preview", video(duration=5))
    assert provider.calls == 3


async def test_how_many_images_is_part_of_the_price_but_not_which(pricer, provider):
    one = video(reference_urls=("https://a.example/1.png",))
    await pricer.price("preview", one)
    await pricer.price("preview", video(reference_urls=("https://b.example/2.png",)))
    assert provider.calls == 1
    await pricer.price("preview", video(reference_urls=("https://a/1.png", "https://a/2.png")))
    assert provider.calls == 2


async def test_concurrent_asks_share_one_lookup(pricer, provider):
    provider.delay = 0.05
    prices = await asyncio.gather(*(pricer.price("preview", video(f"p{i}")) for i in range(5)))
    assert prices == [18] * 5 and provider.calls == 1


async def test_a_slow_preview_falls_back_to_the_table(pricer, provider, clock):
    provider.delay, provider.table = 1.0, 10.0
    assert await pricer.price("preview", video()) == 15
    # the table stands in briefly; then the preview is asked again
    provider.delay = 0.0
    assert await pricer.price("preview", video()) == 15 and provider.calls == 1
    clock.now += PRICE_FAILURE_SECONDS
    assert await pricer.price("preview", video()) == 18 and provider.calls == 2


async def test_a_failed_lookup_is_refused_briefly_not_forever(pricer, provider, clock):
    provider.error = UpstreamError("down", provider="preview")
    with pytest.raises(PriceUnavailable) as refused:
        await pricer.price("preview", video())
    assert "nothing was charged" in for_member(refused.value)
    provider.error = None
    with pytest.raises(PriceUnavailable):  # remembered for a short while: no new round trip
        await pricer.price("preview", video())
    assert provider.calls == 1
    assert pricer.cached("preview", video()) is None
    clock.now += PRICE_FAILURE_SECONDS
    assert await pricer.price("preview", video()) == 18 and provider.calls == 2


async def test_a_timeout_without_a_table_says_so(pricer, provider):
    provider.delay = 1.0
    with pytest.raises(PriceUnavailable) as refused:
        await pricer.price("preview", video())
    assert "in time" in for_member(refused.value) and "nothing was charged" in for_member(
        refused.value
    )


async def test_a_caller_giving_up_does_not_cancel_the_shared_lookup(pricer, provider):
    provider.delay = 0.1
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(pricer.price("preview", video()), 0.01)
    await asyncio.sleep(0.15)
    assert pricer.cached("preview", video()) == 18 and provider.calls == 1


async def test_prefetch_fills_the_cache_in_the_background(pricer, provider):
    pricer.prefetch("preview", video())
    pricer.prefetch("preview", video())
    assert pricer.cached("preview", video()) is None
    await asyncio.sleep(0.01)
    assert pricer.cached("preview", video()) == 18 and provider.calls == 1


async def test_price_now_answers_a_known_price_at_once_and_starts_an_unknown_one(pricer, provider):
    assert pricer.price_now("preview", video()) is None  # unknown: its lookup starts
    await asyncio.sleep(0.01)
    assert provider.calls == 1
    assert pricer.price_now("preview", video()) == 18
    # the prompt and which images are not part of a price; the options are
    other_prompt = dataclasses.replace(video(), prompt="something else entirely")
    assert pricer.price_now("preview", other_prompt) == 18
    longer = dataclasses.replace(video(), duration=10)
    assert pricer.price_now("preview", longer) is None
    await asyncio.sleep(0.01)
    assert provider.calls == 2


async def test_price_now_leaves_a_remembered_refusal_to_price(pricer, provider):
    provider.error = UpstreamError("preview down")
    with pytest.raises(PriceUnavailable):
        await pricer.price("preview", video())
    calls = provider.calls
    assert pricer.price_now("preview", video()) is None
    with pytest.raises(PriceUnavailable):  # the refusal, again, without asking
        await pricer.price("preview", video())
    assert provider.calls == calls

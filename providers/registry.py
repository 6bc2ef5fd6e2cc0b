"""Which adapters exist, which are enabled, and how a model name becomes a (provider, model).

``model`` options take a model id as the documents spell it, or ``provider:model`` to pin a
provider. An id several providers share resolves to the first enabled one in ADAPTERS order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import httpx

from providers.aivideoapi import AIVideoAPIProvider
from providers.base import Kind, ModelSpec, Provider
from providers.errors import InvalidRequest
from providers.http import RequestObserver
from providers.nananobanana import NanaNoBananaProvider
from providers.nanobanana import NanoBananaProvider
from providers.nanobananavideo import NanoBananaVideoProvider
from providers.sandbox import SandboxProvider

ADAPTERS: dict[str, type[Provider]] = {
    "nanobanana": NanoBananaProvider,
    "nanobananavideo": NanoBananaVideoProvider,
    "aivideoapi": AIVideoAPIProvider,
    "nananobanana": NanaNoBananaProvider,
}


class UnknownModel(InvalidRequest, LookupError):
    """No model the command can use by that name (or none at all); the subclasses say why."""


class NoModelEnabled(UnknownModel):
    """No enabled provider offers a model of this kind."""

    kind: str


class ModelNotEnabled(UnknownModel):
    """The model named is not offered by any enabled provider; ``available`` are."""

    name: str
    kind: str
    available: tuple[str, ...]  # the ids the server allows


class ModelUnusableHere(UnknownModel):
    """The model exists but cannot do this command's job."""

    name: str
    needs_image: bool = False  # it needs an input image the command does not take


class ModelNotAllowed(UnknownModel):
    """The server does not allow the model (``/settings model``)."""


class NoModelAllowed(ModelNotAllowed):
    """The server allows none of the models that could do this."""

    kind: str


class ModelRefusedHere(ModelNotAllowed):
    """The model named is one the server does not allow; ``allowed`` are, when known."""

    name: str
    allowed: tuple[str, ...] | None = None


class ProviderRegistry:
    def __init__(self, providers: Iterable[Provider]) -> None:
        self.providers: dict[str, Provider] = {p.id: p for p in providers}

    @classmethod
    def from_settings(
        cls,
        settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> ProviderRegistry:
        """Enabled adapters; ``clock`` is the engine's, so the sandbox's delays follow it."""
        built: list[Provider] = []
        for provider_id, adapter in ADAPTERS.items():
            config = settings.providers.get(provider_id)
            if config is not None:
                built.append(adapter(config, transport=transport))  # type: ignore[call-arg]
        if settings.sandbox:
            built.append(SandboxProvider(clock=clock))
        return cls(built)

    def get(self, provider_id: str) -> Provider | None:
        return self.providers.get(provider_id)

    def models(self, kind: Kind, *, image_input: bool | None = None) -> list[ModelSpec]:
        """Enabled models of a kind, providers in ADAPTERS order, sandbox last."""
        found = []
        for provider in self.providers.values():
            for spec in provider.models():
                if spec.kind is not kind:
                    continue
                if image_input is True and not spec.image_input:
                    continue
                if image_input is False and spec.requires_image:
                    continue
                found.append(spec)
        return found

    def resolve(
        self,
        name: str | None,
        kind: Kind,
        *,
        default: str | None = None,
        server_default: str | None = None,
        image_input: bool | None = None,
        accepts: Callable[[ModelSpec], bool] | None = None,
        allowed: Callable[[ModelSpec], bool] | None = None,
    ) -> ModelSpec:
        """The model a command should use. Raises UnknownModel saying why there is none.

        ``allowed`` is the server's say (``/settings model``): a model it refuses is never
        picked, and one named is refused with ModelNotAllowed. A model the member names is
        used as named (the options' check then says what it does not take). Without one:
        ``server_default`` (``/settings default``), then ``default`` (the operator's), each
        when it is allowed, can do the job and ``accepts`` the options given; else the first
        allowed model that can and does, in ADAPTERS order and each provider's own order
        (nanobananavideo lists its image-to-video endpoint's default, seedance2, first);
        else the first allowed one that can do the job, whose check then explains the refusal.
        """
        candidates = self.models(kind, image_input=image_input)
        if not candidates:
            raise NoModelEnabled(kind=kind.value)
        permitted = [spec for spec in candidates if allowed is None or allowed(spec)]
        if name and name.strip():
            return self._named(name.strip(), kind, candidates, image_input, allowed)
        if not permitted:
            raise NoModelAllowed(kind=kind.value)
        for preferred in (server_default, default):
            if not (preferred and preferred.strip()):
                continue
            try:
                spec = self._named(preferred.strip(), kind, candidates, image_input, allowed)
            except UnknownModel:  # a default that cannot (or may not) do this job gives way
                continue
            if accepts is None or accepts(spec):
                return spec
        fitting = (spec for spec in permitted if accepts is None or accepts(spec))
        return next(fitting, permitted[0])  # lazily: checking a model's options has a cost

    def _named(
        self,
        wanted: str,
        kind: Kind,
        candidates: list[ModelSpec],
        image_input: bool | None,
        allowed: Callable[[ModelSpec], bool] | None = None,
    ) -> ModelSpec:
        provider_id, _, model_id = wanted.rpartition(":")
        matches = [
            m
            for m in self.models(kind)
            if m.id.lower() == model_id.lower()
            and (not provider_id or m.provider == provider_id.lower())
        ]
        permitted = [m for m in candidates if allowed is None or allowed(m)]
        if not matches:
            available = tuple(sorted({m.id for m in permitted}))
            raise ModelNotEnabled(name=wanted, kind=kind.value, available=available)
        usable = [m for m in matches if m in candidates]
        if not usable:
            raise ModelUnusableHere(name=wanted, needs_image=image_input is False)
        usable_here = [m for m in usable if allowed is None or allowed(m)]
        if not usable_here:
            allowed_here = tuple(sorted({m.id for m in permitted}))
            raise ModelRefusedHere(name=wanted, allowed=allowed_here)
        return usable_here[0]

    def observe_requests(self, observer: RequestObserver | None) -> None:
        """Tell ``observer`` of every HTTP request an adapter makes (the bot's metrics)."""
        for provider in self.providers.values():
            if provider.http is not None:
                provider.http.observer = observer

    async def aclose(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()

"""All four provider emulators at once, and the settings that point the bot at them: what the
end-to-end tests and the acknowledgement bench both start."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import NamedTuple

from tests.emulators.aivideoapi import AIVideoAPIEmulator
from tests.emulators.base import serve
from tests.emulators.nananobanana import NanaNoBananaEmulator
from tests.emulators.nanobanana import NanoBananaEmulator
from tests.emulators.nanobananavideo import NanoBananaVideoEmulator


class Providers(NamedTuple):
    nanobanana: NanoBananaEmulator
    aivideoapi: AIVideoAPIEmulator
    nananobanana: NanaNoBananaEmulator
    nanobananavideo: NanoBananaVideoEmulator

    def env(self) -> dict[str, str]:
        """Each provider's key and base URL, as the bot reads them from the environment."""
        found = {}
        for name, emulator in self._asdict().items():
            found[f"{name.upper()}_API_KEY"] = emulator.api_key
            found[f"{name.upper()}_BASE_URL"] = emulator.base_url
        return found


@contextlib.asynccontextmanager
async def serve_providers(task_seconds: float) -> AsyncIterator[Providers]:
    """The four emulators on 127.0.0.1, their tasks taking ``task_seconds``."""
    providers = Providers(
        NanoBananaEmulator(),
        AIVideoAPIEmulator(task_seconds=task_seconds),
        NanaNoBananaEmulator(),
        NanoBananaVideoEmulator(),
    )
    for emulator in providers:
        emulator.task_seconds = task_seconds
    async with contextlib.AsyncExitStack() as stack:
        for emulator in providers:
            await stack.enter_async_context(serve(emulator))
        yield providers

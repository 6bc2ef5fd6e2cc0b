"""check_key: every HTTP adapter can prove its key with a request that costs nothing."""

from __future__ import annotations

import pytest

from providers.base import Provider
from providers.registry import ADAPTERS
from providers.sandbox import SandboxProvider


def test_every_http_adapter_has_a_way_to_check_its_key():
    for adapter in ADAPTERS.values():
        has_balance = adapter.balance is not Provider.balance
        assert has_balance or adapter.check_key is not Provider.check_key, adapter.id


async def test_an_adapter_without_any_key_request_says_so():
    with pytest.raises(NotImplementedError):
        await SandboxProvider().check_key()

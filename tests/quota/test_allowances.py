"""Allowance resolution: own setting > highest role setting > server default > the
configured default; every server keeps its own settings, usage and bonus."""

from __future__ import annotations

import pytest

from db import ledger
from tests.quota.helpers import make_job

ROLE_A, ROLE_B, ROLE_C = 501, 502, 503


@pytest.mark.parametrize(
    ("own", "roles", "member_roles", "default", "expected"),
    [
        (None, {}, [], None, 50),  # nothing set: QUOTA_DEFAULT_CREDITS
        (None, {}, [ROLE_A], None, 50),
        (None, {}, [], 30, 30),  # server default
        (None, {ROLE_A: 80}, [], 30, 30),  # a role the member does not hold
        (None, {ROLE_A: 80}, [ROLE_A], 30, 80),  # role beats server default
        (None, {ROLE_A: 10}, [ROLE_A], 30, 10),  # ... even when lower
        (None, {ROLE_A: 80, ROLE_B: 20}, [ROLE_A, ROLE_B], 30, 80),  # highest role
        (None, {ROLE_A: 80, ROLE_B: 20}, [ROLE_B, ROLE_C], None, 20),
        (None, {ROLE_A: 0}, [ROLE_A], 30, 0),  # 0 is a setting, not "unset"
        (5, {ROLE_A: 80}, [ROLE_A], 30, 5),  # own beats everything
        (0, {}, [], 30, 0),
        (None, {}, [], 0, 0),
        (70, {}, [], None, 70),
    ],
)
async def test_allowance_resolution(quota, own, roles, member_roles, default, expected):
    if own is not None:
        await quota.set_allowance(1, 10, own, actor_id=99)
    for role_id, amount in roles.items():
        await quota.set_role_allowance(1, role_id, amount, actor_id=99)
    if default is not None:
        await quota.set_default_allowance(1, default, actor_id=99)

    assert (await quota.balance(1, 10, member_roles)).allowance == expected
    balance = await quota.balance(1, 10, member_roles)
    assert (balance.allowance, balance.left, balance.allowance_left) == (expected,) * 3
    # another member of the server without an own setting and without roles
    assert (await quota.balance(1, 11)).allowance == (default if default is not None else 50)


async def test_reservation_uses_the_role_allowance(db, quota):
    await quota.set_role_allowance(1, ROLE_A, 100, actor_id=99)
    await quota.reserve_job(make_job(cost=80), [ROLE_A])
    balance = await quota.balance(1, 10, [ROLE_A])
    assert (balance.allowance, balance.left, balance.reserved) == (100, 20, 80)
    # without the role the member's allowance is 50 and those 80 already took all of it
    assert (await quota.balance(1, 10)).left == 0
    assert await ledger.consistency_problems(db) == []


async def test_settings_are_updated_in_place(db, quota):
    await quota.set_allowance(1, 10, 20, actor_id=99, reason="first")
    await quota.set_allowance(1, 10, 40, actor_id=98, reason="second")
    assert (await quota.balance(1, 10)).allowance == 40
    row = await db.fetchone("SELECT * FROM allowances WHERE scope = 'user'")
    assert (row["amount"], row["updated_by"]) == (40, 98)
    with pytest.raises(ValueError):
        await quota.set_allowance(1, 10, -1, actor_id=99)
    with pytest.raises(ValueError):
        await quota.set_role_allowance(1, ROLE_A, -1, actor_id=99)
    with pytest.raises(ValueError):
        await quota.set_default_allowance(1, -5, actor_id=99)
    assert (await quota.balance(1, 10)).allowance == 40


async def test_setting_changes_are_audited(quota):
    await quota.set_allowance(1, 10, 25, actor_id=99, reason="event winner")
    await quota.set_role_allowance(1, ROLE_A, 70, actor_id=98)
    await quota.set_default_allowance(1, 40, actor_id=97)

    (own,) = await quota.history(1, 10)
    assert (own.kind, own.amount, own.allowance_delta, own.bonus_delta) == ("set", 25, 0, 0)
    assert (own.actor_id, own.reason, own.job_id) == (99, "event winner", None)
    (role,) = await quota.history(1, ROLE_A)
    assert (role.kind, role.amount, role.actor_id, role.reason) == (
        "set",
        70,
        98,
        "role allowance",
    )
    (default,) = await quota.history(1, 1)  # the guild id: the @everyone role
    assert (default.amount, default.actor_id, default.reason) == (
        40,
        97,
        "server default allowance",
    )


async def test_servers_are_separate(db, quota):
    await quota.set_allowance(1, 10, 20, actor_id=99)
    await quota.set_role_allowance(1, ROLE_A, 90, actor_id=99)
    await quota.set_default_allowance(2, 35, actor_id=99)
    # guild 1: own setting; guild 2: the role set in guild 1 does not count, the default does
    assert (await quota.balance(1, 10, [ROLE_A])).allowance == 20
    assert (await quota.balance(2, 10, [ROLE_A])).allowance == 35
    assert (await quota.balance(1, 11, [ROLE_A])).allowance == 90
    assert (await quota.balance(2, 11)).allowance == 35

    await quota.reserve_job(make_job(guild_id=1, cost=15))
    await quota.grant(2, 10, 5, actor_id=99, reason="welcome")
    one, two = await quota.balance(1, 10), await quota.balance(2, 10)
    assert (one.left, one.reserved, one.bonus, one.running_jobs) == (5, 15, 0, 1)
    assert (two.left, two.reserved, two.bonus, two.running_jobs) == (40, 0, 5, 0)
    assert await quota.reset(2, 10, actor_id=99) == 0
    assert [r.kind for r in await quota.history(1, 10)] == ["reserve", "set"]
    assert [r.kind for r in await quota.history(2, 10)] == ["reset", "grant"]
    assert await ledger.consistency_problems(db) == []

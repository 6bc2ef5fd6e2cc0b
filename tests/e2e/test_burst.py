"""Many members at the same moment: every reply comes first, the reservations follow in shared
transactions and the jobs after them, yet each member is charged once for their own job and
gets a provider task of their own, and a member without credits sees their card turn into
"did not start" (nothing charged, no task) and alone reads why."""

from __future__ import annotations

import asyncio

from db.ledger import consistency_problems
from tests.e2e.conftest import BOB, GUILD, MOD

FIRST = 900_000_000_000_100_000
MEMBERS = 20
MODEL = "aivideoapi:nano-banana-2"  # an account without a per-minute limit


async def test_a_burst_of_commands_gives_each_member_a_card_a_task_and_one_charge(world):
    members = [FIRST + i for i in range(MEMBERS)]
    for i, member in enumerate(members):
        world.fake.add_member(GUILD, member, f"member{i}")
    async with world.bot() as bot:
        await bot.quota.set_allowance(GUILD, BOB, 0, actor_id=MOD)  # Bob has nothing to spend
        recs = await asyncio.gather(
            *(
                world.slash("image", {"prompt": f"banana number {i}", "model": MODEL}, user=member)
                for i, member in enumerate(members)
            ),
            world.slash("image", {"prompt": "banana for bob", "model": MODEL}, user=BOB),
        )
        callbacks = await asyncio.gather(*(world.fake.wait_for_callback(r) for r in recs))
        # everyone's card first (the reservations follow the replies, in shared transactions)
        assert all(c.type == 4 and not c.ephemeral and c.data["embeds"] for c in callbacks)
        # Bob's card then says it did not start; only Bob reads that his credits are short
        bobs = recs[-1]
        card = await world.fake.wait_for_original(
            bobs, lambda m: m.embeds[0]["title"].startswith("Did not start")
        )
        assert "not enough credits" in card.embeds[0]["description"]
        assert "Nothing was charged" in card.embeds[0]["description"]
        told = await world.fake.wait_until(lambda: bobs.followups, what="Bob's reason")
        assert told[0].ephemeral and "nothing was charged" in told[0].content
        assert "you have 0 left" in told[0].content

        for member in members:
            await world.result_message(user=member)
        await world.idle(bot)

        submitted = [
            body["input"]["prompt"]
            for method, path, body in world.aivideoapi.requests
            if method == "POST" and path == "/v1/images/generations"
        ]
        assert sorted(submitted) == sorted(f"banana number {i}" for i in range(MEMBERS))
        for member in members:
            rows = await bot.db.fetchall(
                "SELECT kind, amount FROM ledger WHERE user_id = ? ORDER BY id", (member,)
            )
            assert [kind for kind, _ in rows] == ["reserve", "settle"]
            balance = await bot.quota.balance(GUILD, member)
            assert balance.reserved == 0 and balance.used == rows[1][1] > 0
        bob = await bot.db.fetchall("SELECT kind FROM ledger WHERE user_id = ?", (BOB,))
        assert [row[0] for row in bob] == ["set"]  # the allowance setting, no charge
        assert await consistency_problems(bot.db) == []


async def test_a_burst_of_replies_shares_a_few_kept_alive_connections(world, monkeypatch):
    """Replies reuse the bot's connections to Discord instead of opening one each (in
    production, a TLS handshake each): at most DISCORD_CONNECTIONS at once, all answered."""
    monkeypatch.setattr("bot.DISCORD_CONNECTIONS", 3)
    members = [FIRST + i for i in range(MEMBERS)]
    for i, member in enumerate(members):
        world.fake.add_member(GUILD, member, f"member{i}")
    async with world.bot() as bot:
        recs = await asyncio.gather(
            *(
                world.slash("image", {"prompt": f"banana number {i}", "model": MODEL}, user=member)
                for i, member in enumerate(members)
            )
        )
        callbacks = await asyncio.gather(*(world.fake.wait_for_callback(r) for r in recs))
        assert all(c.type == 4 and c.data["embeds"] for c in callbacks)
        used = {
            r.connection
            for r in world.fake.requests
            if r.path.endswith("/callback") and r.status < 300
        }
        assert 1 <= len(used) <= 3
        for member in members:
            await world.result_message(user=member)
        await world.idle(bot)

"""/quota and /credits for moderators, as a server's moderators use them from Discord."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ALICE, BOB, GUILD, LOG_CHANNEL, MOD, MOD_ROLE, VIP_ROLE

SUBCOMMANDS = [
    ("show", {"user": BOB}),
    ("set", {"user": BOB, "amount": 500}),
    ("grant", {"user": BOB, "amount": 50}),
    ("reset", {"user": BOB}),
    ("default", {"amount": 500}),
    ("role", {"role": VIP_ROLE, "amount": 500}),
    ("history", {"user": BOB}),
    ("modrole", {"role": VIP_ROLE}),
    ("logchannel", {"channel": LOG_CHANNEL}),
    ("usage", {}),
    ("export", {}),
]


@pytest.mark.parametrize(("sub", "options"), SUBCOMMANDS)
async def test_members_cannot_use_any_quota_subcommand(world, sub, options):
    async with world.bot() as bot:
        rec = await world.slash("quota", options, subcommand=sub)
        callback = await world.fake.wait_for_callback(rec)
        assert callback.ephemeral and "Only moderators" in callback.content
        rows = await bot.db.fetchall("SELECT kind FROM ledger")
        settings = await bot.db.fetchall(
            "SELECT * FROM allowances UNION ALL SELECT guild_id, 0, 0, 0, 0, 0 FROM guild_settings"
        )
        assert rows == [] and settings == []


async def test_moderator_manages_a_member_and_the_log_channel_records_it(world):
    async with world.bot() as bot:
        rec = await world.slash(
            "quota", {"channel": LOG_CHANNEL}, subcommand="logchannel", user=MOD
        )
        assert (await world.fake.wait_for_callback(rec)).ephemeral
        rec = await world.slash(
            "quota",
            {"user": ALICE, "amount": 25, "reason": "contest winner"},
            subcommand="grant",
            user=MOD,
        )
        callback = await world.fake.wait_for_callback(rec)
        assert callback.ephemeral and "25 bonus credits" in callback.content
        rec = await world.slash("quota", {"user": ALICE, "amount": 10}, subcommand="set", user=MOD)
        await world.fake.wait_for_callback(rec)
        balance = await bot.quota.balance(GUILD, ALICE)
        assert (balance.allowance, balance.bonus, balance.left) == (10, 25, 35)

        rec = await world.slash("quota", {"user": ALICE}, subcommand="history", user=MOD)
        history = (await world.fake.wait_for_callback(rec)).data["embeds"][0]["description"]
        lines = history.splitlines()
        assert "allowance set to 10" in lines[0] and "contest winner" in lines[1]

        rec = await world.slash("credits", {"user": ALICE}, user=MOD)
        # balances not cached yet: deferred, then the reply replaces the "thinking" message
        reply = await world.fake.wait_for_original(rec)
        assert reply.ephemeral and reply.content == "35 / 10"
        fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
        assert "nanobanana: 500 provider credits" in fields["Provider accounts"]

        log = await world.fake.wait_until(
            lambda: (
                len(world.fake.messages.get(LOG_CHANNEL, [])) >= 3
                and world.fake.messages[LOG_CHANNEL]
            ),
            what="three log lines",
        )
        assert "contest winner" in log[1].content
        assert all(m.pings() == {"users": set(), "roles": set(), "everyone": False} for m in log)


async def test_member_cannot_read_someone_elses_credits(world):
    async with world.bot():
        rec = await world.slash("credits", {"user": BOB})
        callback = await world.fake.wait_for_callback(rec)
        assert callback.ephemeral and "Only moderators" in callback.content
        assert "Provider accounts" not in str(callback.data)


async def test_mod_role_set_with_quota_modrole_grants_access(world):
    world.fake.add_member(GUILD, BOB, "bob", roles=[MOD_ROLE])
    async with world.bot():
        rec = await world.slash("quota", {"user": ALICE}, subcommand="show", user=BOB)
        assert "Only moderators" in (await world.fake.wait_for_callback(rec)).content
        rec = await world.slash("quota", {"role": MOD_ROLE}, subcommand="modrole", user=MOD)
        await world.fake.wait_for_callback(rec)
        rec = await world.slash("quota", {"user": ALICE}, subcommand="show", user=BOB)
        assert (await world.fake.wait_for_callback(rec)).content == "100 / 100"


async def test_role_allowance_applies_to_holders(world):
    world.fake.add_member(GUILD, BOB, "bob", roles=[VIP_ROLE])
    async with world.bot():
        rec = await world.slash(
            "quota", {"role": VIP_ROLE, "amount": 300}, subcommand="role", user=MOD
        )
        await world.fake.wait_for_callback(rec)
        rec = await world.slash("credits", user=BOB)
        assert (await world.fake.wait_for_callback(rec)).content == "300 / 300"
        rec = await world.slash("credits", user=ALICE)
        assert (await world.fake.wait_for_callback(rec)).content == "100 / 100"


async def test_too_many_running_jobs_gets_a_clear_message(world):
    world.nanobanana.task_seconds = 3
    async with world.bot(MAX_JOBS_PER_USER="1") as bot:
        first = await world.slash("image", {"prompt": "one", "model": "nanobanana:nano-banana"})
        await world.fake.wait_for_callback(first)
        second = await world.slash("image", {"prompt": "two", "model": "nanobanana:nano-banana"})
        # the card comes first; the reservation that follows refuses, so the card says it did
        # not start, and the member alone reads why
        card = await world.fake.wait_for_original(
            second, lambda m: m.embeds[0]["title"].startswith("Did not start")
        )
        assert not card.ephemeral and "Nothing was charged" in card.embeds[0]["description"]
        told = await world.fake.wait_until(lambda: second.followups, what="the reason")
        assert told[0].ephemeral and "limit is 1 at a time" in told[0].content
        await world.result_message()
        await world.idle(bot)
        assert len(world.nanobanana.tasks) == 1
        rows = await bot.db.fetchall("SELECT kind FROM ledger WHERE user_id = ?", (ALICE,))
        assert [row[0] for row in rows] == ["reserve", "settle"]  # the first job only

"""Moderators cannot make themselves more than they are, and every moderator action is on the
record: /quota modrole and /quota logchannel need Manage Server itself; @everyone and managed
roles cannot be the moderator role; each grant, set, reset and setting change is posted to the
log channel naming who, whom, how much and why, pinging nobody."""

from __future__ import annotations

from tests.e2e.conftest import (
    ALICE,
    CHANNEL,
    GUILD,
    HELPER,
    LOG_CHANNEL,
    MOD,
    MOD_ROLE,
    VIP_ROLE,
)

BOT_ROLE = 900_000_000_000_000_030  # the role Discord gives an integration: managed
SECOND_LOG = 900_000_000_000_000_004
NO_PINGS = {"users": set(), "roles": set(), "everyone": False}


async def quota(world, sub: str, options: dict, *, user: int = MOD):
    rec = await world.slash("quota", options, subcommand=sub, user=user)
    return await world.fake.wait_for_callback(rec)


def log_lines(world, channel: int = LOG_CHANNEL) -> list[str]:
    return [m.content for m in world.fake.messages.get(channel, [])]


async def guild_settings(bot) -> tuple[int | None, int | None]:
    row = await bot.db.fetchone(
        "SELECT mod_role_id, log_channel_id FROM guild_settings WHERE guild_id = ?", (GUILD,)
    )
    return (row[0], row[1]) if row else (None, None)


async def test_a_mod_role_holder_cannot_change_who_moderates_or_where_it_is_logged(world):
    async with world.bot() as bot:
        await quota(world, "logchannel", {"channel": LOG_CHANNEL})
        await quota(world, "modrole", {"role": MOD_ROLE})
        granted = await quota(world, "grant", {"user": ALICE, "amount": 5}, user=HELPER)
        assert "granted" in granted.content  # a moderator through the role...
        await world.fake.wait_until(lambda: len(log_lines(world)) == 3, what="three log lines")

        refused = await quota(world, "modrole", {"role": VIP_ROLE}, user=HELPER)
        assert refused.ephemeral and "Manage Server" in refused.content
        assert "a moderator role is not enough" in refused.content
        refused = await quota(world, "logchannel", {"channel": CHANNEL}, user=HELPER)
        assert refused.ephemeral and "Manage Server" in refused.content

        assert await guild_settings(bot) == (MOD_ROLE, LOG_CHANNEL)  # ...but nothing changed
        assert len(log_lines(world)) == 3
        posted_in_channel = [m for m in world.fake.messages[CHANNEL] if m.interaction_id is None]
        assert posted_in_channel == []  # no log line went to the channel HELPER named


async def test_everyone_and_managed_roles_cannot_be_the_moderator_role(world):
    world.fake.add_role(GUILD, BOT_ROLE, "Some Bot", 0).managed = True
    async with world.bot() as bot:
        refused = await quota(world, "modrole", {"role": GUILD})  # @everyone: id == guild id
        assert refused.ephemeral
        assert refused.content.startswith("@everyone cannot be the moderator role")
        assert "every member has it" in refused.content
        assert "Choose a role that only your moderators have" in refused.content

        refused = await quota(world, "modrole", {"role": BOT_ROLE})
        assert refused.ephemeral
        assert refused.content.startswith(f"<@&{BOT_ROLE}> cannot be the moderator role")
        assert "managed by an integration" in refused.content
        assert "Choose a role that you hand out yourself" in refused.content

        assert await guild_settings(bot) == (None, None)
        still = await quota(world, "show", {"user": ALICE}, user=ALICE)
        assert "Only moderators" in still.content  # @everyone did not become moderators


async def test_every_moderator_action_is_logged_naming_who_whom_how_much_and_why(world):
    world.fake.add_channel(GUILD, SECOND_LOG, "mod-log")
    mod = f"🛡️ <@{MOD}>"
    steps = [
        (
            "logchannel",
            {"channel": LOG_CHANNEL},
            f"{mod} set the log channel to <#{LOG_CHANNEL}> (was not set).",
        ),
        (
            "grant",
            {"user": ALICE, "amount": 25, "reason": "contest winner"},
            f"{mod} granted <@{ALICE}> 25 bonus credits (reason: contest winner).",
        ),
        (
            "grant",
            {"user": ALICE, "amount": -5, "reason": "typo"},
            f"{mod} took 5 bonus credits from <@{ALICE}> (reason: typo).",
        ),
        (
            "set",
            {"user": ALICE, "amount": 10, "reason": "new member"},
            f"{mod} set <@{ALICE}>'s allowance to 10 credits per period (reason: new member).",
        ),
        (
            "set",
            {"user": ALICE, "amount": 12},
            f"{mod} set <@{ALICE}>'s allowance to 12 credits per period.",
        ),
        (
            "reset",
            {"user": ALICE, "reason": "refund for an outage"},
            f"{mod} reset <@{ALICE}>'s usage for this period, 0 credits back "
            "(reason: refund for an outage).",
        ),
        ("default", {"amount": 60}, f"{mod} set the server's default allowance to 60 credits."),
        (
            "role",
            {"role": VIP_ROLE, "amount": 300},
            f"{mod} set the allowance for <@&{VIP_ROLE}> to 300 credits.",
        ),
        (
            "modrole",
            {"role": MOD_ROLE},
            f"{mod} set the moderator role to <@&{MOD_ROLE}> (was not set).",
        ),
        (
            "modrole",
            {"role": VIP_ROLE},
            f"{mod} set the moderator role to <@&{VIP_ROLE}> (was <@&{MOD_ROLE}>).",
        ),
    ]
    async with world.bot() as bot:
        for count, (sub, options, line) in enumerate(steps, start=1):
            answer = await quota(world, sub, options)
            assert answer.ephemeral and answer.content == line.removeprefix(f"{mod} ")
            await world.fake.wait_until(
                lambda n=count: len(log_lines(world)) >= n, what=f"log line for /quota {sub}"
            )
            assert log_lines(world)[-1] == line

        # Moving the log: both the old and the new channel are told, so it cannot move quietly.
        await quota(world, "logchannel", {"channel": SECOND_LOG})
        moved = f"{mod} set the log channel to <#{SECOND_LOG}> (was <#{LOG_CHANNEL}>)."
        await world.fake.wait_until(lambda: log_lines(world, SECOND_LOG), what="the new log")
        await world.fake.wait_until(lambda: len(log_lines(world)) == len(steps) + 1, what="old")
        assert log_lines(world, SECOND_LOG) == [moved] and log_lines(world)[-1] == moved

        for channel in (LOG_CHANNEL, SECOND_LOG):
            for message in world.fake.messages[channel]:
                assert message.pings() == NO_PINGS, message.content
        history = await bot.quota.history(GUILD, ALICE, limit=10)
        assert [row.reason for row in history[:2]] == ["refund for an outage", None]

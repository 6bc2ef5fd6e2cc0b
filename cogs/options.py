"""Autocomplete and attachment helpers shared by the generation cogs (not a cog itself)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import discord
from discord import app_commands

from jobs.records import Job
from jobs.service import JobService
from jobs.validation import InputImage
from presentation.discord_limits import CHOICE_NAME_MAX, CHOICE_VALUE_MAX, CHOICES_MAX, clip
from presentation.refusals import ResultForgotten
from providers.base import ModelSpec
from quota.server_settings import GuildPolicy

RESULT_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")  # what Animate and Edit work on

Autocomplete = Callable[
    [discord.Interaction, str], Coroutine[Any, Any, list[app_commands.Choice[str]]]
]


def attachment_input(attachment: discord.Attachment) -> InputImage:
    return InputImage(
        url=attachment.url,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size=attachment.size,
    )


async def result_job(jobs: JobService, job_id: str) -> Job:
    """The job behind a result's button or form; refused when the bot no longer knows it."""
    job = await jobs.get(job_id)
    if job is None:
        raise ResultForgotten()
    return job


def source_image(message: discord.Message | None, job: Job) -> InputImage | None:
    """The result's image to work on: the message's first image attachment, else the job's
    first https media link; None when there is neither."""
    for attachment in message.attachments if message else []:
        if attachment.filename.lower().endswith(RESULT_IMAGE_EXTENSIONS):
            return attachment_input(attachment)
    for media in job.media:
        if media.url.startswith("https://"):
            return InputImage(url=media.url)
    return None


def images_given(interaction: discord.Interaction, command: str) -> bool:
    """Whether the member has given an input image so far, as the command will count it."""
    namespace = interaction.namespace
    if command == "image":
        return any(getattr(namespace, n, None) for n in ("reference", "reference2", "reference3"))
    if command == "animate":
        return True
    return bool(getattr(namespace, "image", None))


def chosen_model(
    interaction: discord.Interaction, command: str, policy: GuildPolicy, *, field: str = ""
) -> ModelSpec | None:
    """The model the command will use given what has been typed so far (or the server's or
    the bot's default), among the models the server allows: without a model named, one that
    offers ``field``, the option being typed, as the command picks one that takes the
    options given."""
    try:
        return interaction.client.models.choose(  # type: ignore[attr-defined]
            command,
            policy,
            named=getattr(interaction.namespace, "model", None),
            images=images_given(interaction, command),
            accepts=(lambda spec: bool(getattr(spec, field))) if field else None,
        )
    except LookupError:
        return None


async def server_policy(interaction: discord.Interaction) -> GuildPolicy:
    return await interaction.client.server_settings.policy(interaction.guild_id or 0)  # type: ignore[attr-defined]


def model_autocomplete(command: str) -> Autocomplete:
    """The models ``command`` can run here: first each model several providers offer (value:
    its bare id, routed), then every provider's entry (label: name, provider and default
    cost; value: pinned ``provider:model``)."""

    async def complete(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        bot = interaction.client
        needle = current.strip().lower()
        policy = await server_policy(interaction)
        offered = bot.models.offered(command, policy)  # type: ignore[attr-defined]
        choices = routed_choices(offered, needle, bot.price_hints.get)  # type: ignore[attr-defined]
        for spec in offered:
            haystack = f"{spec.qualified_id} {spec.name}".lower()
            if needle and needle not in haystack:
                continue
            cost = bot.price_hints.get(spec)  # type: ignore[attr-defined]
            label = f"{spec.name} — {spec.provider}"
            if cost is not None:
                label += f" — {cost} credit{'s' if cost != 1 else ''}"
            if spec.note:
                label += f" ({spec.note})"
            if len(spec.qualified_id) > CHOICE_VALUE_MAX:
                continue  # Discord would drop the whole answer; the id can still be typed
            choices.append(
                app_commands.Choice(name=clip(label, CHOICE_NAME_MAX), value=spec.qualified_id)
            )
            if len(choices) >= CHOICES_MAX:
                break
        return choices[:CHOICES_MAX]

    return complete


def routed_choices(
    offered: list[ModelSpec], needle: str, price_hint: Callable[[ModelSpec], int | None]
) -> list[app_commands.Choice[str]]:
    """One choice per model several of ``offered``'s providers share, valued with the bare
    model id: the job is routed and moves if one provider cannot take it (README, *Routing
    and failover*). Listed before the pinned ``provider:model`` choices."""
    shared: dict[str, list[ModelSpec]] = {}
    for spec in offered:
        shared.setdefault(spec.id, []).append(spec)
    choices = []
    for model_id, specs in shared.items():
        if len(specs) < 2 or len(model_id) > CHOICE_VALUE_MAX:
            continue
        if needle and needle not in f"{model_id} {specs[0].name}".lower():
            continue
        label = f"{specs[0].name} — any of {', '.join(s.provider for s in specs)}"
        costs = [c for c in map(price_hint, specs) if c is not None]
        if costs:
            label += f" — from {min(costs)} credit{'s' if min(costs) != 1 else ''}"
        choices.append(app_commands.Choice(name=clip(label, CHOICE_NAME_MAX), value=model_id))
    return choices[:CHOICES_MAX]


def option_autocomplete(command: str, field: str) -> Autocomplete:
    """Values of one ModelSpec option field, for the model chosen so far (or the default)."""

    async def complete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice]:
        policy = await server_policy(interaction)
        spec = chosen_model(interaction, command, policy, field=field)
        if spec is None:
            return []
        needle = str(current).strip().lower()
        values = list(getattr(spec, field))
        return [
            app_commands.Choice(
                name=clip(f"{value}s" if isinstance(value, int) else value, CHOICE_NAME_MAX),
                value=value,
            )
            for value in values
            if needle in str(value).lower()
            and not (isinstance(value, str) and len(value) > CHOICE_VALUE_MAX)
        ][:CHOICES_MAX]

    return complete

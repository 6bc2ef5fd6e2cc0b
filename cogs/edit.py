"""The Edit button on delivered images: a form with one field, the instruction, that runs
/image with the result as the reference image, charged to whoever submits it.

Both halves survive a restart without anything kept in memory. The button is a DynamicItem
(``bb:edit:<job>``). The form's custom id (``bb:editform:<job>``) names the job too, and is
answered by this cog's interaction listener: the Modal object is only the form's shape, stopped
before it is sent so discord.py keeps no copy that would answer it a second time.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from cogs.options import result_job, source_image
from jobs.records import Job
from jobs.validation import InputImage, build_request, fits
from presentation.bot_permissions import require_channel_permissions
from presentation.discord_limits import TEXT_INPUT_VALUE_MAX
from presentation.launch import admit, start_generation
from presentation.refusals import NoImageToEdit
from providers.base import ModelSpec
from quota.server_settings import GuildPolicy

if TYPE_CHECKING:
    from bot import BananaBot

log = logging.getLogger(__name__)

FORM_ID = re.compile(r"^bb:editform:(?P<job>[0-9a-f]{4,32})$")
INSTRUCTION_ID = "instruction"
FORM_TITLE = "Edit this image"  # MODAL_TITLE_MAX is 45
INSTRUCTION_LABEL = "What should change?"  # TEXT_INPUT_LABEL_MAX is 45
INSTRUCTION_PLACEHOLDER = "e.g. make the sky stormy and add a red kite"
KEPT_OPTIONS = ("aspect_ratio", "resolution", "quality", "output_format")  # on the same model
SAMPLE_INSTRUCTION = "edit"  # chooses the model before the member has typed anything


def _reference(message: discord.Message | None, job: Job) -> InputImage:
    source = source_image(message, job)
    if source is None:
        raise NoImageToEdit()
    return source


def edit_plan(
    bot: BananaBot, policy: GuildPolicy, job: Job, instruction: str, reference: InputImage
) -> tuple[ModelSpec, dict[str, Any]]:
    """The model an edit runs on, and build_request's options for it.

    The result's own model when it takes reference images and is still enabled and allowed
    here, keeping the result's shape and quality (one image: an edit of one picture);
    otherwise the model /image itself would choose for a prompt with a reference image
    (jobs/models.py: the server's default, the operator's, or the first allowed model that
    takes one), with that model's defaults."""
    images = [("reference", reference)]
    try:  # as if the member named the result's model, with a reference image
        same = bot.models.choose("image", policy, named=f"{job.provider}:{job.model}", images=True)
    except LookupError:  # gone, no longer allowed here, or it takes no reference image
        same = None
    if same is not None:
        kept = {name: getattr(job.request, name) for name in KEPT_OPTIONS}
        return same, dict(prompt=instruction, images=images, **kept)
    options: dict[str, Any] = dict(prompt=instruction, images=images)
    spec = bot.models.choose("image", policy, images=True, accepts=fits(**options))
    return spec, options


class EditForm(discord.ui.Modal):
    """The instruction form. Stopped at once: the listener below answers it, in this process
    or after a restart alike."""

    def __init__(self, job_id: str, prompt_limit: int) -> None:
        super().__init__(title=FORM_TITLE, custom_id=f"bb:editform:{job_id}", timeout=None)
        self.add_item(
            discord.ui.TextInput(
                label=INSTRUCTION_LABEL,
                style=discord.TextStyle.paragraph,
                custom_id=INSTRUCTION_ID,
                placeholder=INSTRUCTION_PLACEHOLDER,
                max_length=min(TEXT_INPUT_VALUE_MAX, prompt_limit),
                required=True,
            )
        )
        self.stop()


class EditButton(
    discord.ui.DynamicItem[discord.ui.Button], template=r"bb:edit:(?P<job>[0-9a-f]{4,32})"
):
    def __init__(self, job_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Edit",
                emoji="✏️",
                style=discord.ButtonStyle.secondary,
                custom_id=f"bb:edit:{job_id}",
            )
        )
        self.job_id = job_id

    @classmethod
    async def from_custom_id(cls, interaction, item, match):
        return cls(match["job"])

    async def callback(self, interaction: discord.Interaction) -> None:
        """Open the form, after the checks that do not depend on what the member will type:
        the bot can post here, the server allows generation here, there is an image."""
        bot: BananaBot = interaction.client  # type: ignore[assignment]
        try:
            job = await result_job(bot.jobs, self.job_id)
            require_channel_permissions(interaction)
            policy = await admit(bot, interaction)
            reference = _reference(interaction.message, job)
            spec, _ = edit_plan(bot, policy, job, SAMPLE_INSTRUCTION, reference)
            await interaction.response.send_modal(EditForm(job.id, spec.max_prompt_chars))
        except Exception as exc:  # refusals and surprises alike get an ephemeral answer
            await bot.report_error(interaction, exc)


def submitted_value(data: Mapping[str, Any], custom_id: str) -> str:
    """A text input's value in a modal submission, in either layout Discord sends: action
    rows around text inputs, or label components holding one."""
    for top in data.get("components") or []:
        children = top.get("components") or [top.get("component") or {}]
        for child in children:
            if child.get("custom_id") == custom_id:
                return str(child.get("value") or "")
    return ""


class EditForms(commands.Cog):
    def __init__(self, bot: BananaBot) -> None:
        self.bot = bot

    @commands.Cog.listener("on_interaction")
    async def on_edit_submitted(self, interaction: discord.Interaction) -> None:
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        data = interaction.data or {}
        match = FORM_ID.match(str(data.get("custom_id", "")))
        if match is None:
            return
        try:
            await self._edit(interaction, match["job"], submitted_value(data, INSTRUCTION_ID))
        except Exception as exc:
            await self.bot.report_error(interaction, exc)

    async def _edit(self, interaction: discord.Interaction, job_id: str, instruction: str) -> None:
        """Run /image with the instruction and the result as its reference, under every
        check a command has (start_generation: channel, blocklist, model allowed, quota,
        jobs per member), charged to the member who submitted."""
        bot = self.bot
        job = await result_job(bot.jobs, job_id)
        reference = _reference(interaction.message, job)
        policy = await admit(bot, interaction, instruction)
        spec, options = edit_plan(bot, policy, job, instruction, reference)
        request = build_request(spec, **options)
        log.info("edit of job=%s by user=%s on %s", job.id, interaction.user.id, spec.qualified_id)
        await start_generation(bot, interaction, spec, request, command="edit", policy=policy)


async def setup(bot: BananaBot) -> None:
    bot.add_dynamic_items(EditButton)
    await bot.add_cog(EditForms(bot))

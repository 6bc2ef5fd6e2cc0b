"""What users do, injected into the bot: slash commands, autocomplete, context menus,
buttons, selects, modal submits, plain messages.

Each action checks what the Discord client itself would refuse (unknown command or option,
wrong type, missing required option, disabled button, a user outside the guild) and raises
``ValueError``/``LookupError`` in the test instead of sending Discord something impossible.
Interactions are returned as soon as they are dispatched; ``waiting.Waiting`` waits for the
bot's answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import payloads
from .model import InteractionRecord, MessageRecord

if TYPE_CHECKING:
    from .server import FakeDiscord


class UserActions:
    """Mixed into ``FakeDiscord``."""

    async def dispatch(self: FakeDiscord, event: str, data: dict[str, Any]) -> None:
        """Send any gateway event to the bot."""
        await self.gateway.wait_identified()
        await self.gateway.dispatch(event, data)

    async def invoke_slash(
        self: FakeDiscord,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        name: str,
        options: Mapping[str, Any] | Sequence[dict[str, Any]] | None = None,
        *,
        subcommand: str | None = None,
        attachments: Sequence[Any] | None = None,
        app_permissions: int | None = None,
        locale: str = "en-US",
    ) -> InteractionRecord:
        """A user runs ``/name`` (``subcommand`` like ``"group sub"``) in a channel.

        ``options`` maps option names to plain values typed per the bot's synced declaration
        (ints for users/roles/channels; bytes or {"filename", "data", ...} for attachments);
        a list is sent verbatim as raw options. ``attachments`` fill the attachment options
        not named in ``options``, in declaration order. Returns at once; see
        ``wait_for_callback``.
        """
        self._check_actor(guild_id, channel_id, user_id)
        command = payloads.find_command(self, name, guild_id)
        data = payloads.command_data(
            self,
            command,
            guild_id=guild_id,
            channel_id=channel_id,
            options=options,
            subcommand=subcommand,
            attachments=attachments,
        )
        full_name = f"{name} {subcommand}" if subcommand else name
        return await self._send_interaction(
            payloads.APPLICATION_COMMAND,
            full_name,
            guild_id,
            channel_id,
            user_id,
            data,
            app_permissions=app_permissions,
            locale=locale,
        )

    async def invoke_autocomplete(
        self: FakeDiscord,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        focused: str,
        subcommand: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[dict[str, Any]]:
        """A user types into option ``focused`` (its text is ``options[focused]``); returns
        the choices the bot answered with (callback type 8). The record is
        ``last_interaction``."""
        self._check_actor(guild_id, channel_id, user_id)
        command = payloads.find_command(self, name, guild_id)
        data = payloads.command_data(
            self,
            command,
            guild_id=guild_id,
            channel_id=channel_id,
            options=options,
            subcommand=subcommand,
            attachments=None,
            focused=focused,
        )
        rec = await self._send_interaction(
            payloads.AUTOCOMPLETE, name, guild_id, channel_id, user_id, data
        )
        callback = await self.wait_for_callback(rec, timeout=timeout)
        return callback.choices

    async def invoke_context_menu(
        self: FakeDiscord,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        name: str,
        *,
        target_user_id: int | None = None,
        target_message_id: int | None = None,
    ) -> InteractionRecord:
        """A user picks a user (``target_user_id``) or message context-menu command."""
        self._check_actor(guild_id, channel_id, user_id)
        ctype = 2 if target_user_id is not None else 3
        command = payloads.find_command(self, name, guild_id, ctype)
        data: dict[str, Any] = {"id": command["id"], "name": name, "type": ctype}
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        if target_user_id is not None:
            data["target_id"] = str(target_user_id)
            resolved: dict[str, Any] = {}
            builder = payloads._OptionBuilder(self, guild_id, channel_id, name, resolved, None)
            builder.value({"type": payloads.USER, "name": "target"}, target_user_id)
            data["resolved"] = resolved
        else:
            target = self.message_index[int(target_message_id or 0)]
            data["target_id"] = str(target.id)
            data["resolved"] = {"messages": {str(target.id): target.to_payload()}}
        return await self._send_interaction(
            payloads.APPLICATION_COMMAND, name, guild_id, channel_id, user_id, data
        )

    async def press_button(
        self, guild_id: int | None, channel_id: int, user_id: int, message_id: int, custom_id: str
    ) -> InteractionRecord:
        """A user clicks the button ``custom_id`` on a message the bot sent."""
        return await self._component(guild_id, channel_id, user_id, message_id, custom_id, None)

    async def select_option(
        self: FakeDiscord,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        message_id: int,
        custom_id: str,
        values: Sequence[str],
    ) -> InteractionRecord:
        """A user picks ``values`` in the select menu ``custom_id`` (no ``resolved`` data)."""
        return await self._component(guild_id, channel_id, user_id, message_id, custom_id, values)

    async def _component(
        self: FakeDiscord,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        message_id: int,
        custom_id: str,
        values: Sequence[str] | None,
    ) -> InteractionRecord:
        self._check_actor(guild_id, channel_id, user_id)
        message = self.message_index.get(message_id)
        if message is None or message.channel_id != channel_id or message.deleted:
            raise ValueError(f"no message {message_id} in channel {channel_id}")
        component = payloads.find_component(message.components, custom_id)
        if component is None:
            raise ValueError(f"message {message_id} has no component {custom_id!r}")
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled; Discord would not send it")
        data = payloads.component_data(custom_id, component["type"], values)
        return await self._send_interaction(
            payloads.MESSAGE_COMPONENT,
            custom_id,
            guild_id,
            channel_id,
            user_id,
            data,
            message=message,
        )

    async def submit_modal(
        self, interaction: InteractionRecord, values: Mapping[str, Any]
    ) -> InteractionRecord:
        """The user who got the modal the bot opened on ``interaction`` submits it.

        ``values`` maps text-input custom ids to strings (select custom ids to lists).
        """
        modal = interaction.modal
        if modal is None:
            raise ValueError(f"interaction {interaction.id} did not answer with a modal")
        data = payloads.modal_submit_data(modal, values)
        source = interaction.source_message_id
        return await self._send_interaction(
            payloads.MODAL_SUBMIT,
            modal["custom_id"],
            interaction.guild_id,
            interaction.channel_id,
            interaction.user_id,
            data,
            message=self.message_index[source] if source is not None else None,
        )

    async def post_user_message(
        self: FakeDiscord,
        channel_id: int,
        user_id: int,
        content: str,
        *,
        attachments: Sequence[Any] = (),
    ) -> MessageRecord:
        """A user posts in a channel; the bot gets MESSAGE_CREATE (content-gated by intents)."""
        channel = self.channels[channel_id]
        self._check_actor(channel.guild_id, channel_id, user_id)
        message = self.new_message(channel_id, author=user_id)
        message.content = content
        message.attachments = [
            self.upload_attachment(channel_id, a, ephemeral=False) for a in attachments
        ]
        await self.gateway.wait_identified()
        await self.publish_message(message)
        return message

    def _check_actor(
        self: FakeDiscord, guild_id: int | None, channel_id: int, user_id: int
    ) -> None:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise ValueError(f"unknown channel {channel_id}")
        if channel.guild_id != guild_id:
            raise ValueError(f"channel {channel_id} is not in guild {guild_id}")
        if guild_id is not None and user_id not in self.guilds[guild_id].members:
            raise ValueError(f"user {user_id} is not a member of guild {guild_id}")
        if user_id not in self.users:
            raise ValueError(f"unknown user {user_id}")

    def register_interaction(
        self: FakeDiscord,
        type: int,
        name: str,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        data: dict[str, Any],
        *,
        app_permissions: int | None = None,
        locale: str = "en-US",
        message: MessageRecord | None = None,
    ) -> InteractionRecord:
        """Create an interaction whose token the callback and webhook routes accept, without
        telling any bot: tests that drive those routes over raw HTTP start here."""
        payload = payloads.interaction_payload(
            self,
            type=type,
            guild_id=guild_id,
            channel_id=channel_id,
            user_id=user_id,
            data=data,
            app_permissions=app_permissions,
            locale=locale,
            message=message,
        )
        rec = payloads.new_interaction_record(payload, name, self.clock(), self.token_lifetime)
        if message is not None:
            rec.source_message_id = message.id
        self.interactions.append(rec)
        self.interactions_by_id[rec.id] = rec
        self.interactions_by_token[rec.token] = rec
        return rec

    async def _send_interaction(
        self: FakeDiscord,
        type: int,
        name: str,
        guild_id: int | None,
        channel_id: int,
        user_id: int,
        data: dict[str, Any],
        *,
        app_permissions: int | None = None,
        locale: str = "en-US",
        message: MessageRecord | None = None,
    ) -> InteractionRecord:
        await self.gateway.wait_identified()
        rec = self.register_interaction(
            type,
            name,
            guild_id,
            channel_id,
            user_id,
            data,
            app_permissions=app_permissions,
            locale=locale,
            message=message,
        )
        if not await self.gateway.dispatch("INTERACTION_CREATE", rec.payload):
            raise RuntimeError("no bot session to deliver the interaction to")
        rec.dispatched_at = self.clock()
        return rec

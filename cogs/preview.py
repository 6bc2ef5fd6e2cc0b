"""The Confirm / Cancel buttons of cost previews (presentation/preview.py).

No commands here: the extension registers the buttons by their custom ids, so a press reaches
the bot whether or not it still remembers the preview (after a restart it says it lapsed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from presentation.preview import PreviewButton

if TYPE_CHECKING:
    from bot import BananaBot


async def setup(bot: BananaBot) -> None:
    bot.add_dynamic_items(PreviewButton)

"""SQL for what a server sets with /settings: default models per command kind, allowed
models, allowed channels, blocked prompt phrases and the cost-preview threshold (migration
0004). Plain records in, plain records out; quota.server_settings decides what they mean."""

from __future__ import annotations

from dataclasses import dataclass

from db.database import Database

DEFAULT_COLUMNS = {
    "image": "default_image_model",
    "video": "default_video_model",
    "animate": "default_animate_model",
}


@dataclass(frozen=True)
class StoredSettings:
    defaults: dict[str, str]  # command kind ("image", "video", "animate") -> model as typed
    model_rules: dict[str, bool]  # model id or provider:model (lower case) -> allowed
    channels: frozenset[int]
    phrases: tuple[str, ...]  # in the order they were added
    cost_preview: int


async def load(db: Database, guild_id: int) -> StoredSettings:
    """Everything of one server, in one statement per table."""
    row = await db.fetchone(
        "SELECT default_image_model, default_video_model, default_animate_model, cost_preview "
        "FROM guild_settings WHERE guild_id = ?",
        (guild_id,),
    )
    defaults: dict[str, str] = {}
    cost_preview = 0
    if row is not None:
        for kind, column in DEFAULT_COLUMNS.items():
            if row[column]:
                defaults[kind] = row[column]
        cost_preview = int(row["cost_preview"] or 0)
    rules = await db.fetchall(
        "SELECT model, enabled FROM guild_models WHERE guild_id = ? ORDER BY model", (guild_id,)
    )
    channels = await db.fetchall(
        "SELECT channel_id FROM guild_channels WHERE guild_id = ?", (guild_id,)
    )
    phrases = await db.fetchall(
        "SELECT phrase FROM guild_blocklist WHERE guild_id = ? ORDER BY added_at, phrase",
        (guild_id,),
    )
    return StoredSettings(
        defaults=defaults,
        model_rules={r["model"]: bool(r["enabled"]) for r in rules},
        channels=frozenset(int(r["channel_id"]) for r in channels),
        phrases=tuple(r["phrase"] for r in phrases),
        cost_preview=cost_preview,
    )


async def _set_column(db: Database, guild_id: int, column: str, value, now: float) -> None:
    assert column in (*DEFAULT_COLUMNS.values(), "cost_preview")
    async with db.transaction() as conn:
        await conn.execute(
            f"INSERT INTO guild_settings (guild_id, {column}, updated_at) VALUES (?, ?, ?) "
            f"ON CONFLICT (guild_id) DO UPDATE SET {column} = excluded.{column}, "
            "updated_at = excluded.updated_at",
            (guild_id, value, now),
        )


async def set_default(
    db: Database, guild_id: int, kind: str, model: str | None, now: float
) -> None:
    await _set_column(db, guild_id, DEFAULT_COLUMNS[kind], model, now)


async def set_cost_preview(db: Database, guild_id: int, credits: int, now: float) -> None:
    await _set_column(db, guild_id, "cost_preview", credits, now)


async def set_model_rule(
    db: Database, guild_id: int, model: str, enabled: bool | None, actor_id: int, now: float
) -> None:
    """Store a rule for ``model``; None removes it (the model follows the broader rule)."""
    async with db.transaction() as conn:
        if enabled is None:
            await conn.execute(
                "DELETE FROM guild_models WHERE guild_id = ? AND model = ?", (guild_id, model)
            )
            return
        await conn.execute(
            "INSERT INTO guild_models (guild_id, model, enabled, updated_by, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, model) DO UPDATE SET "
            "enabled = excluded.enabled, updated_by = excluded.updated_by, "
            "updated_at = excluded.updated_at",
            (guild_id, model, int(enabled), actor_id, now),
        )


async def replace_model_rules(
    db: Database, guild_id: int, model_id: str, enabled: bool | None, actor_id: int, now: float
) -> None:
    """Drop every rule for ``model_id`` (its own and each provider:model_id), then store
    ``enabled`` as the id's rule (None: no rule, so allowed)."""
    async with db.transaction() as conn:
        rules = await conn.execute_fetchall(
            "SELECT model FROM guild_models WHERE guild_id = ?", (guild_id,)
        )
        for (model,) in rules:  # the id itself, or provider:id
            if model == model_id or model.partition(":")[2] == model_id:
                await conn.execute(
                    "DELETE FROM guild_models WHERE guild_id = ? AND model = ?", (guild_id, model)
                )
        if enabled is not None:
            await conn.execute(
                "INSERT INTO guild_models (guild_id, model, enabled, updated_by, updated_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (guild_id, model_id, int(enabled), actor_id, now),
            )


async def set_channel(
    db: Database, guild_id: int, channel_id: int, allowed: bool, actor_id: int, now: float
) -> None:
    async with db.transaction() as conn:
        if allowed:
            await conn.execute(
                "INSERT INTO guild_channels (guild_id, channel_id, added_by, added_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (guild_id, channel_id) DO NOTHING",
                (guild_id, channel_id, actor_id, now),
            )
        else:
            await conn.execute(
                "DELETE FROM guild_channels WHERE guild_id = ? AND channel_id = ?",
                (guild_id, channel_id),
            )


async def add_phrase(db: Database, guild_id: int, phrase: str, actor_id: int, now: float) -> bool:
    """True when the phrase was new."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "INSERT INTO guild_blocklist (guild_id, phrase, added_by, added_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (guild_id, phrase) DO NOTHING",
            (guild_id, phrase, actor_id, now),
        )
        return cursor.rowcount > 0


async def remove_phrase(db: Database, guild_id: int, phrase: str) -> bool:
    """True when the phrase was there."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "DELETE FROM guild_blocklist WHERE guild_id = ? AND phrase = ?", (guild_id, phrase)
        )
        return cursor.rowcount > 0

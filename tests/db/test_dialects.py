"""The PostgreSQL backend reads the SQL written for both dialects: placeholders translated
outside string literals, row counts from command tags, URLs shown without their password."""

from __future__ import annotations

import pytest

from db.database import Database, shown
from db.postgres import _rowcount, translate


def test_question_marks_become_numbered_parameters_outside_literals():
    text, shape, rows = translate(
        "SELECT COALESCE(model, '?') FROM jobs WHERE id = ? AND state = 'it''s ?' AND x < ?"
    )
    assert text == (
        "SELECT COALESCE(model, '?') FROM jobs WHERE id = $1 AND state = 'it''s ?' AND x < $2"
    )
    assert (shape, rows) == (2, True)


def test_named_parameters_are_numbered_once_each_and_casts_are_left_alone():
    text, shape, rows = translate(
        "UPDATE jobs SET state = :state, updated_at = :now WHERE id = :id AND :now > 0::bigint"
    )
    assert text == ("UPDATE jobs SET state = $1, updated_at = $2 WHERE id = $3 AND $2 > 0::bigint")
    assert (shape, rows) == (("state", "now", "id"), False)


def test_mixed_placeholders_are_refused():
    with pytest.raises(ValueError):
        translate("SELECT ? WHERE id = :id")


@pytest.mark.parametrize(
    ("tag", "count"), [("UPDATE 3", 3), ("INSERT 0 1", 1), ("DELETE 0", 0), ("BEGIN", -1)]
)
def test_row_counts_come_from_the_command_tag(tag, count):
    assert _rowcount(tag) == count


def test_a_postgres_url_is_shown_without_its_password():
    assert shown("postgresql://bot:s3cret@db.internal:5432/bananabot") == (
        "postgresql://bot@db.internal:5432/bananabot"
    )
    assert shown("postgresql://db/bananabot?sslmode=require") == "postgresql://db/bananabot"


async def test_rows_read_alike_on_both_backends(database_target):
    """By name and by position; a SUM over integers is an int (not PostgreSQL's NUMERIC);
    row counts of UPDATE and DELETE; a floor that does not round."""
    db = await Database.open(database_target)
    try:
        async with db.transaction() as conn:
            for guild in (1, 2, 3):
                await conn.execute(
                    "INSERT INTO guild_settings (guild_id, updated_at) VALUES (?, ?)", (guild, 0)
                )
            changed = await conn.execute("UPDATE guild_settings SET cost_preview = 5")
            assert changed.rowcount == 3
            gone = await conn.execute("DELETE FROM guild_settings WHERE guild_id = ?", (3,))
            assert gone.rowcount == 1
        row = await db.fetchone(
            "SELECT SUM(cost_preview) AS total, COUNT(*) AS n FROM guild_settings"
        )
        assert (row["total"], row[1]) == (10, 2) and type(row["total"]) is int
        floor = db.floor_int("(updated_at + ?) / ?")
        sql = f"SELECT {floor} FROM guild_settings WHERE guild_id = 1"
        assert (await db.fetchone(sql, (10.0, 4.0)))[0] == 2  # 2.5 -> 2, not 3
        assert (await db.fetchone(sql, (11.9, 4.0)))[0] == 2  # 2.975 -> 2
    finally:
        await db.close()

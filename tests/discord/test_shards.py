"""Shards: Discord's formula, the servers a shard's READY shows were left, the --shard-ids
option and what a process holding some shards (or none) does."""

from __future__ import annotations

import pytest

from bot.discord.shards import Shards, left_while_away, parse_shard_ids, shard_of
from bot.errors import BulletinError

# Real snowflakes: (id >> 22) is the milliseconds since Discord's epoch.
DISCORD_DEVELOPERS = 613425648685547541  # Discord's own example server


def on_shard(shard_id: int, shard_count: int, n: int = 0) -> int:
    """A server id on that shard (the n-th such millisecond)."""
    return ((shard_count * (1000 + n) + shard_id) << 22) | 4095


@pytest.mark.parametrize(
    ("guild_id", "shard_count", "shard"),
    [
        # 146252071544 ms after Discord's epoch: shard 0 of 2, 8 of 16
        (DISCORD_DEVELOPERS, 1, 0),
        (DISCORD_DEVELOPERS, 2, 0),
        (DISCORD_DEVELOPERS, 16, 8),
        (41771983423143937, 10, 4),  # 9959216934 ms
        (0b101 << 22, 4, 1),  # the low 22 bits (worker, process, increment) never count
        ((0b101 << 22) | 0x3FFFFF, 4, 1),
    ],
)
def test_a_server_belongs_to_shard_id_shifted_by_22_modulo_the_count(guild_id, shard_count, shard):
    assert shard_of(guild_id, shard_count) == shard


def test_the_same_server_moves_shard_only_with_the_count():
    ids = [on_shard(s, 3, n) for s in range(3) for n in range(5)]
    assert [shard_of(i, 3) for i in ids] == [s for s in range(3) for _ in range(5)]
    assert {shard_of(i, 1) for i in ids} == {0}


def test_a_shard_marks_left_only_its_own_stored_servers_that_ready_did_not_list():
    here, gone = on_shard(0, 2, 1), on_shard(0, 2, 2)
    elsewhere, elsewhere_gone = on_shard(1, 2, 1), on_shard(1, 2, 2)
    stored = [here, gone, elsewhere, elsewhere_gone]
    assert left_while_away(stored, {here}, shard_id=0, shard_count=2) == [gone]
    assert left_while_away(stored, {elsewhere}, shard_id=1, shard_count=2) == [elsewhere_gone]


def test_servers_of_other_shards_are_never_marked_left_even_when_absent_from_this_ready():
    stored = [on_shard(s, 4, n) for s in range(4) for n in range(3)]
    for shard_id in range(4):
        gone = left_while_away(stored, set(), shard_id=shard_id, shard_count=4)
        assert gone == [g for g in stored if shard_of(g, 4) == shard_id]


def test_a_single_shard_weighs_every_stored_server():
    stored = [on_shard(0, 1, n) for n in range(4)]
    assert left_while_away(stored, {stored[1]}, shard_id=0, shard_count=1) == [
        stored[0],
        stored[2],
        stored[3],
    ]


def test_a_server_present_in_ready_is_never_marked_left():
    stored = [on_shard(1, 3, n) for n in range(3)]
    assert left_while_away(stored, set(stored), shard_id=1, shard_count=3) == []


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("0", (0,)),
        ("0,1", (0, 1)),
        ("3, 1 ,2", (1, 2, 3)),
        ("none", ()),
        (" NONE ", ()),
    ],
)
def test_shard_ids_are_numbers_separated_by_commas_or_none(text, ids):
    assert parse_shard_ids(text) == ids


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "--shard-ids: must be shard numbers separated by commas (0,1) or none, got ''"),
        ("all", "--shard-ids: must be shard numbers separated by commas (0,1) or none, got 'all'"),
        ("0,", "--shard-ids: must be shard numbers separated by commas"),
        ("-1", "--shard-ids: must be shard numbers separated by commas"),
        ("1.5", "--shard-ids: must be shard numbers separated by commas"),
        ("0;1", "--shard-ids: must be shard numbers separated by commas"),
        ("١", "--shard-ids: must be shard numbers separated by commas"),  # an Arabic-Indic one
        ("0,1,0", "--shard-ids: shard 0 is given twice"),
    ],
)
def test_bad_shard_ids_are_one_error_naming_the_option(text, message):
    with pytest.raises(BulletinError) as caught:
        parse_shard_ids(text)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_shard_ids_need_the_fleets_shard_count():
    with pytest.raises(BulletinError, match=r"--shard-ids 0,1 needs \[discord\] shard_count"):
        Shards(None, (0, 1))


def test_a_shard_beyond_the_count_is_refused():
    with pytest.raises(BulletinError, match=r"there is no shard 2 when \[discord\] shard_count"):
        Shards(2, (1, 2))


@pytest.mark.parametrize(
    ("shards", "gateway", "syncs", "described"),
    [
        (Shards(), True, True, "every shard of Discord's recommended count"),
        (Shards(4), True, True, "every shard of 4"),
        (Shards(4, (0, 2)), True, True, "shards 0,2 of 4"),
        (Shards(4, (3,)), True, False, "shard 3 of 4"),
        (Shards(None, ()), False, False, "no gateway shard (polling and delivering over REST"),
        (Shards(4, ()), False, False, "no gateway shard"),
    ],
)
def test_what_a_process_holds(shards, gateway, syncs, described):
    assert shards.gateway is gateway
    assert shards.speaks_for_the_fleet is syncs  # holds shard 0: syncs the commands
    assert shards.describe().startswith(described)

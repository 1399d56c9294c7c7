"""`bulletin run` as a Discord bot, end to end: the real process (`python -m bot run`) against
the fake Discord and a local source server, both running in this test process.

The bot reads everything from a config file written here ([discord] api_base, gateway_url and
dev_guild, [database] path, [polling] allow_private_addresses for the source server, one
[[stories]] entry) and its token from DISCORD_TOKEN, as an operator runs it. Two processes are
shared by several tests (a running bot for the commands; a whole session ended by SIGTERM for
what must hold afterwards), so the file stays quick.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import signal
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from tests.cli.process import Bulletin
from tests.fakes.discord import CommandRefused, FakeDiscord, Guild, Member, Perm
from tests.fakes.discord_fixtures import BOT_PERMISSIONS
from tests.fakes.source_server import SourceServer
from tests.services.pages import live_page

pytestmark = pytest.mark.asyncio(loop_scope="module")

LOG_RECORD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ [\w.]+: ")
DEADLINE = 3.0  # Discord's: an interaction unanswered after 3 s is lost
STORY = "Harbour watch"  # the story in the config file
CONFIG_PAGE = "/harbour"  # its one source
ADDED_PAGE = "/mars"  # what moderators add with /source add
KEY_POINTS = ["The ferry runs again", "Quay three stays closed"]
HARBOUR_UPDATES = [
    ("h1", "Storm passes the harbour", "The wind dropped after midnight. Boats stayed moored."),
    ("h2", "Ferry service resumes", "The first ferry left at seven with forty passengers."),
]
COMMANDS = {
    "help",
    "stories",
    "latest",
    "keypoints",
    "subscribe",
    "unsubscribe",
    "subscriptions",
    "deliveries",
    "why",
    "source",
    "settings",
    "sync",
}


def new_token() -> str:
    """A token no other text could contain by chance, so finding it anywhere means a leak."""
    return "Bulletin-e2e." + secrets.token_urlsafe(32)


@dataclass
class World:
    """The fake Discord with one server, a source server and a config file for the bot."""

    discord: FakeDiscord
    guild: Guild
    sources: SourceServer
    directory: Path

    @property
    def config(self) -> Path:
        return self.directory / "bulletin.toml"

    @property
    def database(self) -> Path:
        return self.directory / "data" / "bulletin.db"

    def member(self, name: str, permissions: int = 0) -> Member:
        """A member of the server whose one role grants PERMISSIONS."""
        roles = (
            [self.discord.add_role(self.guild, f"{name}-role", permissions)] if permissions else []
        )
        return self.discord.add_member(self.guild, name, roles=roles)

    def write_config(self) -> None:
        self.database.parent.mkdir(exist_ok=True)
        self.config.write_text(
            f"""
[discord]
api_base = "{self.discord.api_base}"
gateway_url = "{self.discord.gateway_url}"
dev_guild = {self.guild.id}

[database]
path = "{self.database}"

[polling]
interval = 15
timeout = 3
allow_private_addresses = ["{self.sources.host_port}"]

[[stories]]
name = "{STORY}"
sources = ["{self.sources.url(CONFIG_PAGE)}"]
""",
            encoding="utf-8",
        )

    def launch(self, token: str, *, verbose: bool = False) -> Bulletin:
        """`python -m bot [-v] run --config FILE` with DISCORD_TOKEN=TOKEN (not started yet)."""
        flags = ("-v",) if verbose else ()
        return Bulletin(
            *flags,
            "run",
            "--config",
            str(self.config),
            cwd=self.directory,
            env={"DISCORD_TOKEN": token},
        )


@contextlib.asynccontextmanager
async def world_in(directory: Path, *, token: str) -> AsyncIterator[World]:
    discord = FakeDiscord(token=token, heartbeat_interval_ms=500, interaction_deadline=DEADLINE)
    await discord.start()
    try:
        guild = discord.add_guild("Harbour town", bot_permissions=BOT_PERMISSIONS)
        async with SourceServer() as sources:
            sources.page(
                CONFIG_PAGE,
                live_page("Harbour watch: live", HARBOUR_UPDATES, key_points=KEY_POINTS),
            )
            sources.page(ADDED_PAGE, live_page(key_points=["The lander is down"]))
            world = World(discord, guild, sources, directory)
            world.write_config()
            yield world
    finally:
        await discord.close()
    assert discord.violations == []  # the bot as a process sends what Discord's spec accepts


def read_database(path: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    """Rows from the bot's SQLite file, read beside it (read-only; WAL lets both work)."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as db:
        return db.execute(sql, args).fetchall()


def config_source_polled(world: World) -> bool:
    try:
        rows = read_database(world.database, "SELECT count(*) FROM sources WHERE last_polled > 0")
    except sqlite3.Error:  # not created or not migrated yet
        return False
    return rows[0][0] > 0


async def until(bulletin: Bulletin, predicate: Callable[[], object], within: float = 15.0) -> None:
    """Wait until PREDICATE holds while the bot runs; its output in the failure otherwise."""
    try:
        async with asyncio.timeout(within):
            while not predicate():
                if bulletin.returncode is not None:
                    raise AssertionError(f"bulletin exited {bulletin.returncode}:\n{bulletin.err}")
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"never happened; bulletin said:\n{bulletin.err[-4000:]}") from None


async def ready(world: World, bulletin: Bulletin) -> None:
    """Logged in, on the gateway, commands registered in the dev server, the config story polled."""
    await until(bulletin, lambda: "help" in world.discord.registered(world.guild))
    # setup_hook registers the commands before the gateway connects: wait for the identify too.
    await until(bulletin, lambda: world.discord.identifies >= 1)
    await until(bulletin, lambda: config_source_polled(world))


def content(inv) -> str:
    """The text of the bot's first answer, or of its first followup after a defer."""
    if inv.callback_type == 5:
        return inv.followups[0].get("content") or ""
    return inv.callbacks[0]["data"].get("content") or ""


def embeds(inv) -> list[dict]:
    return inv.callbacks[0]["data"].get("embeds") or []


async def add_source(world: World, member: Member, path: str, story: str) -> object:
    inv = await world.discord.invoke(
        world.guild, member, "source add", {"url": world.sources.url(path), "story": story}
    )
    await inv.wait_for(lambda i: i.followups, timeout=5)
    return inv


# ---- a running bot, shared by the command tests ---------------------------------------------


@dataclass
class Running:
    world: World
    bulletin: Bulletin
    token: str


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def running(tmp_path_factory) -> AsyncIterator[Running]:
    token = new_token()
    directory = tmp_path_factory.mktemp("running")
    async with world_in(directory, token=token) as world, world.launch(token) as bulletin:
        await ready(world, bulletin)
        yield Running(world, bulletin, token)


async def test_the_bot_logs_in_with_the_token_from_the_environment(running):
    discord = running.world.discord
    assert discord.count("GET", "*/users/@me", 200) >= 1
    assert discord.identifies == 1
    assert discord.count("GET", "*", 401) == 0


async def test_the_start_says_nothing_about_voice_which_bulletin_never_uses(running):
    assert "logging in using static token" in running.bulletin.err  # the log is there...
    assert "voice" not in running.bulletin.err  # ...without PyNaCl's or davey's warnings


async def test_the_commands_are_registered_in_the_dev_guild_at_start(running):
    assert set(running.world.discord.registered(running.world.guild)) == COMMANDS


async def test_no_command_is_registered_globally_at_start(running):
    # Global registration is /sync global's job, never every boot's.
    assert running.world.discord.registered(None) == {}


async def test_help_answers_within_the_deadline(running):
    world = running.world
    inv = await world.discord.invoke(world.guild, world.member("reader"), "help")
    assert inv.answered_after < DEADLINE
    assert "`/latest story [count]`" in content(inv)
    assert "/source add" not in content(inv)  # a member without Manage Server is not shown it


async def test_stories_lists_the_story_from_the_config_file(running):
    world = running.world
    inv = await world.discord.invoke(world.guild, world.member("reader"), "stories")
    assert inv.answered_after < DEADLINE
    assert f"**{STORY}** — live" in content(inv)
    assert "from the config" in content(inv)


async def test_latest_shows_the_config_storys_updates_newest_first(running):
    world = running.world
    inv = await world.discord.invoke(
        world.guild, world.member("reader"), "latest", {"story": STORY}
    )
    assert inv.answered_after < DEADLINE
    assert [e["title"] for e in embeds(inv)] == [
        "Ferry service resumes",
        "Storm passes the harbour",
    ]


async def test_keypoints_shows_the_sources_own_key_points(running):
    world = running.world
    inv = await world.discord.invoke(
        world.guild, world.member("reader"), "keypoints", {"story": STORY}
    )
    assert inv.answered_after < DEADLINE
    (embed,) = embeds(inv)
    assert "• The ferry runs again\n• Quay three stays closed" in embed["description"]
    assert embed["url"] == world.sources.url(CONFIG_PAGE)


async def test_source_add_defers_within_the_deadline_then_previews(running):
    world = running.world
    moderator = world.member("editor", Perm.MANAGE_GUILD)
    inv = await add_source(world, moderator, ADDED_PAGE, "Mars")
    assert inv.callback_type == 5 and inv.ephemeral
    assert inv.answered_after < DEADLINE
    preview = content(inv)
    for part in ("**Mars landing: live updates**", "Updates found: 3", "Key points found: 1 item"):
        assert part in preview


async def test_source_add_saves_the_source_for_the_server(running):
    world = running.world
    moderator = world.member("desk", Perm.MANAGE_GUILD)
    inv = await add_source(world, moderator, ADDED_PAGE, "Red planet")
    assert "Saved as the new story “Red planet”" in content(inv)
    rows = read_database(
        world.database,
        "SELECT st.guild_id, so.url FROM stories st JOIN story_sources ss ON ss.story_id = st.id"
        " JOIN sources so ON so.id = ss.source_id WHERE st.name = ?",
        "Red planet",
    )
    assert rows == [(world.guild.id, world.sources.url(ADDED_PAGE))]


async def test_source_add_is_hidden_from_a_member_without_manage_server(running):
    world = running.world
    member = world.member("helper", Perm.MANAGE_CHANNELS)
    with pytest.raises(CommandRefused):
        await world.discord.invoke(
            world.guild, member, "source add", {"url": world.sources.url(ADDED_PAGE)}
        )


async def test_source_add_is_refused_at_run_time_without_manage_server(running):
    # A server may let other roles see the command (Integrations settings); the bot checks the
    # member's permissions itself. The interaction is built for a moderator, then sent with the
    # permissions of a member who lacks Manage Server.
    world = running.world
    moderator = world.member("former-mod", Perm.MANAGE_GUILD)
    url = world.sources.url("/never-fetched")
    inv = world.discord._interaction(
        world.guild, moderator, "source add", {"url": url, "story": "Sneaky"}, None, focused=None
    )
    lacking = str(Perm.VIEW_CHANNEL | Perm.SEND_MESSAGES | Perm.MANAGE_CHANNELS)
    inv.payload["member"]["permissions"] = lacking
    inv.payload["channel"]["permissions"] = lacking
    await world.discord.dispatch("INTERACTION_CREATE", inv.payload)
    await inv.wait_answer(DEADLINE + 1)
    assert inv.ephemeral
    assert "You need the Manage Server permission" in content(inv)
    assert world.sources.hits["/never-fetched"] == 0
    assert read_database(world.database, "SELECT id FROM stories WHERE name = 'Sneaky'") == []


# ---- a whole session, then SIGTERM: what must hold afterwards -------------------------------


@dataclass
class Finished:
    world: World
    bulletin: Bulletin
    token: str
    status: int
    stopped_in: float  # seconds from SIGTERM to exit


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def finished(tmp_path_factory) -> AsyncIterator[Finished]:
    """A bot run with -v (debug logging) that answered every kind of command, then SIGTERM."""
    token = new_token()
    directory = tmp_path_factory.mktemp("finished")
    async with (
        world_in(directory, token=token) as world,
        world.launch(token, verbose=True) as bulletin,
    ):
        await ready(world, bulletin)
        reader = world.member("reader")
        editor = world.member("editor", Perm.MANAGE_GUILD)
        for member, command, options in (
            (reader, "help", {}),
            (reader, "stories", {}),
            (reader, "latest", {"story": STORY}),
            (reader, "keypoints", {"story": STORY}),
            (editor, "source list", {}),
            (editor, "source status", {}),
        ):
            await world.discord.invoke(world.guild, member, command, options)
        await add_source(world, editor, ADDED_PAGE, "Mars")
        started = time.monotonic()
        status = await bulletin.stop(signal.SIGTERM, within=10)
        yield Finished(world, bulletin, token, status, time.monotonic() - started)


async def test_sigterm_stops_the_bot_with_exit_0_within_a_few_seconds(finished):
    assert finished.status == 0, finished.bulletin.err[-3000:]
    assert finished.stopped_in < 5.0
    assert "Traceback" not in finished.bulletin.err


async def test_the_token_never_appears_in_the_output_even_with_debug_logging(finished):
    output = finished.bulletin.out + finished.bulletin.err
    assert "DEBUG discord.gateway" in output  # debug logging was on: the check means something
    assert finished.token not in output


async def test_the_token_never_appears_in_any_reply(finished):
    replies = [
        json.dumps([inv.callbacks, inv.followups])
        for inv in finished.world.discord.invocations.values()
    ]
    assert len(replies) == 7 and all(replies)
    assert all(finished.token not in reply for reply in replies)


async def test_the_token_never_appears_in_the_database_files(finished):
    files = list(finished.world.database.parent.iterdir())
    assert finished.world.database in files
    for path in files:
        assert finished.token.encode() not in path.read_bytes(), path.name


async def test_the_database_is_intact_after_sigterm(finished):
    database = finished.world.database
    assert read_database(database, "PRAGMA integrity_check") == [("ok",)]
    assert read_database(database, "SELECT name FROM stories ORDER BY name") == [
        (STORY,),
        ("Mars",),
    ]


# ---- stopping with Ctrl-C; refusing a wrong token -------------------------------------------


async def test_sigint_stops_the_bot_with_exit_0(tmp_path):
    token = new_token()
    async with world_in(tmp_path, token=token) as world, world.launch(token) as bulletin:
        await ready(world, bulletin)
        status = await bulletin.stop(signal.SIGINT, within=5)
    assert status == 0, bulletin.err[-3000:]
    assert "Traceback" not in bulletin.err


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "debug"])
async def test_a_wrong_token_is_one_clear_line_and_exit_2(tmp_path, verbose):
    wrong = new_token()
    async with (
        world_in(tmp_path, token=new_token()) as world,
        world.launch(wrong, verbose=verbose) as bulletin,
    ):
        status = await bulletin.wait(within=15)
    assert status == 2
    errors = [line for line in bulletin.err.splitlines() if line.startswith("bulletin run:")]
    assert errors == ["bulletin run: Discord refused the bot token (from $DISCORD_TOKEN); check it"]
    # Besides that line, only log records (no traceback, no multi-line dump).
    others = [line for line in bulletin.err.splitlines() if line not in errors]
    assert all(LOG_RECORD.match(line) for line in others), bulletin.err
    assert wrong not in bulletin.out + bulletin.err


async def test_an_unreachable_discord_is_one_clear_line_and_exit_2(tmp_path):
    token = new_token()
    async with world_in(tmp_path, token=token) as world:
        await world.discord.close()  # the config still points there; nothing listens now
        async with world.launch(token) as bulletin:
            status = await bulletin.wait(within=15)
    assert status == 2
    errors = [line for line in bulletin.err.splitlines() if line.startswith("bulletin run:")]
    assert len(errors) == 1 and "Cannot connect" in errors[0]
    assert "Traceback" not in bulletin.err
    assert token not in bulletin.out + bulletin.err


async def test_the_database_is_intact_and_tokenless_after_a_refused_token(tmp_path):
    wrong = new_token()
    async with world_in(tmp_path, token=new_token()) as world:
        async with world.launch(wrong) as bulletin:
            assert await bulletin.wait(within=15) == 2
        assert read_database(world.database, "PRAGMA integrity_check") == [("ok",)]
        for path in world.database.parent.iterdir():
            assert wrong.encode() not in path.read_bytes(), path.name


async def test_sigterm_during_a_poll_in_flight_cancels_it_and_exits_0(tmp_path):
    token = new_token()
    async with world_in(tmp_path, token=token) as world:
        world.sources.hang(CONFIG_PAGE)  # accepts the request, never answers (timeout 3 s)
        async with world.launch(token) as bulletin:
            await until(bulletin, lambda: "help" in world.discord.registered(world.guild))
            await until(bulletin, lambda: world.sources.hits[CONFIG_PAGE] >= 1)
            status = await bulletin.stop(signal.SIGTERM, within=5)
        # The hanging fetch was cancelled, not waited out: no timeout recorded, nothing half-done.
        rows = read_database(world.database, "SELECT last_polled, last_error FROM sources")
        assert rows == [(None, None)]
        assert read_database(world.database, "PRAGMA integrity_check") == [("ok",)]
    assert status == 0, bulletin.err[-3000:]
    assert "Traceback" not in bulletin.err

"""Attachments, uploaded files and buttons through the fake, with discord.py's own HTTP code."""

from __future__ import annotations

import io
import secrets

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from cogs._files import SpecFile
from tests.fakes.discord import InvocationError
from tests.fakes.discord.components import component_errors
from tests.fakes.discord.files import FilePart, request_errors
from tests.fakes.discord.interactions import Invocation
from tests.fakes.discord.model import snowflake


class Probe(commands.Cog):
    """Commands that take a file, send files and show buttons; it records what reached it."""

    def __init__(self) -> None:
        self.files: list[discord.Attachment] = []
        self.pressed: list[str] = []

    @app_commands.command(name="upload", description="Takes a file")
    @app_commands.describe(file="Any file")
    async def upload(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        self.files.append(file)
        await interaction.response.send_message(f"got {file.filename}", ephemeral=True)

    @app_commands.command(name="send", description="Sends a file")
    @app_commands.describe(numeric="Send the attachment id as discord.py does (a number)")
    async def send(self, interaction: discord.Interaction, numeric: bool = False) -> None:
        kind = discord.File if numeric else SpecFile
        file = kind(io.BytesIO(b"<opml/>"), filename="out.opml")
        await interaction.response.send_message("here", file=file, ephemeral=True)

    @app_commands.command(name="ask", description="Shows a button")
    async def ask(self, interaction: discord.Interaction) -> None:
        view = discord.ui.View(timeout=60)
        button = discord.ui.Button[discord.ui.View](label="Yes", custom_id="probe:yes")

        async def pressed(press: discord.Interaction) -> None:
            self.pressed.append(str(press.user.id))
            await press.response.edit_message(content="You said yes", view=None)

        button.callback = pressed  # type: ignore[method-assign]
        view.add_item(button)
        await interaction.response.send_message("Sure?", view=view, ephemeral=True)


@pytest.fixture
async def probe(discord_server, guild, start_bot):
    cog = Probe()
    await start_bot(cog, sync=guild)
    return cog


@pytest.fixture
def member(discord_server, guild):
    return discord_server.add_member(guild, "m")


async def download(url: str) -> bytes:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        return await response.read()


async def test_an_attachment_reaches_the_cog_and_is_served_at_its_url(
    discord_server, guild, probe, member
):
    upload = discord_server.files.add("feeds.opml", b"<opml/>", content_type="text/x-opml")
    inv = await discord_server.invoke(guild, member, "upload", {"file": upload})
    (got,) = probe.files
    assert (got.id, got.filename, got.size) == (upload.id, "feeds.opml", 7)
    assert inv.payload["data"]["options"] == [{"name": "file", "type": 11, "value": str(upload.id)}]
    assert await download(got.url) == b"<opml/>" and upload.downloads == 1


async def test_a_declared_size_may_differ_from_the_bytes_served(
    discord_server, guild, probe, member
):
    upload = discord_server.files.add("big.opml", b"x" * 10, declared_size=3)
    await discord_server.invoke(guild, member, "upload", {"file": upload})
    assert probe.files[0].size == 3
    assert len(await download(probe.files[0].url)) == 10


async def test_a_file_with_a_string_id_is_attached_to_the_reply(
    discord_server, guild, probe, member
):
    inv = await discord_server.invoke(guild, member, "send")
    (attachment,) = inv.original["attachments"]
    assert attachment["filename"] == "out.opml"
    assert await download(attachment["url"]) == b"<opml/>"


async def test_a_file_with_discord_pys_numeric_id_is_refused_as_the_spec_says(
    discord_server, guild, probe, member
):
    discord_server.interaction_deadline = 1.0
    discord_server.violations_expected = True
    with pytest.raises(TimeoutError):  # the bot's answer was refused: no answer arrived
        await discord_server.invoke(guild, member, "send", {"numeric": True})
    assert discord_server.count("POST", "/interactions/*/callback", status=400) == 1
    [violation] = discord_server.violations
    assert "attachments" in violation.errors["data"]


async def test_a_press_reaches_the_button_and_its_answer_updates_the_message(
    discord_server, guild, probe, member
):
    inv = await discord_server.invoke(guild, member, "ask")
    assert inv.original["components"][0]["components"][0]["custom_id"] == "probe:yes"
    press = await discord_server.press(inv.original, "probe:yes")
    assert press.payload["type"] == 3 and press.payload["data"]["custom_id"] == "probe:yes"
    assert probe.pressed == [str(member.id)]
    assert press.callback_type == 7
    assert press.original["content"] == "You said yes" and press.original["components"] == []
    with pytest.raises(InvocationError):  # the button is gone
        await discord_server.press(inv.original, "probe:yes")


async def test_only_who_ran_the_command_can_press_an_ephemeral_messages_button(
    discord_server, guild, probe, member
):
    inv = await discord_server.invoke(guild, member, "ask")
    other = discord_server.add_member(guild, "other")
    with pytest.raises(InvocationError):
        await discord_server.press(inv.original, "probe:yes", other)


async def test_an_update_answers_only_a_component_interaction(discord_server, guild, member):
    channel = guild.channels[guild.system_channel_id]
    token = secrets.token_urlsafe(8)
    inv = Invocation(snowflake(), token, guild, member, channel, {"type": 2})
    discord_server.invocations[token] = inv
    url = f"{discord_server.api_base}/interactions/{inv.id}/{token}/callback"
    update = {"type": 7, "data": {"content": "x"}}
    async with aiohttp.ClientSession() as session, session.post(url, json=update) as response:
        assert response.status == 400
    assert inv.callbacks == []


@pytest.mark.parametrize(
    ("body", "files", "where"),
    [
        (
            {"attachments": [{"id": 0, "filename": "a"}]},
            {0: FilePart("a", b"", "x")},
            "attachments",
        ),
        ({"attachments": []}, {0: FilePart("a", b"", "x")}, "attachments"),
        ({"allowed_mentions": {"roles": [123]}}, {}, "allowed_mentions"),
        ({"flags": "64"}, {}, "flags"),
        ({"components": [{"type": 2, "style": 1, "custom_id": "x"}]}, {}, "components"),
    ],
    ids=["numeric-id", "unnamed-file", "numeric-role", "string-flags", "button-outside-row"],
)
def test_request_bodies_are_checked_as_the_spec_types_them(body, files, where):
    assert where in (request_errors(body, files) or {})


def test_a_valid_body_with_a_file_passes():
    body = {"content": "x", "attachments": [{"id": "0", "filename": "a"}], "tts": False}
    assert request_errors(body, {0: FilePart("a", b"1", "x")}) is None


def row(*buttons):
    return [{"type": 1, "components": list(buttons)}]


def button(**fields):
    return {"type": 2, "style": 1, "custom_id": "c", "label": "L"} | fields


@pytest.mark.parametrize(
    "components",
    [
        row(button(label="x" * 81)),
        row(button(custom_id=None)),
        row(button(custom_id="x" * 101)),
        row(button(style=5, custom_id=None)),  # a link without a url
        row(button(style=5, url="https://x.test/")),  # a link with a custom_id
        row(button(style=9)),
        row(*[button(custom_id=str(n)) for n in range(6)]),
        [{"type": 1, "components": []}],
        row(button()) * 6,
    ],
    ids=[
        "long-label",
        "no-custom-id",
        "long-custom-id",
        "link-no-url",
        "link-with-id",
        "style",
        "six-in-a-row",
        "empty-row",
        "six-rows",
    ],
)
def test_components_discord_refuses(components):
    assert component_errors(components) is not None


def test_components_discord_takes():
    link = button(style=5, custom_id=None, url="https://x.test/")
    assert component_errors(row(button(), link)) is None

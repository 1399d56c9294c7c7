"""/source add|remove|list|status|pause|resume|import|export: a server's moderators manage what
it follows."""

from __future__ import annotations

import asyncio
import contextlib
import io
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime

import discord
from discord import app_commands
from discord.ext import commands

from bot.services import opml, sources
from bot.services.common import MAX_SOURCES_PER_GUILD, Refusal, plural
from cogs._files import SpecFile, read_attachment
from cogs._imports import CONFIRM_SECONDS, EXPIRED_TEXT, ImportConfirmation, plan_text, token_of
from cogs._replies import guild_id_of, reply_lines, runtime_of, story_autocomplete


class Sources(commands.Cog):
    source = app_commands.Group(
        name="source",
        description="Manage the pages and feeds this server follows",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        # /source import's confirmations, by token: in memory only (see cogs/_imports.py)
        self.imports: dict[str, ImportConfirmation] = {}
        self.confirm_seconds = CONFIRM_SECONDS

    async def cog_unload(self) -> None:
        for view in list(self.imports.values()):
            view.stop()
        self.imports.clear()

    @source.command(name="add")
    @app_commands.checks.has_permissions(manage_guild=True)
    @app_commands.describe(
        url="The live page or feed (https://…)",
        story="The story it belongs to (default: a new story named after the page)",
        interval="Seconds between checks (default: the bot's setting)",
    )
    async def add(
        self,
        interaction: discord.Interaction,
        url: app_commands.Range[str, 8, 2000],
        story: app_commands.Range[str, 1, 100] | None = None,
        interval: app_commands.Range[int, 1, 86400] | None = None,
    ) -> None:
        """Follow a live page or feed: fetched once and previewed, then saved."""
        guild_id = guild_id_of(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)  # a fetch may be slow
        added = await sources.add_source(
            runtime_of(interaction),
            guild_id,
            url,
            story=story,
            interval=interval,
            now=datetime.now(UTC),
        )
        lines = sources.describe_preview(added.preview)
        if added.already_there:
            lines.append(
                f"“{added.story.name}” already follows it; checked every {added.interval} s."
            )
        elif added.story_created:
            lines.append(
                f"Saved as the new story “{added.story.name}”, checked every {added.interval} s. "
                "Use /subscribe to post it in a channel."
            )
        else:
            lines.append(f"Added to “{added.story.name}”, checked every {added.interval} s.")
        await interaction.followup.send("\n".join(lines), ephemeral=True)

    @source.command(name="remove")
    @app_commands.checks.has_permissions(manage_guild=True)
    @app_commands.describe(
        story="The story", url="The source to remove (leave out to remove the whole story)"
    )
    async def remove(
        self, interaction: discord.Interaction, story: str, url: str | None = None
    ) -> None:
        """Remove a source from a story, or the whole story with its subscriptions."""
        text = await sources.remove_source(
            runtime_of(interaction).store, guild_id_of(interaction), story, url
        )
        await interaction.response.send_message(text, ephemeral=True)

    @source.command(name="list")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def list_sources(self, interaction: discord.Interaction) -> None:
        """The stories of this server and their sources."""
        found = await sources.list_sources(runtime_of(interaction).store, guild_id_of(interaction))
        if not found:
            await interaction.response.send_message(
                "This server follows no stories yet. Add one with /source add.", ephemeral=True
            )
            return
        lines: list[str] = []
        for story, items in found:
            origin = " (from the config file)" if story.guild_id is None else ""
            paused = " — paused" if story.paused_at else ""
            lines.append(f"**{story.name}**{origin}{paused}: {plural(len(items), 'source')}")
            lines.extend(
                f"• <{s.url}> — checked every {s.interval} s"
                + (f", read as a {s.kind.value}" if s.kind else "")
                for s in items
            )
        await reply_lines(interaction, lines, ephemeral=True)

    @source.command(name="status")
    @app_commands.checks.has_permissions(manage_guild=True)
    @app_commands.describe(story="One story (default: all)")
    async def status(self, interaction: discord.Interaction, story: str | None = None) -> None:
        """Per source: last poll, last change, last error, failures, next check."""
        lines = await sources.status_report(
            runtime_of(interaction).store, guild_id_of(interaction), story
        )
        await reply_lines(interaction, lines, ephemeral=True)

    @source.command(name="pause")
    @app_commands.checks.has_permissions(manage_guild=True)
    @app_commands.describe(story="The story to stop checking")
    async def pause(self, interaction: discord.Interaction, story: str) -> None:
        """Stop checking and posting a story until it is resumed."""
        text = await sources.set_paused(
            runtime_of(interaction).store,
            guild_id_of(interaction),
            story,
            True,
            now=datetime.now(UTC),
        )
        await interaction.response.send_message(text, ephemeral=True)

    @source.command(name="resume")
    @app_commands.checks.has_permissions(manage_guild=True)
    @app_commands.describe(story="The story to check again")
    async def resume(self, interaction: discord.Interaction, story: str) -> None:
        """Check and post a paused story again."""
        text = await sources.set_paused(
            runtime_of(interaction).store,
            guild_id_of(interaction),
            story,
            False,
            now=datetime.now(UTC),
        )
        await interaction.response.send_message(text, ephemeral=True)

    @source.command(name="import")
    @app_commands.checks.has_permissions(manage_guild=True)
    @app_commands.describe(file="An OPML file of feeds (at most 1 MB), as feed readers export it")
    async def import_feeds(
        self, interaction: discord.Interaction, file: discord.Attachment
    ) -> None:
        """Follow the feeds of an OPML file: shows what it found, adds them when you confirm."""
        guild_id = guild_id_of(interaction)
        if file.size > opml.MAX_OPML_BYTES:
            raise Refusal(opml.too_large_text())
        await interaction.response.defer(ephemeral=True, thinking=True)  # a download may be slow
        runtime = runtime_of(interaction)
        data = await read_attachment(
            file.url, file.size, limit=opml.MAX_OPML_BYTES, too_large=opml.too_large_text()
        )
        plan = await asyncio.get_running_loop().run_in_executor(
            runtime.extractor, opml.read_opml, data
        )
        room = MAX_SOURCES_PER_GUILD - await runtime.store.count_guild_sources(guild_id)
        text = plan_text(plan, file.filename, max(0, room))
        if not plan.feeds:
            await interaction.edit_original_response(content=text)
            return
        token = secrets.token_hex(8)
        view = ImportConfirmation(
            token=token,
            runtime=runtime,
            guild_id=guild_id,
            member_id=interaction.user.id,
            plan=plan,
            command=interaction,
            forget=self._forget,
            timeout=self.confirm_seconds,
        )
        self.imports[token] = view
        await interaction.edit_original_response(content=text, view=view)

    def _forget(self, token: str) -> None:
        self.imports.pop(token, None)

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """A press of an import button whose confirmation is gone (10 minutes passed, or
        Bulletin restarted since): say so, and take the dead buttons away."""
        if interaction.type is not discord.InteractionType.component:
            return
        data: Mapping[str, object] = interaction.data or {}
        token = token_of(str(data.get("custom_id", "")))
        if token is None:
            return
        view = self.imports.get(token)
        if view is not None and not view.is_finished():
            return  # alive: its buttons answer
        # (an HTTP error here: answered meanwhile, or too late; nothing more to say)
        with contextlib.suppress(discord.HTTPException):
            await interaction.response.edit_message(content=EXPIRED_TEXT, view=None)

    @source.command(name="export")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def export(self, interaction: discord.Interaction) -> None:
        """This server's sources as an OPML file, by story, for feed readers or /source import."""
        guild_id = guild_id_of(interaction)
        name = interaction.guild.name if interaction.guild else str(guild_id)
        exported = await opml.guild_export(
            runtime_of(interaction).store,
            guild_id,
            title=f"Bulletin: {name}",
            now=datetime.now(UTC),
        )
        stories = plural(exported.stories, "story", "stories")
        await interaction.response.send_message(
            f"{plural(exported.sources, 'source')} in {stories}, as OPML 2.0: feed readers "
            "import it, and so does /source import.",
            file=SpecFile(io.BytesIO(exported.data), filename="bulletin-sources.opml"),
            ephemeral=True,
        )

    @remove.autocomplete("story")
    @pause.autocomplete("story")
    @resume.autocomplete("story")
    async def own_story_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await story_autocomplete(interaction, current, own_only=True)

    @status.autocomplete("story")
    async def story_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await story_autocomplete(interaction, current)

    @remove.autocomplete("url")
    async def url_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if interaction.guild_id is None:
            return []
        story = getattr(interaction.namespace, "story", None)
        urls = await sources.source_choices(
            runtime_of(interaction).store, interaction.guild_id, story, current
        )
        return [app_commands.Choice(name=u, value=u) for u in urls]


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Sources(bot))

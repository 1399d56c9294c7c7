"""/source import's confirmation: the plan shown to the moderator, the buttons that start or
cancel the import, and the answer to a press of a button nobody holds any more.

A confirmation lives in memory, in its View, for 10 minutes (CONFIRM_SECONDS), on purpose:
it does not survive a restart. Discord still shows the old buttons after one, so every button's
custom_id starts with PREFIX and the cog answers a press whose confirmation is gone (expired, or
made before a restart) with EXPIRED_TEXT (see `Sources.on_interaction`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from enum import Enum

import discord

from bot import limits
from bot.delivery.sanitize import clean_markdown, clip
from bot.runtime import Runtime
from bot.services.common import MAX_SOURCES_PER_GUILD, plural
from bot.services.imports import run_import, skipped_line, summary_lines
from bot.services.opml import ImportPlan
from cogs._replies import MAX_MESSAGES, chunks

log = logging.getLogger(__name__)

PREFIX = "bulletin:opml:"  # every import button's custom_id: PREFIX + token + ":" + action
CONFIRM_SECONDS = 600.0
PROGRESS_EVERY = 2.0  # seconds between edits that show how far an import is
SHOWN_STORIES = 15
SHOWN_SKIPPED = 10
EXPIRED_TEXT = (
    "This import expired (a confirmation lasts 10 minutes, and not across a restart of "
    "Bulletin); run /source import again."
)


class State(Enum):
    WAITING = "waiting"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"


def token_of(custom_id: str) -> str | None:
    """The import a button belongs to, when the custom_id is one of ours."""
    if not custom_id.startswith(PREFIX):
        return None
    return custom_id.removeprefix(PREFIX).partition(":")[0] or None


def plan_text(plan: ImportPlan, filename: str, room: int) -> str:
    """What the file holds and what pressing Import will do (within a message's limit)."""
    title = clean_markdown(clip(plan.title or filename, 100), one_line=True)
    lines = [f"**{plural(len(plan.feeds), 'feed')} found in “{title}”.**"]
    if plan.damaged:
        lines.append(f"⚠️ The file is damaged ({plan.damaged}); this is what could be read.")
    stories = plan.stories
    if stories or plan.unnamed:
        lines.append("They go to these stories (new ones are made as needed):")
    for story in stories[:SHOWN_STORIES]:
        count = sum(1 for f in plan.feeds if f.story and f.story.casefold() == story.casefold())
        lines.append(f"• “{clean_markdown(story, one_line=True)}”: {plural(count, 'feed')}")
    if len(stories) > SHOWN_STORIES:
        lines.append(
            f"• … and {plural(len(stories) - SHOWN_STORIES, 'more story', 'more stories')}"
        )
    if plan.unnamed:
        lines.append(f"• {plural(plan.unnamed, 'feed')} with no name: a story named after its page")
    if len(plan.feeds) > room:
        lines.append(
            f"This server can follow {plural(room, 'more source')} (at most "
            f"{MAX_SOURCES_PER_GUILD}): feeds past that are left out unless it follows them "
            "already."
        )
    if plan.skipped:
        lines.append(f"**Cannot be added ({len(plan.skipped)}):**")
        lines.extend(skipped_line(s) for s in plan.skipped[:SHOWN_SKIPPED])
        if len(plan.skipped) > SHOWN_SKIPPED:
            lines.append(f"• … and {len(plan.skipped) - SHOWN_SKIPPED} more")
    if plan.feeds:
        lines.append(
            "Press **Import** within 10 minutes to add them; each is fetched once, as "
            "/source add does, and what cannot be added is listed with why."
        )
    return clip("\n".join(lines), limits.MESSAGE_CONTENT)


class ImportConfirmation(discord.ui.View):
    """The Import and Cancel buttons of one plan, for the member who ran the command."""

    def __init__(
        self,
        *,
        token: str,
        runtime: Runtime,
        guild_id: int,
        member_id: int,
        plan: ImportPlan,
        command: discord.Interaction,
        forget: Callable[[str], None],
        timeout: float = CONFIRM_SECONDS,
    ) -> None:
        super().__init__(timeout=timeout)
        self.token = token
        self.runtime = runtime
        self.guild_id = guild_id
        self.member_id = member_id
        self.plan = plan
        self.command = command
        self.forget = forget
        self.state = State.WAITING
        self._last_progress = 0.0
        go = discord.ui.Button[ImportConfirmation](
            label=clip(f"Import {plural(len(plan.feeds), 'feed')}", 80),
            style=discord.ButtonStyle.success,
            custom_id=f"{PREFIX}{token}:go",
        )
        cancel = discord.ui.Button[ImportConfirmation](
            label="Cancel", style=discord.ButtonStyle.secondary, custom_id=f"{PREFIX}{token}:cancel"
        )
        # method-assign: discord.py's documented way to give a button built at run time (its
        # custom_id carries the import's token) a handler is to assign its callback.
        go.callback = self.start  # type: ignore[method-assign]
        cancel.callback = self.cancel  # type: ignore[method-assign]
        self.add_item(go)
        self.add_item(cancel)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.member_id or interaction.guild_id != self.guild_id:
            await interaction.response.send_message(
                "Only the moderator who ran /source import can confirm it.", ephemeral=True
            )
            return False
        if not interaction.permissions.manage_guild:
            await interaction.response.send_message(
                "You need the Manage Server permission to import sources; ask a moderator.",
                ephemeral=True,
            )
            return False
        return True

    async def start(self, interaction: discord.Interaction) -> None:
        if self.state is not State.WAITING:
            await interaction.response.send_message(self._state_text(), ephemeral=True)
            return
        self.state = State.RUNNING
        total = len(self.plan.feeds)
        await interaction.response.edit_message(
            content=f"Importing {plural(total, 'feed')}…", view=None
        )
        try:
            result = await run_import(
                self.runtime,
                self.guild_id,
                self.plan,
                now=datetime.now(UTC),
                progress=self._progress(interaction),
            )
        except Exception:
            log.exception("guild %s: the import failed", self.guild_id)
            await interaction.edit_original_response(
                content="The import failed on Bulletin's side; /source list shows what was "
                "added. Run /source import again to add the rest."
            )
            self.state = State.DONE
            return
        self.state = State.DONE
        messages = chunks(summary_lines(result))
        if len(messages) > MAX_MESSAGES:
            messages = [*messages[: MAX_MESSAGES - 1], "… and more; /source list shows them."]
        await interaction.edit_original_response(content=messages[0])
        for text in messages[1:]:
            await interaction.followup.send(text, ephemeral=True)

    def _progress(self, interaction: discord.Interaction) -> Callable[[int, int], Awaitable[None]]:
        async def show(done: int, total: int) -> None:
            now = time.monotonic()
            if done >= total or now - self._last_progress < PROGRESS_EVERY:
                return
            self._last_progress = now
            try:
                await interaction.edit_original_response(
                    content=f"Importing: {done} of {plural(total, 'feed')} done…"
                )
            except discord.HTTPException:
                log.warning("guild %s: could not show the import's progress", self.guild_id)

        return show

    async def cancel(self, interaction: discord.Interaction) -> None:
        if self.state is not State.WAITING:
            await interaction.response.send_message(self._state_text(), ephemeral=True)
            return
        self.state = State.CANCELLED
        await interaction.response.edit_message(
            content="Import cancelled; nothing was added.", view=None
        )

    def _state_text(self) -> str:
        return {
            State.RUNNING: "This import is under way; its summary follows here.",
            State.DONE: "This import is done; /source list shows the sources.",
            State.CANCELLED: "This import was cancelled; run /source import again.",
        }.get(self.state, EXPIRED_TEXT)

    async def on_timeout(self) -> None:
        self.forget(self.token)
        if self.state is not State.WAITING:
            return
        try:
            await self.command.edit_original_response(content=EXPIRED_TEXT, view=None)
        except discord.HTTPException:
            log.info("guild %s: could not mark an import as expired", self.guild_id)

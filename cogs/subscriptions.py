"""/subscribe, /unsubscribe and /subscriptions: which channels follow which stories."""

from __future__ import annotations

from datetime import UTC, datetime

import discord
from discord import app_commands
from discord.ext import commands

from bot.delivery.discord_sink.forums import forum_refusal, moderated_refusal, status_tags
from bot.model import DEFAULT_DIGEST_PERIOD, DigestPeriod, Mode
from bot.permissions import (
    FORUM_HISTORY,
    MANAGE_CHANNELS,
    bot_needs,
    mention_refusal,
    missing,
    missing_text,
)
from bot.services import subscriptions
from bot.services.common import Refusal, plural
from bot.services.publishing import publish_detail, publish_refusal
from cogs._replies import guild_id_of, reply_lines, runtime_of, story_autocomplete

# The choices members see come from the vocabulary of bot.model, declared there once.
MODE_CHOICES = [app_commands.Choice(name=mode.value, value=mode.value) for mode in Mode]
EVERY_CHOICES = [
    app_commands.Choice(name=period.label, value=period.label) for period in DigestPeriod
]


# Where a subscription may post: a text (or announcement) channel, or a forum (a post per story)
Postable = discord.TextChannel | discord.ForumChannel


def _target(interaction: discord.Interaction, channel: Postable | None) -> Postable:
    target = channel or interaction.channel
    if not isinstance(target, Postable):
        raise Refusal("Pick a text or forum channel (the `channel` option) to post to.")
    return target


def _check_forum(forum: discord.ForumChannel, bot: discord.Permissions) -> None:
    """A forum that requires a tag must offer one Bulletin applies ("Live" or "Ended"), and
    Bulletin must be allowed to apply those."""
    available = [
        {"id": tag.id, "name": tag.name, "moderated": tag.moderated} for tag in forum.available_tags
    ]
    manages = bot.manage_threads or bot.administrator
    refusal = forum_refusal(
        forum.flags.require_tag, status_tags(available), forum.mention
    ) or moderated_refusal(available, manages_threads=manages, forum_mention=forum.mention)
    if refusal:
        raise Refusal(refusal)


def _check_member(
    interaction: discord.Interaction, channel: discord.abc.GuildChannel
) -> discord.Member:
    """The run-time check: Manage Channels in the channel the subscription posts to; the
    member who asked."""
    member = interaction.user
    if not isinstance(member, discord.Member):
        raise Refusal("Bulletin's commands work in a server, not in direct messages.")
    if missing(channel.permissions_for(member), (MANAGE_CHANNELS,)):
        raise Refusal(
            f"You need the Manage Channels permission in {channel.mention} to change what "
            "it follows; ask a moderator."
        )
    return member


class Subscriptions(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="subscribe")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_channels=True)
    @app_commands.checks.has_permissions(manage_channels=True)
    @app_commands.describe(
        story="The story to follow",
        channel="Where to post: a text channel, or a forum (a post per story; default: here)",
        mode="updates: every update; key-points: changed key points; digest: a summary",
        every="How often a digest is posted (digest mode only; default "
        f"{DEFAULT_DIGEST_PERIOD.label})",
        mention="A role to ping on key-point changes and on updates its keywords or pattern pick",
        keywords="Only updates with one of these comma-separated words or phrases",
        exclude="No update with any of these comma-separated words or phrases",
        pattern="Only updates matching this RE2 regular expression (any case, 200 characters)",
        thread="Post in a thread of the channel, one per story",
        backfill="Also post this many of the latest updates now (0-10)",
        publish="Announcement channels: publish each message to the servers following it",
    )
    @app_commands.choices(mode=MODE_CHOICES, every=EVERY_CHOICES)
    async def subscribe(
        self,
        interaction: discord.Interaction,
        story: str,
        channel: Postable | None = None,
        mode: str = Mode.UPDATES.value,
        every: str | None = None,
        mention: discord.Role | None = None,
        keywords: app_commands.Range[str, 1, 500] | None = None,
        exclude: app_commands.Range[str, 1, 500] | None = None,
        pattern: app_commands.Range[str, 1, 200] | None = None,
        thread: bool = False,
        backfill: app_commands.Range[int, 0, 10] = 0,
        publish: bool = False,
    ) -> None:
        """Follow a story in a channel; subscribing again changes the subscription."""
        guild_id = guild_id_of(interaction)
        target = _target(interaction, channel)
        member = _check_member(interaction, target)
        if publish and (
            refusal := publish_refusal(
                announcement=isinstance(target, discord.TextChannel) and target.is_news(),
                thread=thread,
                where=target.mention,
            )
        ):
            raise Refusal(refusal)
        assert interaction.guild is not None
        forum = isinstance(target, discord.ForumChannel)
        bot_perms = target.permissions_for(interaction.guild.me)
        lacking = missing(bot_perms, bot_needs(thread=thread, forum=forum))
        if lacking:
            raise Refusal(
                f"Bulletin cannot post in {target.mention}: it needs {missing_text(lacking)} "
                "there. Grant them (channel settings → Permissions) and try again."
            )
        if isinstance(target, discord.ForumChannel):
            _check_forum(target, bot_perms)
        if mention is not None:
            refusal = mention_refusal(
                mention.name,
                is_everyone=mention.is_default(),
                mentionable=mention.mentionable,
                member=target.permissions_for(member),
                bot=bot_perms,
            )
            if refusal:
                raise Refusal(refusal)
        done = await subscriptions.subscribe(
            runtime_of(interaction),
            guild_id,
            story,
            channel_id=target.id,
            mode=mode,
            every=every,
            mention_role_id=mention.id if mention else None,
            keywords=keywords,
            exclude=exclude,
            pattern=pattern,
            thread=thread,
            backfill=backfill,
            publish=publish,
            now=datetime.now(UTC),
            forum=forum,
            channel_name=target.name,
        )
        verb = "now follows" if not done.changed else "follows (settings changed)"
        details = [mode]
        if done.every:
            details.append(subscriptions.describe_every(done.every))
        details += subscriptions.describe_filters(done.keywords, done.exclusions, done.pattern)
        if mention:
            details.append(f"mentioning {mention.mention}")
        if forum:
            details.append("a post per story")
        elif thread:
            details.append("in a thread")
        if publish:
            details.append(publish_detail())
        text = f"{target.mention} {verb} “{done.story.name}” ({', '.join(details)})."
        if done.resumed:
            text = (
                f"{target.mention} follows “{done.story.name}” again ({', '.join(details)}); "
                "what waited while it was paused is posted now."
            )
        if forum and missing(bot_perms, (FORUM_HISTORY,)):
            text += (
                " Without Read Message History here, a post made just before a restart and "
                "archived meanwhile cannot be found afterwards, so a second one may be started: "
                "grant it to avoid that."
            )
        if backfill:
            if done.backfilled:
                text += f" The latest {plural(done.backfilled, 'update')} will be posted shortly."
            elif done.backfill_shown_already:
                text += " The latest updates were posted here already."
            elif done.filtered:
                text += " No recent update passes its filters, so there is nothing to backfill."
            else:
                text += " There are no updates to backfill yet."
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(name="unsubscribe")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_channels=True)
    @app_commands.checks.has_permissions(manage_channels=True)
    @app_commands.describe(
        story="The story to stop following", channel="The channel (default: this channel)"
    )
    async def unsubscribe(
        self,
        interaction: discord.Interaction,
        story: str,
        channel: Postable | None = None,
    ) -> None:
        """Stop following a story in a channel."""
        guild_id = guild_id_of(interaction)
        target = _target(interaction, channel)
        _check_member(interaction, target)
        guild = interaction.guild
        assert guild is not None
        text = await subscriptions.unsubscribe(
            runtime_of(interaction).store,
            guild_id,
            story,
            channel_id=target.id,
            channel_given=channel is not None,
            channel_exists=lambda channel_id: guild.get_channel_or_thread(channel_id) is not None,
        )
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(name="subscriptions")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_channels=True)
    @app_commands.checks.has_permissions(manage_channels=True)
    async def list_subscriptions(self, interaction: discord.Interaction) -> None:
        """This server's subscriptions and their health."""
        views = await subscriptions.list_subscriptions(
            runtime_of(interaction).store, guild_id_of(interaction)
        )
        if not views:
            await interaction.response.send_message(
                "No channel here follows a story yet; /subscribe starts one.", ephemeral=True
            )
            return
        lines = ["**Subscriptions**", *map(subscriptions.describe_subscription, views)]
        await reply_lines(interaction, lines, ephemeral=True)

    @commands.Cog.listener()
    async def on_guild_channel_update(
        self, before: discord.abc.GuildChannel, after: discord.abc.GuildChannel
    ) -> None:
        """A renamed channel: its subscriptions keep the new name (alerts name it by it)."""
        if before.name != after.name:
            store = self.bot.runtime.store  # type: ignore[attr-defined]  # see runtime_of
            await subscriptions.channel_renamed(store, after.guild.id, after.id, after.name)

    @commands.Cog.listener()
    async def on_guild_available(self, guild: discord.Guild) -> None:
        """Names of subscribed channels renamed while Bulletin was away are caught up."""
        store = self.bot.runtime.store  # type: ignore[attr-defined]  # see runtime_of
        names = {channel.id: channel.name for channel in guild.channels}
        await subscriptions.sync_channel_names(store, guild.id, names)

    @subscribe.autocomplete("story")
    @unsubscribe.autocomplete("story")
    async def story_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await story_autocomplete(interaction, current)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Subscriptions(bot))

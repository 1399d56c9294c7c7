"""The outbox to Discord: rows → messages, edits and threads, each once, in order."""

from bot.delivery.discord_sink.sink import DiscordSink

__all__ = ["DiscordSink"]

"""Polling: the poller picks due sources and runs one poll of each (`pipeline`)."""

from bot.polling.poller import Poller, polling

__all__ = ["Poller", "polling"]

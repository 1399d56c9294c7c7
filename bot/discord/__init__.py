"""Discord-facing pieces of the bot that are not cogs."""

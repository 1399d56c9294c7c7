"""The logic behind the slash commands, free of discord.py so that it runs and tests alone.

Every function takes the guild (server) it acts for and never reads or touches another server's
stories; refusals are `Refusal` (a BulletinError) whose message says what to do next.
"""

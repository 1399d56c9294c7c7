"""Bulletin: follows live news pages and feeds and posts what is new to Discord."""

import os

__version__ = "0.1.0"

# frozenlist (aiohttp's signals and middleware lists, none of them on a hot path) is built as
# C++: its compiled module loads libstdc++, 1 MB of memory for a list Bulletin never touches
# while polling. Its own switch selects the pure-Python twin, which behaves the same. Set
# before anything imports aiohttp; a value already in the environment wins.
os.environ.setdefault("FROZENLIST_NO_EXTENSIONS", "1")

"""Bulletin: follows live news pages and feeds and posts what is new to Discord."""

__version__ = "0.1.0"

"""Discord's documented limits, declared once (characters count as Discord counts them: UTF-16
code units). https://discord.com/developers/docs/resources/message#create-message and the
embed, application-command and autocomplete limits of the same documentation."""

from __future__ import annotations

MESSAGE_CONTENT = 2000  # a message's text
EMBEDS_PER_MESSAGE = 10
EMBEDS_TOTAL = 6000  # all embeds of one message together
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
EMBED_FIELD_NAME = 256
EMBED_FIELD_VALUE = 1024
EMBED_FOOTER = 2048
EMBED_AUTHOR = 256
THREAD_NAME = 100
NONCE = 25  # a message nonce, as a string
AUTOCOMPLETE_CHOICES = 25
CHOICE_NAME = 100  # an application-command choice's name and value

# Publishing (crossposting) a message of an announcement channel: about 10 an hour per channel
# (Discord's documentation of the crosspost endpoint; its rate-limit headers say the rest).
PUBLISHES_PER_HOUR = 10
PUBLISH_RESERVE = 2  # of each hour's publishes, kept for key-point changes and "coverage ended"

"""Discord's message limits and rate-limit buckets, as the fake server enforces them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000
EMBED_FIELD_COUNT_MAX = 25
# (path inside one embed, limit)
EMBED_TEXT_LIMITS: tuple[tuple[tuple[str, ...], int], ...] = (
    (("title",), 256),
    (("description",), 4096),
    (("footer", "text"), 2048),
    (("author", "name"), 256),
)
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024


def _dig(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _too_long(limit: int) -> dict[str, Any]:
    return {
        "_errors": [
            {"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {limit} or fewer in length."}
        ]
    }


def embed_chars(embed: dict[str, Any]) -> int:
    """The characters Discord counts towards the 6,000 per message."""
    total = 0
    for path, _ in EMBED_TEXT_LIMITS:
        value = _dig(embed, path)
        if isinstance(value, str):
            total += len(value)
    for fld in embed.get("fields") or []:
        total += len(str(fld.get("name", ""))) + len(str(fld.get("value", "")))
    return total


def validate_message(payload: dict[str, Any]) -> dict[str, Any] | None:
    """Discord's `errors` tree for a message payload that breaks a limit, or None if fine."""
    errors: dict[str, Any] = {}
    content = payload.get("content")
    if isinstance(content, str) and len(content) > CONTENT_MAX:
        errors["content"] = _too_long(CONTENT_MAX)
    embeds = payload.get("embeds") or []
    if len(embeds) > EMBEDS_MAX:
        errors["embeds"] = _too_long(EMBEDS_MAX)
    else:
        embed_errors: dict[str, Any] = {}
        for index, embed in enumerate(embeds):
            one: dict[str, Any] = {}
            for path, limit in EMBED_TEXT_LIMITS:
                value = _dig(embed, path)
                if isinstance(value, str) and len(value) > limit:
                    node = one
                    for key in path[:-1]:
                        node = node.setdefault(key, {})
                    node[path[-1]] = _too_long(limit)
            fields = embed.get("fields") or []
            if len(fields) > EMBED_FIELD_COUNT_MAX:
                one["fields"] = _too_long(EMBED_FIELD_COUNT_MAX)
            else:
                for fi, fld in enumerate(fields):
                    bad: dict[str, Any] = {}
                    if len(str(fld.get("name", ""))) > FIELD_NAME_MAX:
                        bad["name"] = _too_long(FIELD_NAME_MAX)
                    if len(str(fld.get("value", ""))) > FIELD_VALUE_MAX:
                        bad["value"] = _too_long(FIELD_VALUE_MAX)
                    if bad:
                        one.setdefault("fields", {})[str(fi)] = bad
            if one:
                embed_errors[str(index)] = one
        if embed_errors:
            errors["embeds"] = embed_errors
        elif sum(embed_chars(e) for e in embeds) > EMBED_TOTAL_MAX:
            errors["embeds"] = {
                "_errors": [
                    {
                        "code": "MAX_EMBED_SIZE_EXCEEDED",
                        "message": f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX}",
                    }
                ]
            }
    if not errors and not content and not embeds and not payload.get("attachments"):
        errors["content"] = {
            "_errors": [{"code": "BASE_TYPE_REQUIRED", "message": "Cannot send an empty message"}]
        }
    return errors or None


@dataclass
class Window:
    """A fixed window of `limit` requests per `period` seconds, like one Discord bucket."""

    limit: int
    period: float
    used: int = 0
    resets_at: float = 0.0

    def take(self, now: float) -> bool:
        if now >= self.resets_at:
            self.used = 0
            self.resets_at = now + self.period
        if self.used >= self.limit:
            return False
        self.used += 1
        return True

    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def reset_after(self, now: float) -> float:
        return max(0.0, self.resets_at - now)


@dataclass
class RateLimits:
    """Configurable limits. `message_create` and `crosspost` are per channel; `route` is every
    other bucket."""

    global_per_second: int = 50
    message_create: tuple[int, float] = (5, 5.0)
    route: tuple[int, float] = (50, 1.0)
    crosspost: tuple[int, float] = (10, 3600.0)  # publishes per announcement channel
    _global: Window | None = None
    _buckets: dict[tuple[str, str], Window] = field(default_factory=dict)
    hits: int = 0  # 429s served

    def now(self) -> float:
        return time.monotonic()

    def check_global(self) -> float | None:
        """None when the request may go, else seconds until the global window reopens."""
        now = self.now()
        if self._global is None or self._global.limit != self.global_per_second:
            self._global = Window(self.global_per_second, 1.0)
        if self._global.take(now):
            return None
        return self._global.reset_after(now)

    def bucket(self, name: str, major: str) -> Window:
        limit, period = self.message_create if name == "message_create" else self.route
        if name.endswith("/crosspost"):
            limit, period = self.crosspost
        key = (name, major)
        window = self._buckets.get(key)
        if window is None or (window.limit, window.period) != (limit, period):
            window = self._buckets[key] = Window(limit, period)
        return window

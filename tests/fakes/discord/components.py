"""Message components in the fake Discord: the action rows and buttons a message may carry,
checked as Discord's OpenAPI specification types them (ActionRowComponentForMessageRequest,
ButtonComponentForMessageRequest), and the component interaction (type 3) a press sends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

ACTION_ROW, BUTTON = 1, 2
LINK, PREMIUM = 5, 6
MAX_ROWS = 5  # action rows of a message (without the components-v2 flag)
MAX_PER_ROW = 5
CUSTOM_ID_MAX = 100
LABEL_MAX = 80
URL_MAX = 512


def _error(message: str) -> dict[str, Any]:
    return {"_errors": [{"code": "BASE_TYPE_INVALID", "message": message}]}


def component_errors(components: list[dict[str, Any]] | None) -> dict[str, Any] | None:
    """Discord's `errors` tree for the components of a message body, or None when valid."""
    if not components:
        return None
    if len(components) > MAX_ROWS:
        return _error(f"Must be {MAX_ROWS} or fewer in length.")
    errors: dict[str, Any] = {}
    for index, row in enumerate(components):
        if problem := _row_errors(row):
            errors[str(index)] = problem
    return errors or None


def _row_errors(row: Any) -> dict[str, Any] | None:
    if not isinstance(row, dict) or row.get("type") != ACTION_ROW:
        return _error("A message's top-level component must be an action row (type 1)")
    errors: dict[str, Any] = {}
    if not isinstance(row.get("id", 0), int | None):
        errors["id"] = _error("Must be an integer")
    items = row.get("components")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_PER_ROW:
        errors["components"] = _error(f"An action row holds 1 to {MAX_PER_ROW} components")
        return errors
    for index, item in enumerate(items):
        if problem := button_errors(item):
            errors.setdefault("components", {})[str(index)] = problem
    return errors or None


def button_errors(button: Any) -> dict[str, Any] | None:
    if not isinstance(button, dict) or button.get("type") != BUTTON:
        return _error("The fake knows buttons (type 2) only")
    errors: dict[str, Any] = {}
    style = button.get("style")
    if not isinstance(style, int) or not 1 <= style <= PREMIUM:
        errors["style"] = _error("Must be a button style, 1 to 6")
    custom_id, url = button.get("custom_id"), button.get("url")
    if style == LINK:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            errors["url"] = _error("A link button needs an http(s) url")
        elif len(url) > URL_MAX:
            errors["url"] = _error(f"Must be {URL_MAX} or fewer in length.")
        if custom_id is not None:
            errors["custom_id"] = _error("A link button has no custom_id")
    elif style != PREMIUM:
        if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= CUSTOM_ID_MAX:
            errors["custom_id"] = _error(f"Must be 1 to {CUSTOM_ID_MAX} characters")
        if url is not None:
            errors["url"] = _error("Only a link button has a url")
    label = button.get("label")
    if label is not None and (not isinstance(label, str) or len(label) > LABEL_MAX):
        errors["label"] = _error(f"Must be {LABEL_MAX} or fewer in length.")
    if not isinstance(button.get("disabled", False), bool | None):
        errors["disabled"] = _error("Must be a boolean")
    if not isinstance(button.get("id", 0), int | None):
        errors["id"] = _error("Must be an integer")
    return errors or None


def buttons(message: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every button of a message, row by row."""
    for row in message.get("components") or []:
        yield from (c for c in row.get("components") or [] if c.get("type") == BUTTON)


def find_button(message: dict[str, Any], custom_id: str) -> dict[str, Any] | None:
    return next((b for b in buttons(message) if b.get("custom_id") == custom_id), None)

"""Files in the fake Discord: attachments members give to commands (served on loopback as
Discord's CDN serves them), files the bot uploads (multipart/form-data with payload_json), and
the checks Discord's OpenAPI specification makes of message bodies sent through interactions
(snowflakes as strings of digits, attachments matching the uploaded parts, components).
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from .components import component_errors
from .model import snowflake

CDN = "/attachments"
MAX_FILES = 10  # attachments of one message
MAX_FILE_BYTES = 10 * 1024 * 1024  # the attachment_size_limit the fake announces
MAX_FILENAME = 1024
SNOWFLAKE = re.compile(r"0|[1-9][0-9]*")
# where a request keeps its multipart body once read
_READ: web.RequestKey[tuple[dict[str, Any], dict[int, FilePart]]] = web.RequestKey("read_body")


@dataclass
class Upload:
    """A file on the fake's CDN: given by a member to a command, or uploaded by the bot."""

    id: int
    filename: str
    data: bytes
    content_type: str
    url: str
    declared_size: int | None = None  # what Discord says the size is (tests may make it lie)
    downloads: int = 0

    @property
    def size(self) -> int:
        return len(self.data) if self.declared_size is None else self.declared_size

    def payload(self, *, ephemeral: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "filename": self.filename,
            "size": self.size,
            "url": self.url,
            "proxy_url": self.url,
            "content_type": self.content_type,
        }
        if ephemeral:
            data["ephemeral"] = True
        return data


@dataclass
class Files:
    """The fake's CDN: every upload by id, served at /attachments/<channel>/<id>/<filename>."""

    base_url: str = ""
    uploads: dict[int, Upload] = field(default_factory=dict)
    _channels: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add(
        self,
        filename: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        declared_size: int | None = None,
        channel_id: int = 0,
    ) -> Upload:
        ident = snowflake()
        url = f"{self.base_url}{CDN}/{channel_id or next(self._channels)}/{ident}/{filename}"
        upload = Upload(ident, filename, data, content_type, url, declared_size)
        self.uploads[ident] = upload
        return upload

    def route(self, app: web.Application) -> None:
        app.router.add_get(CDN + "/{channel_id}/{attachment_id}/{filename}", self._serve)

    async def _serve(self, request: web.Request) -> web.Response:
        upload = self.uploads.get(int(request.match_info["attachment_id"]))
        if upload is None or upload.filename != request.match_info["filename"]:
            return web.Response(status=404, text="Not Found")
        upload.downloads += 1
        return web.Response(body=upload.data, content_type=upload.content_type)

    def attach(
        self, channel_id: int, body: dict[str, Any], files: dict[int, FilePart]
    ) -> list[dict[str, Any]]:
        """The attachments of a message created with BODY and the uploaded FILES."""
        found = []
        for item in body.get("attachments") or []:
            part = files.get(int(item["id"]))
            if part is not None:
                upload = self.add(
                    item.get("filename") or part.filename,
                    part.data,
                    content_type=part.content_type,
                    channel_id=channel_id,
                )
                found.append(upload.payload())
        return found

    def kept(
        self,
        channel_id: int,
        before: list[dict[str, Any]],
        body: dict[str, Any],
        files: dict[int, FilePart],
    ) -> list[dict[str, Any]]:
        """The attachments of an edited message: those BODY keeps by id, then the new files."""
        if "attachments" not in body:
            return before
        known = {a["id"]: a for a in before}
        kept = [known[a["id"]] for a in body["attachments"] or [] if a["id"] in known]
        fresh = [a for a in body["attachments"] or [] if a["id"] not in known]
        return kept + self.attach(channel_id, {"attachments": fresh}, files)


@dataclass(frozen=True)
class FilePart:
    filename: str
    data: bytes
    content_type: str


async def read_body(request: web.Request) -> tuple[dict[str, Any], dict[int, FilePart]]:
    """The JSON body and the uploaded files (files[n] parts) of a request, JSON or multipart.
    A multipart stream is read once: what it held is kept on the request for a second reader."""
    if (kept := request.get(_READ)) is not None:
        return kept
    if not request.content_type.startswith("multipart/"):
        if not request.body_exists:
            return {}, {}
        sent = await request.json()
        return (sent if isinstance(sent, dict) else {"_not_an_object": sent}), {}
    body: dict[str, Any] = {}
    files: dict[int, FilePart] = {}
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise web.HTTPBadRequest(text="nested multipart is not accepted")
        name = part.name or ""
        data = await part.read()
        if name == "payload_json":
            body = json.loads(data)
        elif match := re.fullmatch(r"files\[(\d+)\]", name):
            content_type = part.headers.get("Content-Type", "application/octet-stream")
            files[int(match.group(1))] = FilePart(part.filename or "", bytes(data), content_type)
        else:
            body["_unknown_part"] = name
    request[_READ] = (body, files)
    return body, files


def _error(message: str, code: str = "BASE_TYPE_INVALID") -> dict[str, Any]:
    return {"_errors": [{"code": code, "message": message}]}


def is_snowflake(value: object) -> bool:
    return isinstance(value, str) and SNOWFLAKE.fullmatch(value) is not None


def request_errors(body: dict[str, Any], files: dict[int, FilePart]) -> dict[str, Any] | None:
    """Discord's `errors` tree for a message body the spec refuses, or None. The fields the
    spec names are checked by their types (snowflakes are strings of digits; attachments name
    the uploaded parts; components); others pass, as the spec allows and Discord ignores them."""
    errors: dict[str, Any] = {}
    if "flags" in body and not isinstance(body["flags"], int | None):
        errors["flags"] = _error("Must be an integer")
    mentions = body.get("allowed_mentions") or {}
    for key in ("users", "roles"):
        if not all(is_snowflake(v) for v in mentions.get(key) or []):
            errors.setdefault("allowed_mentions", {})[key] = _error("Snowflakes are strings")
    if problem := attachment_errors(body.get("attachments"), files):
        errors["attachments"] = problem
    if problem := component_errors(body.get("components")):
        errors["components"] = problem
    return errors or None


def attachment_errors(
    attachments: list[dict[str, Any]] | None, files: dict[int, FilePart]
) -> dict[str, Any] | None:
    """Each attachment has a string id, and the new ones name an uploaded file part."""
    listed = attachments or []
    if len(listed) > MAX_FILES or len(files) > MAX_FILES:
        return _error(f"Must be {MAX_FILES} or fewer in length.", "BASE_TYPE_MAX_LENGTH")
    problems: dict[str, Any] = {}
    for index, item in enumerate(listed):
        if not isinstance(item, dict) or not is_snowflake(item.get("id")):
            problems[str(index)] = {"id": _error("Value is not snowflake.", "NUMBER_TYPE_COERCE")}
            continue
        filename = item.get("filename")
        if filename is not None and not 1 <= len(str(filename)) <= MAX_FILENAME:
            problems[str(index)] = {"filename": _error("Must be 1-1024 characters")}
    named = {int(i["id"]) for i in listed if isinstance(i, dict) and is_snowflake(i.get("id"))}
    for number, part in files.items():
        if number not in named:
            problems[f"files[{number}]"] = _error("An uploaded file no attachment names")
        elif len(part.data) > MAX_FILE_BYTES:
            problems[f"files[{number}]"] = _error("File too large", "BASE_TYPE_MAX_LENGTH")
    return problems or None

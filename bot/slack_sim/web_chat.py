"""The fake's messaging methods: chat.*, conversations.open and the current file upload flow."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bot.slack_sim.blocks import message_block_problems
from bot.slack_sim.records import SlackError, UploadedFile
from bot.slack_sim.workspace import PendingUpload, Workspace, parse_json_arg

MAX_TEXT = 40_000

Method = Callable[[Workspace, dict[str, Any]], dict[str, Any]]


def _content(args: dict[str, Any], *, required: bool = True) -> tuple[str | None, list[Any] | None]:
    """The text and blocks of a message, checked the way Slack checks them."""
    text = args.get("text")
    blocks = parse_json_arg(args, "blocks", error="invalid_blocks_format")
    if required and not text and not blocks and not args.get("attachments"):
        raise SlackError("no_text")
    if isinstance(text, str) and len(text) > MAX_TEXT:
        raise SlackError("msg_too_long")
    if blocks is not None:
        problems = message_block_problems(blocks)
        if problems:
            raise SlackError("invalid_blocks", messages=problems)
    return (str(text) if text is not None else None), blocks


def post_message(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = ws.channel(args.get("channel"), user_ids_open_dm=True)
    text, blocks = _content(args)
    ws.check_channel_rate(channel, time.monotonic())
    extra = {"thread_ts": args["thread_ts"]} if args.get("thread_ts") else {}
    message = ws.store_message(channel, text=text or "", blocks=blocks, **extra)
    return {"ok": True, "channel": channel, "ts": message["ts"], "message": dict(message)}


def update(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    # Unlike chat.postMessage, chat.update needs the conversation id: a DM is its D... id, not the user id.
    channel = ws.channel(args.get("channel"))
    message = ws.find_message(channel, args.get("ts"))
    text, blocks = _content(args, required=False)
    # Slack keeps what the update leaves out: no `blocks` keeps the old blocks, `[]` removes them.
    if text is not None:
        message["text"] = text
    if blocks is not None:
        message["blocks"] = blocks
    message["edited"] = {"user": ws.bot_user_id, "ts": ws.new_ts()}
    return {"ok": True, "channel": channel, "ts": message["ts"], "text": message["text"], "message": dict(message)}


def post_ephemeral(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = ws.channel(args.get("channel"))
    user = ws.user(args.get("user"))["id"]
    text, blocks = _content(args)
    ts = ws.new_ts()
    ws.ephemerals.append({"channel": channel, "user": user, "ts": ts, "text": text or "", "blocks": blocks or []})
    return {"ok": True, "message_ts": ts}


def get_permalink(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = ws.channel(args.get("channel"))
    message = ws.find_message(channel, args.get("message_ts"))
    link = f"https://sim.slack.com/archives/{channel}/p{message['ts'].replace('.', '')}"
    return {"ok": True, "channel": channel, "permalink": link}


def open_conversation(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    if args.get("channel"):
        return {"ok": True, "channel": {"id": ws.channel(args["channel"])}, "already_open": True}
    users = args.get("users")
    ids = users if isinstance(users, list) else [part.strip() for part in str(users or "").split(",") if part.strip()]
    if not ids:
        raise SlackError("users_list_not_supplied")
    for user_id in ids:
        ws.user(user_id)
    if len(ids) == 1:
        already = ids[0] in ws.ims
        return {"ok": True, "channel": {"id": ws.im_channel(ids[0])}, "already_open": already}
    channel_id = ws.new_id("G")
    ws.channels[channel_id] = {"id": channel_id, "is_mpim": True, "name": "mpdm-" + "--".join(ids), "members": ids}
    return {"ok": True, "channel": {"id": channel_id}}


def get_upload_url(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    filename, length = args.get("filename"), args.get("length")
    if not filename or length is None or not str(length).isdigit():
        raise SlackError("invalid_arguments", messages=["[ERROR] filename and length are required"])
    file_id = ws.new_id("F")
    ws.uploads[file_id] = PendingUpload(file_id=file_id, filename=str(filename), length=int(length))
    return {"ok": True, "upload_url": f"{ws.public_url}/upload/{file_id}", "file_id": file_id}


def complete_upload(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    files = parse_json_arg(args, "files", error="invalid_arguments")
    if not isinstance(files, list) or not files:
        raise SlackError("invalid_arguments", messages=["[ERROR] files must be a non-empty array"])
    channel = ws.channel(args["channel_id"]) if args.get("channel_id") else None
    pending = [_finished_upload(ws, entry) for entry in files]
    comment = args.get("initial_comment")
    shared = []
    for upload, entry in zip(pending, files, strict=True):
        title = entry.get("title") or upload.filename
        ws.uploaded_files.append(
            UploadedFile(file_id=upload.file_id, filename=upload.filename, title=title, content=upload.content or b"",
                         channel_id=channel, initial_comment=comment)
        )  # fmt: skip
        shared.append(
            {"id": upload.file_id, "name": upload.filename, "title": title, "size": len(upload.content or b"")}
        )
        ws.uploads.pop(upload.file_id, None)
    if channel is not None:
        ws.store_message(channel, text=comment or "", blocks=None, files=shared)
    return {"ok": True, "files": shared}


def _finished_upload(ws: Workspace, entry: Any) -> PendingUpload:
    file_id = entry.get("id") if isinstance(entry, dict) else None
    upload = ws.uploads.get(file_id) if isinstance(file_id, str) else None
    if upload is None or upload.content is None:
        raise SlackError("file_not_found")
    return upload


def deprecated(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    raise SlackError(
        "method_deprecated", messages=["[WARN] use files.getUploadURLExternal and files.completeUploadExternal"]
    )


METHODS: dict[str, Method] = {
    "chat.postMessage": post_message,
    "chat.update": update,
    "chat.postEphemeral": post_ephemeral,
    "chat.getPermalink": get_permalink,
    "conversations.open": open_conversation,
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
    "files.upload": deprecated,
}

"""Loopback fake of Slack's Web API and Socket Mode, for tests that drive real slack_sdk clients.

The real clients reach it through ``base_url`` and ``apps.connections.open``. It answers the way
Slack does (HTTP 200 with ``ok``/``error`` JSON, 429 with ``Retry-After``, an HTML sign-in page
for downloads without a token) and records every call, so tests assert on what the bot did.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import itertools
import json
import mimetypes
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

TEAM_ID = "T0FAKE0001"
TEAM_DOMAIN = "fake-team"
APP_ID = "A0FAKE0001"
BOT_ID = "B0FAKE0001"
BOT_USER_ID = "U0FAKEBOT1"
USER_ID = "U0FAKEUSR1"
ENVELOPE_TYPES = ("events_api", "slash_commands", "interactive")

SIGN_IN_PAGE = (
    b'<!DOCTYPE html><html lang="en-US"><head><meta charset="utf-8">'
    b"<title>Slack</title></head><body><h1>Sign in to " + TEAM_DOMAIN.encode() + b"</h1>"
    b'<form action="/signin" method="post"><input type="email" name="email">'
    b'<button type="submit">Sign In</button></form></body></html>'
)

T = TypeVar("T")


def sign_request(signing_secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Sign a body as Slack signs requests to an app, so HTTP-mode tests pass verification."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@dataclass(frozen=True)
class Call:
    """One Web API request as the fake saw it, and what it answered."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]  # names lower-cased
    time: float
    status: int
    response: dict[str, Any]


@dataclass(frozen=True)
class Download:
    """One GET of a file URL; ``authorized`` says whether it carried the bot token."""

    file_id: str
    authorized: bool
    time: float


@dataclass(frozen=True)
class _Reply:
    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


_NOT_FOUND = _Reply(HTTPStatus.NOT_FOUND, "text/plain", b"Not Found")


class SlackError(Exception):
    """A Web API failure, answered as ``{"ok": false, "error": error}``."""

    def __init__(self, error: str, status: int = 200, headers: dict[str, str] | None = None):
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = headers or {}


class FakeSlack:
    """Slack's Web API and Socket Mode on 127.0.0.1 (port 0), each on a background thread."""

    def __init__(self) -> None:
        self.bot_token = f"xoxb-test-{uuid.uuid4().hex[:12]}"
        self.app_token = f"xapp-1-{APP_ID}-test-{uuid.uuid4().hex[:12]}"
        self._cond = threading.Condition(threading.RLock())
        self._ids = itertools.count(1)
        self._ts = itertools.count(1_700_000_000_000_100, 100)
        self._calls: list[Call] = []
        self._downloads: list[Download] = []
        self._scripted: defaultdict[str, deque[SlackError]] = defaultdict(deque)
        self._messages: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
        self._views: dict[str, dict[str, Any]] = {}
        self._files: dict[str, dict[str, Any]] = {}
        self._file_bytes: dict[str, bytes] = {}
        self._pending_uploads: dict[str, dict[str, Any]] = {}
        self._upload_tokens: dict[str, str] = {}
        self._uploaded: dict[str, dict[str, Any]] = {}
        self._tickets: set[str] = set()
        self._delay_s = 0.0
        self.admins: set[str] = set()
        """Users ``users.info`` says are workspace admins (tests add them)."""
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "files.info": self._files_info,
            "files.delete": self._files_delete,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "conversations.history": self._conversations_history,
            "users.info": self._users_info,
            "conversations.replies": self._conversations_replies,
        }
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _HttpHandler)
        self._http.fake = self  # type: ignore[attr-defined]
        self._http_thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._socket = _SocketModeServer(self._cond, self._is_issued_ticket)

    # ----- lifecycle

    def start(self) -> FakeSlack:
        """Start both servers; returns self so fixtures can ``yield FakeSlack().start()``."""
        self._http_thread.start()
        self._socket.start()
        return self

    def close(self) -> None:
        """Stop both servers; close the clients first or they will try to reconnect."""
        self._socket.stop()
        self._http.shutdown()
        self._http.server_close()
        self._http_thread.join(timeout=5)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        """Root of the fake's HTTP side (file and upload URLs live here)."""
        return f"http://127.0.0.1:{self._http.server_address[1]}/"

    @property
    def base_url(self) -> str:
        """What to give ``WebClient(base_url=...)``: it ends with ``/api/`` like Slack's."""
        return f"{self.url}api/"

    # ----- what tests inspect

    @property
    def calls(self) -> list[Call]:
        """Every Web API call so far, failed and rate-limited ones included."""
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """The calls to one Web API method, oldest first."""
        return [call for call in self.calls if call.method == method]

    @property
    def downloads(self) -> list[Download]:
        """Every GET of a registered file's URL."""
        with self._cond:
            return list(self._downloads)

    @property
    def uploaded_files(self) -> dict[str, dict[str, Any]]:
        """file_id -> filename, bytes, title, channel_id, thread_ts, initial_comment, alt_txt."""
        with self._cond:
            return copy.deepcopy(self._uploaded)

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        """file_id -> full Slack file object, as ``files.info`` answers."""
        with self._cond:
            return copy.deepcopy(self._files)

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """A snapshot of a channel's messages (thread replies too) in posting order."""
        with self._cond:
            return copy.deepcopy(self._messages[channel])

    @property
    def acks(self) -> dict[str, dict[str, Any]]:
        """envelope_id -> the ack a Socket Mode client sent for it."""
        return self._socket.acks

    @property
    def socket_connections(self) -> int:
        """How many Socket Mode connections are open now."""
        return self._socket.open_count

    @property
    def socket_connects(self) -> int:
        """How many Socket Mode connections were ever accepted (reconnects count)."""
        return self._socket.connect_count

    def wait_for(self, predicate: Callable[[], T | None], timeout: float = 5.0) -> T:
        """Return the predicate's first truthy value, re-checked whenever the fake records
        something; raise AssertionError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"condition not met within {timeout}s")
            with self._cond:
                self._cond.wait(min(remaining, 0.05))

    async def wait_for_async(self, predicate: Callable[[], T | None], timeout: float = 5.0) -> T:
        """``wait_for`` without blocking the event loop the client under test runs on."""
        return await asyncio.to_thread(self.wait_for, predicate, timeout)

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The ack for one envelope, once the client has sent it."""
        return self.wait_for(lambda: self.acks.get(envelope_id), timeout)

    async def wait_for_ack_async(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """``wait_for_ack`` for tests whose Socket Mode client runs on their own loop."""
        return await self.wait_for_async(lambda: self.acks.get(envelope_id), timeout)

    # ----- what tests script

    def rate_limit_next(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls to ``method`` with 429, ``Retry-After`` and
        ``ratelimited``, as Slack does past a method's tier."""
        headers = {"Retry-After": str(retry_after)}
        self._script(method, times, SlackError("ratelimited", HTTPStatus.TOO_MANY_REQUESTS, headers))

    def slow_down(self, seconds: float) -> None:
        """Answer every Web API call ``seconds`` late from now on, as a slow Slack does; a call is
        recorded in ``calls`` only once it is answered, so tests can tell what had completed when."""
        with self._cond:
            self._delay_s = seconds

    def fail_next(self, method: str, error: str, times: int = 1) -> None:
        """Answer the next ``times`` calls to ``method`` with ``{"ok": false, "error": error}``."""
        self._script(method, times, SlackError(error))

    def add_file(
        self,
        name: str,
        data: bytes,
        mimetype: str = "application/octet-stream",
        filetype: str = "binary",
        title: str | None = None,
        user: str = USER_ID,
        stub: bool = False,
    ) -> dict[str, Any]:
        """Register a file a user shared and return it as an event's ``files`` entry: the full
        object, or with ``stub`` the ``check_file_info`` stub that only ``files.info`` expands."""
        with self._cond:
            file = self._register_file(name, data, mimetype, filetype, title or name, user)
        if not stub:
            return dict(file)
        return {
            "id": file["id"],
            "mode": "file_access",
            "file_access": "check_file_info",
            "created": file["created"],
            "timestamp": file["timestamp"],
            "user": user,
        }

    def add_message(
        self,
        channel: str,
        text: str,
        user: str = USER_ID,
        files: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
    ) -> dict[str, Any]:
        """Store a message a user posted (so the bot can react to it, reply in its thread or
        read it back) and return it; put it in an event with ``event_callback``."""
        with self._cond:
            message = self._store_message(channel, text, user, thread_ts, files=files)
            self._cond.notify_all()
        return dict(message)

    def event_callback(self, event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
        """Wrap an event as the Events API delivers it, over HTTP or as an envelope payload."""
        return {
            "token": "fake-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or self._new_id("Ev"),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }

    def socket_send(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        retry_attempt: int = 0,
        retry_reason: str = "",
        timeout: float = 5.0,
    ) -> str:
        """Push an envelope to the newest Socket Mode connection (waiting for one) and return
        its envelope_id. Only ``events_api`` envelopes carry retry fields, as on Slack."""
        if envelope_type not in ENVELOPE_TYPES:
            raise ValueError(f"envelope_type must be one of {ENVELOPE_TYPES}")
        envelope: dict[str, Any] = {
            "envelope_id": str(uuid.uuid4()),
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": envelope_type != "events_api",
        }
        if envelope_type == "events_api":
            envelope |= {"retry_attempt": retry_attempt, "retry_reason": retry_reason}
        self._socket.send(envelope, self._wait_for_socket(timeout), timeout)
        return envelope["envelope_id"]

    def socket_request_reconnect(self, reason: str = "refresh_requested", timeout: float = 5.0) -> None:
        """Send Slack's ``disconnect`` message, which makes clients open a new connection."""
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "fake-slack"}}
        self._socket.send(message, self._wait_for_socket(timeout), timeout)

    # ----- routing (called by the HTTP handler thread)

    def _route(self, command: str, target: str, headers: dict[str, str], body: bytes) -> _Reply:
        url = urlsplit(target)
        if url.path.startswith("/api/"):
            status, extra, payload = self._answer_api(url.path[5:], url.query, headers, body)
            content = json.dumps(payload).encode()
            return _Reply(status, "application/json; charset=utf-8", content, tuple(extra.items()))
        if url.path.startswith("/upload/v1/") and command == "POST":
            return self._receive_upload(url.path.rsplit("/", 1)[-1], body)
        if url.path.startswith("/files-pri/") and command == "GET":
            return self._serve_file(url.path, headers.get("authorization", ""))
        return _NOT_FOUND

    def _answer_api(
        self, method: str, query: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        with self._cond:
            delay_s = self._delay_s
        if delay_s:
            time.sleep(delay_s)
        with self._cond:
            try:
                handler = self._methods.get(method)
                if handler is None:
                    raise SlackError("unknown_method")
                params |= _parse_body(headers.get("content-type", ""), body)
                self._authorize(method, params, headers)
                if self._scripted[method]:
                    raise self._scripted[method].popleft()
                status, extra, payload = 200, {}, {"ok": True, **handler(params)}
            except SlackError as error:
                status, extra, payload = (
                    error.status,
                    error.headers,
                    {"ok": False, "error": error.error},
                )
            self._calls.append(Call(method, params, headers, time.time(), status, payload))
            self._cond.notify_all()
        return status, extra, payload

    def _authorize(self, method: str, params: dict[str, Any], headers: dict[str, str]) -> None:
        """Slack takes the token from the Authorization header or a ``token`` parameter."""
        scheme, _, bearer = headers.get("authorization", "").partition(" ")
        token = bearer if scheme.lower() == "bearer" else params.get("token")
        if not token:
            raise SlackError("not_authed")
        if token not in (self.bot_token, self.app_token):
            raise SlackError("invalid_auth")
        if (token == self.app_token) != (method == "apps.connections.open"):
            raise SlackError("not_allowed_token_type")

    def _receive_upload(self, upload_token: str, data: bytes) -> _Reply:
        with self._cond:
            file_id = self._upload_tokens.get(upload_token)
            if file_id is None:
                return _NOT_FOUND
            self._pending_uploads[file_id]["bytes"] = data
            self._cond.notify_all()
        return _Reply(HTTPStatus.OK, "text/plain; charset=utf-8", f"OK - {len(data)}".encode())

    def _serve_file(self, path: str, authorization: str) -> _Reply:
        """Like Slack: the bytes only with the bot token, otherwise 200 and a sign-in page."""
        file_id = path.split("/")[2].removeprefix(f"{TEAM_ID}-")
        authorized = authorization == f"Bearer {self.bot_token}"
        with self._cond:
            file, data = self._files.get(file_id), self._file_bytes.get(file_id)
            if file is not None:
                self._downloads.append(Download(file_id, authorized, time.time()))
                self._cond.notify_all()
        if file is None or data is None:
            return _NOT_FOUND
        if not authorized:
            return _Reply(HTTPStatus.OK, "text/html; charset=utf-8", SIGN_IN_PAGE)
        disposition = ("Content-Disposition", f'attachment; filename="{file["name"]}"')
        return _Reply(HTTPStatus.OK, file["mimetype"], data, (disposition,))

    # ----- Web API methods (called with the lock held; params already authorized)

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": "Fake Team",
            "user": "reid-bot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        ticket = str(uuid.uuid4())
        self._tickets.add(ticket)
        return {"url": f"{self._socket.url}link/?ticket={ticket}&app_id={APP_ID}"}

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = _required(params, "channel", "channel_not_found")
        _require_content(params)
        message = self._store_message(
            channel,
            params.get("text", ""),
            BOT_USER_ID,
            params.get("thread_ts"),
            blocks=_json_param(params, "blocks"),
        )
        return {"channel": channel, "ts": message["ts"], "message": dict(message)}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = _required(params, "channel", "channel_not_found")
        message = self._find_message(channel, _required(params, "ts", "message_not_found"))
        if message.get("user") != BOT_USER_ID:
            raise SlackError("cant_update_message")
        _require_content(params)
        # Like Slack, fields left out of the update keep their previous value.
        if "text" in params:
            message["text"] = params["text"]
        if "blocks" in params:
            message["blocks"] = _json_param(params, "blocks")
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        return {
            "channel": channel,
            "ts": message["ts"],
            "text": message["text"],
            "message": dict(message),
        }

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        _required(params, "channel", "channel_not_found")
        _required(params, "user", "user_not_in_channel")
        _require_content(params)
        return {"message_ts": self._next_ts()}

    def _reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        reactions, name = self._reactions_of(params)
        reaction = next((r for r in reactions if r["name"] == name), None)
        if reaction is None:
            reaction = {"name": name, "users": [], "count": 0}
            reactions.append(reaction)
        if BOT_USER_ID in reaction["users"]:
            raise SlackError("already_reacted")
        reaction["users"].append(BOT_USER_ID)
        reaction["count"] += 1
        return {}

    def _reactions_remove(self, params: dict[str, Any]) -> dict[str, Any]:
        reactions, name = self._reactions_of(params)
        reaction = next((r for r in reactions if r["name"] == name), None)
        if reaction is None or BOT_USER_ID not in reaction["users"]:
            raise SlackError("no_reaction")
        reaction["users"].remove(BOT_USER_ID)
        reaction["count"] -= 1
        if not reaction["users"]:
            reactions.remove(reaction)
        return {}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        """A user as ``users.info`` answers, with ``is_admin`` for those in `admins`."""
        user = _required(params, "user", "user_not_found")
        return {"user": {"id": user, "team_id": TEAM_ID, "is_admin": user in self.admins, "is_owner": False}}

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        _required(params, "trigger_id", "invalid_arguments")
        view_id = self._new_id("V")
        self._views[view_id] = self._build_view(view_id, params)
        return {"view": dict(self._views[view_id])}

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        current = self._find_view(params.get("view_id"), params.get("external_id"))
        if params.get("hash") and params["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        self._views[current["id"]] = self._build_view(current["id"], params)
        return {"view": dict(self._views[current["id"]])}

    def _files_info(self, params: dict[str, Any]) -> dict[str, Any]:
        file = self._files.get(_required(params, "file", "file_not_found"))
        if file is None:
            raise SlackError("file_not_found")
        return {"file": dict(file), "comments": [], "response_metadata": {"next_cursor": ""}}

    def _files_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        """Like Slack: a bot deletes only files it uploaded; messages that shared it show a
        tombstone in its place."""
        file_id = _required(params, "file", "file_not_found")
        file = self._files.get(file_id)
        if file is None:
            raise SlackError("file_not_found")
        if file["user"] != BOT_USER_ID:
            raise SlackError("cant_delete_file")
        del self._files[file_id]
        self._file_bytes.pop(file_id, None)
        self._uploaded.pop(file_id, None)
        for message in (m for messages in self._messages.values() for m in messages):
            if any(f.get("id") == file_id for f in message.get("files", [])):
                message["files"] = [
                    {"id": file_id, "mode": "tombstone"} if f.get("id") == file_id else f for f in message["files"]
                ]
        return {}

    def _files_get_upload_url_external(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = _required(params, "filename", "invalid_arguments")
        try:
            length = int(params.get("length", ""))
        except ValueError:
            raise SlackError("invalid_arguments") from None
        file_id, upload_token = self._new_id("F"), uuid.uuid4().hex
        self._pending_uploads[file_id] = {
            "filename": filename,
            "length": length,
            "alt_txt": params.get("alt_txt"),
            "bytes": None,
        }
        self._upload_tokens[upload_token] = file_id
        return {"upload_url": f"{self.url}upload/v1/{upload_token}", "file_id": file_id}

    def _files_complete_upload_external(self, params: dict[str, Any]) -> dict[str, Any]:
        entries = _json_param(params, "files")
        if not isinstance(entries, list) or not entries:
            raise SlackError("invalid_arguments")
        found = [self._pending_uploads.get(entry.get("id", "")) for entry in entries]
        pending = [upload for upload in found if upload is not None and upload["bytes"] is not None]
        if len(pending) < len(found):
            raise SlackError("file_not_found")
        shared = [
            self._complete_upload(entry["id"], entry.get("title"), upload, params)
            for entry, upload in zip(entries, pending, strict=True)
        ]
        if params.get("channel_id"):
            text = params.get("initial_comment", "")
            thread_ts = params.get("thread_ts")
            self._store_message(params["channel_id"], text, BOT_USER_ID, thread_ts, files=shared)
        return {"files": [{"id": file["id"], "title": file["title"]} for file in shared]}

    def _complete_upload(
        self, file_id: str, title: str | None, upload: dict[str, Any], params: dict[str, Any]
    ) -> dict[str, Any]:
        """Turn an uploaded file into a shared one and note where it went."""
        filename, data = upload["filename"], upload["bytes"]
        mimetype, filetype = _guess_types(filename)
        file = self._register_file(filename, data, mimetype, filetype, title or filename, BOT_USER_ID, file_id=file_id)
        self._uploaded[file_id] = {
            "filename": filename,
            "bytes": data,
            "title": file["title"],
            "channel_id": params.get("channel_id"),
            "thread_ts": params.get("thread_ts"),
            "initial_comment": params.get("initial_comment"),
            "alt_txt": upload["alt_txt"],
        }
        del self._pending_uploads[file_id]
        return dict(file)

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = _required(params, "channel", "channel_not_found")
        top_level = [m for m in self._messages[channel] if m.get("thread_ts", m["ts"]) == m["ts"]]
        return {"messages": [dict(m) for m in reversed(top_level)], "has_more": False}

    def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = _required(params, "channel", "channel_not_found")
        ts = _required(params, "ts", "thread_not_found")
        thread = [m for m in self._messages[channel] if ts in (m["ts"], m.get("thread_ts"))]
        if not thread or thread[0]["ts"] != ts:
            raise SlackError("thread_not_found")
        return {"messages": [dict(m) for m in thread], "has_more": False}

    # ----- state helpers (lock held)

    def _script(self, method: str, times: int, error: SlackError) -> None:
        with self._cond:
            self._scripted[method].extend([error] * times)

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}0FAKE{next(self._ids):06d}"

    def _next_ts(self) -> str:
        micros = next(self._ts)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _store_message(
        self,
        channel: str,
        text: str,
        user: str,
        thread_ts: str | None,
        blocks: list[dict[str, Any]] | None = None,
        files: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "ts": self._next_ts(),
            "user": user,
            "text": text,
            "team": TEAM_ID,
        }
        if user == BOT_USER_ID:
            message |= {"bot_id": BOT_ID, "app_id": APP_ID}
        optional = {"blocks": blocks, "files": files, "thread_ts": thread_ts}
        message |= {key: value for key, value in optional.items() if value}
        self._messages[channel].append(message)
        return message

    def _find_message(self, channel: str, ts: str) -> dict[str, Any]:
        for message in self._messages.get(channel, []):
            if message["ts"] == ts:
                return message
        raise SlackError("message_not_found")

    def _reactions_of(self, params: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
        channel = _required(params, "channel", "channel_not_found")
        message = self._find_message(channel, _required(params, "timestamp", "message_not_found"))
        name = _required(params, "name", "invalid_name")
        return message.setdefault("reactions", []), name

    def _find_view(self, view_id: str | None, external_id: str | None) -> dict[str, Any]:
        for view in self._views.values():
            if (view_id and view["id"] == view_id) or (external_id and view.get("external_id") == external_id):
                return view
        raise SlackError("not_found")

    def _build_view(self, view_id: str, params: dict[str, Any]) -> dict[str, Any]:
        view = _json_param(params, "view")
        if not isinstance(view, dict):
            raise SlackError("invalid_arguments")
        return {
            **view,
            "id": view_id,
            "team_id": TEAM_ID,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "root_view_id": view_id,
            "state": {"values": {}},
            "hash": f"{time.time():.6f}.{uuid.uuid4().hex[:8]}",
        }

    def _register_file(
        self,
        name: str,
        data: bytes,
        mimetype: str,
        filetype: str,
        title: str,
        user: str,
        file_id: str | None = None,
    ) -> dict[str, Any]:
        file_id = file_id or self._new_id("F")
        folder = f"{self.url}files-pri/{TEAM_ID}-{file_id}"
        now = int(time.time())
        file = {
            "id": file_id,
            "created": now,
            "timestamp": now,
            "name": name,
            "title": title,
            "mimetype": mimetype,
            "filetype": filetype,
            "pretty_type": filetype.upper(),
            "user": user,
            "user_team": TEAM_ID,
            "mode": "hosted",
            "editable": False,
            "is_external": False,
            "is_public": False,
            "size": len(data),
            "url_private": f"{folder}/{quote(name)}",
            "url_private_download": f"{folder}/download/{quote(name)}",
            "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{user}/{file_id}/{quote(name)}",
        }
        self._files[file_id] = file
        self._file_bytes[file_id] = data
        return file

    def _is_issued_ticket(self, ticket: str) -> bool:
        with self._cond:
            return ticket in self._tickets

    def _wait_for_socket(self, timeout: float) -> ServerConnection:
        self.wait_for(lambda: self._socket.open_count, timeout)
        return self._socket.newest()


class _HttpHandler(BaseHTTPRequestHandler):
    """Hands each request to the fake's router; the HTTP plumbing only."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = self.server.fake._route(self.command, self.path, headers, body)  # type: ignore[attr-defined]
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet; ``FakeSlack.calls`` is the log."""


class _SocketModeServer:
    """Socket Mode's WebSocket side on its own event loop: hello on connect, envelopes out,
    acks in. Only connections with a ticket from ``apps.connections.open`` are accepted."""

    def __init__(self, cond: threading.Condition, is_issued_ticket: Callable[[str], bool]):
        self._cond = cond
        self._is_issued_ticket = is_issued_ticket
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: Server | None = None
        self._open: list[ServerConnection] = []
        self._acks: dict[str, dict[str, Any]] = {}
        self.connect_count = 0

    @property
    def url(self) -> str:
        assert self._server is not None, "the Socket Mode server is not started"
        return f"ws://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/"

    @property
    def open_count(self) -> int:
        with self._cond:
            return len(self._open)

    @property
    def acks(self) -> dict[str, dict[str, Any]]:
        with self._cond:
            return dict(self._acks)

    def newest(self) -> ServerConnection:
        with self._cond:
            return self._open[-1]

    def start(self) -> None:
        self._thread.start()
        self._server = self._run(self._serve())

    def stop(self) -> None:
        if self._server is not None:
            self._run(self._shutdown(self._server))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def send(self, message: dict[str, Any], connection: ServerConnection, timeout: float) -> None:
        self._run(connection.send(json.dumps(message)), timeout)

    def _run(self, coroutine: Any, timeout: float = 5.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _serve(self) -> Server:
        # Slack pings its clients; pinging often also wakes the builtin client's blocking reads,
        # which it needs before it can close.
        return await serve(self._handle, "127.0.0.1", 0, process_request=self._check_ticket, ping_interval=0.2)

    @staticmethod
    async def _shutdown(server: Server) -> None:
        """Close on the server's own loop: websockets objects are not thread-safe."""
        server.close()
        await server.wait_closed()

    def _check_ticket(self, connection: ServerConnection, request: Request) -> Response | None:
        ticket = dict(parse_qsl(urlsplit(request.path).query)).get("ticket", "")
        if self._is_issued_ticket(ticket):
            return None
        return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid ticket\n")

    async def _handle(self, connection: ServerConnection) -> None:
        """Say hello before registering the connection, so no envelope can overtake it."""
        hello = {
            "type": "hello",
            "num_connections": self.open_count + 1,
            "debug_info": {
                "host": "fake-slack",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": APP_ID},
        }
        await connection.send(json.dumps(hello))
        with self._cond:
            self._open.append(connection)
            self.connect_count += 1
            self._cond.notify_all()
        try:
            async for raw in connection:
                self._record_ack(raw)
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                self._open.remove(connection)
                self._cond.notify_all()

    def _record_ack(self, raw: str | bytes) -> None:
        """Keep acks; anything else a client sends is ignored, as Slack ignores it."""
        try:
            message = json.loads(raw)
        except ValueError:
            return
        if isinstance(message, dict) and "envelope_id" in message:
            with self._cond:
                self._acks[message["envelope_id"]] = message
                self._cond.notify_all()


def _parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    """Slack accepts form-encoded and JSON bodies alike."""
    if not body:
        return {}
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            parsed = json.loads(body)
        except ValueError:
            raise SlackError("invalid_json") from None
        if not isinstance(parsed, dict):
            raise SlackError("invalid_json")
        return parsed
    if kind == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode(), keep_blank_values=True))
    raise SlackError("invalid_form_data")


def _required(params: dict[str, Any], name: str, error: str) -> str:
    value = params.get(name)
    if not value:
        raise SlackError(error)
    return str(value)


def _require_content(params: dict[str, Any]) -> None:
    if not any(params.get(key) for key in ("text", "blocks", "attachments")):
        raise SlackError("no_text")


def _json_param(params: dict[str, Any], name: str) -> Any:
    """Form bodies carry structured params as JSON strings, JSON bodies as values."""
    value = params.get(name)
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise SlackError("invalid_arguments") from None


def _guess_types(filename: str) -> tuple[str, str]:
    """Slack's mimetype and short filetype for a name, as it infers them after an upload."""
    mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    filetype = {"jpeg": "jpg", "txt": "text", "": "binary"}.get(extension, extension)
    return mimetype, filetype

"""Where messages go: a Slack bot token, an incoming webhook, or the local outbox.

Duplicates are the hard part. Slack has no idempotency key on `chat.postMessage`, and the
classic duplicate is a timeout *after* Slack accepted the post: retrying blindly posts twice.
So the SDK only retries what cannot have been posted: HTTP 429 (honouring Retry-After, via
slack_sdk's RateLimitErrorRetryHandler). Connection and server-error retry handlers are
deliberately not installed. An attempt whose fate is unknown (timeout, dropped connection,
5xx) is recorded `in_doubt`; before the bot sends it again it reads the channel history for
the message's metadata (`idempotency_key`) or its file names, and only re-posts when the
first attempt is not there. A webhook cannot read history, so an in-doubt webhook post is
re-sent (at least once): use a bot token for exactly-once.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import re
import shutil
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from nrr.errors import NrrError
from nrr.settings import Settings
from nrr.slack.blocks import to_text
from nrr.slack.message import Message
from nrr.slack.state import Delivery, DeliveryState

log = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 3
HISTORY_GRACE_SECONDS = 300
HISTORY_PAGES = 10
TOKEN_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "not_allowed_token_type",
    }
)
CHANNEL_ERRORS = frozenset({"channel_not_found", "is_archived", "not_in_channel"})
SERVER_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
CHANNEL_ID = re.compile(r"^[CGDZ][A-Z0-9]{6,}$")


@dataclass
class SendResult:
    """Outcome of one attempt. `config_error` means every further attempt would fail too."""

    status: str  # delivered / pending / in_doubt / failed
    error: str | None = None
    channel_id: str | None = None
    ts: str | None = None
    config_error: bool = False
    note: str | None = None  # e.g. "found in the channel, not re-posted"


class Destination(Protocol):
    name: str  # state key: outbox / bot:<channel> / webhook:<hash>
    channel: str  # what NotifyResult reports: bot / webhook / outbox
    attaches_files: bool

    def send(self, delivery: Delivery, *, in_doubt: bool) -> SendResult: ...


def destination_for(
    settings: Settings, state: DeliveryState, *, outbox: bool = False
) -> Destination:
    """The bot token wins over the webhook; with neither (or `outbox=True`), the outbox."""
    if not outbox and settings.slack_bot_token is not None:
        if not settings.slack_channel:
            raise NrrError(
                "SLACK_BOT_TOKEN is set but SLACK_CHANNEL is not: name the channel "
                "to post to (its ID, e.g. C0123456789, or #name)"
            )
        return BotDestination(settings, state)
    if not outbox and settings.slack_webhook_url is not None:
        return WebhookDestination(settings)
    return OutboxDestination(settings)


# --- outbox -------------------------------------------------------------------------------
class OutboxDestination:
    """JSON payload + readable text + attached files under the outbox: exactly what would be
    posted. Rewriting the same files is harmless, so the outbox is idempotent by nature."""

    channel = "outbox"
    name = "outbox"
    attaches_files = True

    def __init__(self, settings: Settings):
        self.dir = settings.outbox_dir
        self.slack_channel = settings.slack_channel

    def send(self, delivery: Delivery, *, in_doubt: bool) -> SendResult:
        return self.write(delivery.message)

    def write(self, message: Message) -> SendResult:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            files = []
            for attachment in message.existing_files():
                target = self.dir / f"{message.slug}-{attachment.filename}"
                _copy_atomic(Path(attachment.path), target)
                files.append({"path": target.name, "title": attachment.title})
            payload = {
                "channel": self.slack_channel,
                "text": message.text,
                "blocks": message.blocks,
                "metadata": message.metadata,
                "files": files,
            }
            _write_atomic(
                self.dir / f"{message.slug}.json",
                json.dumps(payload, indent=2, ensure_ascii=False) + "\n",
            )
            listing = "".join(f"[file] {f['path']}: {f['title']}\n" for f in files)
            _write_atomic(
                self.dir / f"{message.slug}.txt",
                f"{message.text}\n\n{to_text(message.blocks)}{listing}",
            )
        except OSError as exc:
            return SendResult(
                "failed", f"cannot write the outbox {self.dir}: {exc}", config_error=True
            )
        return SendResult("delivered", note=str(self.dir / f"{message.slug}.txt"))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _copy_atomic(source: Path, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)


# --- classification shared by bot and webhook -------------------------------------------------
def _transport_failure(exc: BaseException, what: str) -> SendResult:
    """A network-level failure: was the request possibly received?"""
    if isinstance(exc, urllib.error.URLError):
        # urllib wraps failures to connect or to send; Slack cannot have acted on them.
        return SendResult("pending", f"{what}: Slack unreachable ({exc.reason})")
    # Read timeouts, resets and dropped connections happen after the request went out.
    reason = type(exc).__name__ if not str(exc) else f"{type(exc).__name__}: {exc}"
    return SendResult(
        "in_doubt",
        f"{what}: no answer from Slack ({reason}); it may have "
        "been posted, so it is checked before any re-send",
    )


TRANSPORT_ERRORS = (
    urllib.error.URLError,
    TimeoutError,
    ConnectionError,
    http.client.HTTPException,
    OSError,
)


# --- bot token ------------------------------------------------------------------------------
class BotDestination:
    """chat.postMessage + files_upload_v2 with a bot token (SLACK_BOT_TOKEN, SLACK_CHANNEL)."""

    channel = "bot"
    attaches_files = True

    def __init__(self, settings: Settings, state: DeliveryState):
        from slack_sdk import WebClient
        from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

        assert settings.slack_bot_token is not None and settings.slack_channel
        self.target = settings.slack_channel
        self.name = f"bot:{self.target}"
        self.state = state
        base = settings.slack_api_base or WebClient.BASE_URL
        self.client = WebClient(
            token=settings.slack_bot_token.get_secret_value(),
            base_url=base if base.endswith("/") else base + "/",
            timeout=settings.slack_timeout_seconds,  # type: ignore[arg-type]
            retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)],
        )

    def send(self, delivery: Delivery, *, in_doubt: bool) -> SendResult:
        from slack_sdk.errors import SlackApiError, SlackRequestError

        message = delivery.message
        try:
            if in_doubt:
                try:
                    found = self._find_earlier_post(delivery)
                except SlackApiError as exc:
                    return self._history_failure(exc, message)
                if found is not None:
                    return SendResult(
                        "delivered",
                        channel_id=found[0],
                        ts=found[1],
                        note="found in the channel history; not re-posted",
                    )
            if message.files:
                return self._upload(message)
            return self._post(message)
        except SlackApiError as exc:
            return self._api_failure(exc, message)
        except SlackRequestError as exc:  # the file upload step (2 of 3) was refused
            return SendResult("pending", f"{message.key}: file upload refused ({exc})")
        except TRANSPORT_ERRORS as exc:
            return _transport_failure(exc, message.key)
        except NrrError as exc:  # the channel name cannot be resolved
            return SendResult("failed", str(exc), config_error=True)

    def _post(self, message: Message) -> SendResult:
        from slack_sdk.errors import SlackApiError

        def post():
            return self.client.chat_postMessage(
                channel=self.target,
                text=message.text,
                blocks=message.blocks,
                metadata=message.metadata,
                unfurl_links=False,
                unfurl_media=False,
            )

        try:
            response = post()
        except SlackApiError as exc:
            if exc.response.get("error") != "not_in_channel" or not self._join():
                raise
            response = post()
        channel_id = response.get("channel")
        if channel_id:
            self.state.remember_channel(self.name, channel_id)
        return SendResult("delivered", channel_id=channel_id, ts=response.get("ts"))

    def _upload(self, message: Message) -> SendResult:
        files = message.existing_files()
        if not files:
            return SendResult(
                "failed",
                f"{message.key}: the chart files are gone "
                f"({', '.join(f.path for f in message.files)})",
            )
        channel_id = self._channel_id()
        response = self.client.files_upload_v2(
            file_uploads=[
                {"file": f.path, "filename": f.filename, "title": f.title} for f in files
            ],
            channel=channel_id,
            initial_comment=message.text,
        )
        return SendResult(
            "delivered",
            channel_id=channel_id,
            ts=None,
            note=f"{len(response.get('files') or [])} files",
        )

    def _join(self) -> bool:
        """Join a public channel given by ID (needs channels:join); False when not possible."""
        if not CHANNEL_ID.match(self.target):
            return False
        from slack_sdk.errors import SlackApiError

        try:
            self.client.conversations_join(channel=self.target)
        except SlackApiError:
            return False
        return True

    def _channel_id(self) -> str:
        """The channel's ID (files and history need it; chat.postMessage also takes a name)."""
        if CHANNEL_ID.match(self.target):
            return self.target
        remembered = self.state.channel_id(self.name)
        if remembered:
            return remembered
        wanted = self.target.lstrip("#")
        cursor = None
        for _ in range(HISTORY_PAGES * 5):
            page = self.client.conversations_list(
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=200,
                cursor=cursor,
            )
            for channel in page.get("channels", []):
                if channel.get("name") == wanted:
                    self.state.remember_channel(self.name, channel["id"])
                    return channel["id"]
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        raise NrrError(
            f"Slack channel {self.target!r} was not found: set SLACK_CHANNEL to the "
            "channel's ID (channel details > About) or invite the app to it"
        )

    def _find_earlier_post(self, delivery: Delivery) -> tuple[str, str] | None:
        """(channel, ts) of this message if an earlier, unconfirmed attempt did land."""
        message = delivery.message
        channel_id = self._channel_id()
        oldest = (delivery.first_attempt_at or delivery.created_at) - HISTORY_GRACE_SECONDS
        names = {f.filename for f in message.files}
        cursor = None
        for _ in range(HISTORY_PAGES):
            page = self.client.conversations_history(
                channel=channel_id,
                oldest=f"{oldest:.6f}",
                limit=200,
                include_all_metadata=True,
                cursor=cursor,
            )
            for posted in page.get("messages", []):
                payload = (posted.get("metadata") or {}).get("event_payload") or {}
                if payload.get("idempotency_key") == message.key:
                    return channel_id, posted.get("ts", "")
                if names and names & {f.get("name") for f in posted.get("files") or []}:
                    return channel_id, posted.get("ts", "")
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not page.get("has_more") or not cursor:
                return None
        return None

    def _history_failure(self, exc, message: Message) -> SendResult:
        """The check before a re-send failed: keep the message rather than risk a duplicate."""
        failure = self._api_failure(exc, message)
        if failure.status != "failed":
            return failure
        return SendResult(
            "failed",
            f"cannot check whether {message.key} was already posted: {failure.error}. Fix "
            "that, or look at the channel and run `nrr notify --retry --resend-in-doubt`",
            config_error=failure.config_error,
        )

    def _api_failure(self, exc, message: Message) -> SendResult:
        response = exc.response
        status = response.status_code
        code = response.get("error") or f"HTTP {status}"
        method = response.api_url.rsplit("/", 1)[-1]
        if status == 429 or code == "ratelimited":
            return SendResult(
                "pending",
                f"{message.key}: Slack kept rate-limiting {method} "
                f"after {RATE_LIMIT_RETRIES} retries; it stays queued",
            )
        if status >= 500 or code in SERVER_ERRORS:
            return SendResult(
                "in_doubt",
                f"{message.key}: Slack answered {method} with "
                f"{code}; it may have been posted, so it is checked before "
                "any re-send",
            )
        return SendResult(
            "failed",
            _config_message(code, method, self.target, response),
            config_error=code in TOKEN_ERRORS | CHANNEL_ERRORS or code == "missing_scope",
        )


def _config_message(code: str, method: str, channel: str, response) -> str:
    if code in TOKEN_ERRORS:
        return (
            f"Slack rejected the bot token ({code}): check SLACK_BOT_TOKEN "
            "(a bot token starts with xoxb-)"
        )
    if code == "channel_not_found":
        return (
            f"Slack channel {channel!r} was not found ({code}): check SLACK_CHANNEL, "
            "and invite the app if the channel is private"
        )
    if code == "not_in_channel":
        return (
            f"the Slack app is not a member of {channel!r}: invite it with /invite "
            "@your-app, or grant channels:join and set SLACK_CHANNEL to the channel ID"
        )
    if code == "is_archived":
        return f"Slack channel {channel!r} is archived: choose another SLACK_CHANNEL"
    if code == "missing_scope":
        needed = response.get("needed") or "see docs/slack.md"
        return (
            f"the Slack app lacks the scope {needed} needed by {method}: add it under "
            "OAuth & Permissions and reinstall the app"
        )
    return f"Slack refused {method}: {code}"


# --- incoming webhook -------------------------------------------------------------------------
class WebhookDestination:
    """An incoming webhook (SLACK_WEBHOOK_URL): blocks only, no files, no history to check."""

    channel = "webhook"
    attaches_files = False

    def __init__(self, settings: Settings):
        from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
        from slack_sdk.webhook import WebhookClient

        assert settings.slack_webhook_url is not None
        url = settings.slack_webhook_url.get_secret_value()
        self.name = f"webhook:{hashlib.sha256(url.encode()).hexdigest()[:12]}"
        self.client = WebhookClient(
            url,
            timeout=settings.slack_timeout_seconds,  # type: ignore[arg-type]
            retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)],
        )

    def send(self, delivery: Delivery, *, in_doubt: bool) -> SendResult:
        message = delivery.message
        try:
            response = self.client.send(
                text=message.text, blocks=message.blocks, unfurl_links=False, unfurl_media=False
            )
        except TRANSPORT_ERRORS as exc:
            return _transport_failure(exc, message.key)
        status, body = response.status_code, (response.body or "").strip()
        if status == 200:
            return SendResult("delivered")
        if status == 429 or status >= 500:
            return SendResult(
                "pending",
                f"{message.key}: the webhook answered {status} "
                f"({body or 'no body'}); it stays queued",
            )
        if status in (403, 404, 410):
            return SendResult(
                "failed",
                f"Slack rejected the webhook URL ({status} {body}): check SLACK_WEBHOOK_URL",
                config_error=True,
            )
        return SendResult("failed", f"the webhook refused {message.key}: {status} {body}")

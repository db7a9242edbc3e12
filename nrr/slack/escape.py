"""Make customer-derived text (segment, plan, dataset names) inert in Slack messages.

Slack's mrkdwn has no backslash escape. Its documentation asks for `&`, `<` and `>` to be
sent as HTML entities; that alone makes `<!channel>`, `<@U123>` and links impossible. The
formatting markers (`*`, `_`, `~`, backtick) and `@` are swapped for look-alike characters so
a plan named `*Pro*` or `@here` shows as typed but neither formats nor notifies anyone.
"""

from __future__ import annotations

import re

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_LOOKALIKES = {
    "*": "\u2217",  # ∗ asterisk operator
    "_": "\u02cd",  # ˍ modifier letter low macron
    "~": "\u223c",  # ∼ tilde operator
    "`": "\u02cb",  # ˋ modifier letter grave accent
    "@": "\uff20",  # ＠ fullwidth commercial at
}
_MRKDWN_TABLE = str.maketrans({**_ENTITIES, **_LOOKALIKES})
_PLAIN_TABLE = str.maketrans({"<": "\u2039", ">": "\u203a", "@": _LOOKALIKES["@"]})  # ‹ ›
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def mrkdwn(text: object, limit: int | None = 200) -> str:
    """Customer text for a mrkdwn field: entities escaped, no formatting, no mentions."""
    cleaned = _CONTROL.sub("", str(text)).replace("\n", " ")
    return truncate(cleaned, limit).translate(_MRKDWN_TABLE)


def plain(text: object, limit: int | None = 200) -> str:
    """Customer text for a plain_text object. Slack shows plain_text literally, but angle
    brackets and `@` still get look-alikes so nothing in it can ever read as a mention."""
    cleaned = _CONTROL.sub("", str(text)).replace("\n", " ")
    return truncate(cleaned, limit).translate(_PLAIN_TABLE)


def code(text: object, limit: int | None = 400) -> str:
    """Text for an inline code span (an SQL hint): entities escaped, backticks swapped, the
    rest kept so the reader can copy it."""
    cleaned = _CONTROL.sub("", str(text)).replace("\n", " ")
    table = str.maketrans({**_ENTITIES, "`": _LOOKALIKES["`"], "@": _LOOKALIKES["@"]})
    return "`" + truncate(cleaned, limit).translate(table) + "`"


def unescape(text: str) -> str:
    """mrkdwn back to readable text for the outbox's .txt rendering."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def truncate(text: str, limit: int | None) -> str:
    """Cut to `limit` characters with an ellipsis, so no Block Kit limit is ever hit."""
    if limit is None or len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + "…"

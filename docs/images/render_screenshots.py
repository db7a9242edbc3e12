"""Render the README's pictures from a demo run: the Slack summary (from the outbox's Block
Kit JSON, drawn like a Slack message) and the HTML report, with headless Chromium.

    python docs/images/render_screenshots.py DATA_DIR   (needs /usr/bin/chromium)
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
import tempfile
from pathlib import Path

EMOJI = {":large_green_circle:": "🟢", ":warning:": "⚠️", ":red_circle:": "🔴",
         ":large_yellow_circle:": "🟡", ":chart_with_downwards_trend:": "📉",
         ":chart_with_upwards_trend:": "📈", ":rotating_light:": "🚨", ":memo:": "📝"}  # fmt: skip
OUT = Path(__file__).resolve().parent


def mrkdwn(text: str) -> str:
    text = html.escape(text)
    for code, char in EMOJI.items():
        text = text.replace(code, char)
    text = re.sub(r"\*(.+?)\*", r"<b>\1</b>", text)
    text = re.sub(r"_(.+?)_", r"<i>\1</i>", text)
    text = re.sub(r"&lt;(\S+?)\|(.+?)&gt;", r'<a href="#">\2</a>', text)
    return text.replace("\n", "<br>")


def block_html(block: dict) -> str:
    kind = block["type"]
    if kind == "header":
        return f"<h3>{mrkdwn(block['text']['text'])}</h3>"
    if kind == "divider":
        return "<hr>"
    if kind == "context":
        return "<div class=ctx>" + " · ".join(mrkdwn(e.get("text", "")) for e in
                                              block["elements"]) + "</div>"  # fmt: skip
    if kind == "section":
        parts = []
        if block.get("text"):
            parts.append(f"<div>{mrkdwn(block['text']['text'])}</div>")
        if block.get("fields"):
            cells = "".join(f"<div class=f>{mrkdwn(f['text'])}</div>" for f in block["fields"])
            parts.append(f"<div class=fields>{cells}</div>")
        return "<section>" + "".join(parts) + "</section>"
    return ""


def slack_page(summary: dict) -> str:
    body = "".join(block_html(b) for b in summary["blocks"])
    return f"""<html><head><meta charset=utf-8><style>
    body {{ font-family: Lato, Helvetica, Arial, sans-serif; font-size: 15px; width: 430px;
           margin: 12px; color: #1d1c1d; }}
    .who {{ font-weight: 900; }} .who span {{ color: #616061; font-weight: 400; font-size: 12px }}
    h3 {{ margin: 6px 0; }} hr {{ border: 0; border-top: 1px solid #ddd; }}
    section {{ margin: 8px 0; line-height: 1.45; }} .ctx {{ color: #616061; font-size: 13px; }}
    .fields {{ display: grid; grid-template-columns: 1fr 1fr; gap: 8px; margin-top: 6px; }}
    </style></head><body><div class=who>NRR bot <span>APP 06:02</span></div>{body}</body></html>"""


def shoot(page: Path, target: Path, width: int, height: int) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            ["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--no-first-run",
             "--disable-sync", f"--user-data-dir={profile}", "--hide-scrollbars",
             f"--window-size={width},{height}", f"--screenshot={target}", page.as_uri()],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip


def main() -> None:
    import json

    data = Path(sys.argv[1])
    summary = sorted((data / "outbox").glob("*_summary_v*.json"))[-1]
    page = OUT / ".slack-summary.html"
    page.write_text(slack_page(json.loads(summary.read_text())), encoding="utf-8")
    shoot(page, OUT / "slack-summary.png", 460, 1500)
    page.unlink()
    report = sorted((data / "reports").glob("*.html"))[-1]
    shoot(report, OUT / "report.png", 1100, 1600)
    print("wrote", OUT / "slack-summary.png", OUT / "report.png")


if __name__ == "__main__":
    main()

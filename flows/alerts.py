"""``vivek alerts``: the notification block and the automation that turn events into messages.

    vivek alerts webhook URL [--slack] [--name vivek-alerts]   # save a notification block
    vivek alerts automation [--block vivek-alerts]             # print the automation YAML

The automation file (``data/automations/regression.yaml``) is what
``prefect automation create --from-file`` accepts once the block's id is filled in.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from tasks.errors import UsageError

AUTOMATION = Path(__file__).resolve().parent.parent / "data" / "automations" / "regression.yaml"
PLACEHOLDER = "__BLOCK_DOCUMENT_ID__"
DEFAULT_BLOCK = "vivek-alerts"
# The custom webhook posts JSON a Slack-style receiver (or any HTTP endpoint) understands.
WEBHOOK_JSON = {"text": "{{subject}}\n{{body}}"}


def render_automation(block_document_id: str, template: Path = AUTOMATION) -> str:
    """The shipped automation with the notification block's id filled in."""
    text = template.read_text(encoding="utf-8")
    if PLACEHOLDER not in text:
        raise UsageError(f"{template}: has no {PLACEHOLDER} to fill in.")
    return text.replace(PLACEHOLDER, block_document_id)


def save_webhook_block(url: str, name: str = DEFAULT_BLOCK, slack: bool = False) -> str:
    """Save a Slack or custom-webhook notification block; return its document id."""
    from prefect.blocks.abstract import NotificationBlock
    from prefect.blocks.notifications import CustomWebhookNotificationBlock, SlackWebhook

    if not url.startswith(("http://", "https://")):
        raise UsageError(f"Webhook URL {url!r} must start with http:// or https://.")
    block: NotificationBlock
    if slack:
        block = SlackWebhook(url=url)
    else:
        block = CustomWebhookNotificationBlock(name=name, url=url, json_data=WEBHOOK_JSON)
    return str(block.save(name, overwrite=True))


async def find_block_id(name: str) -> str:
    """The id of the notification block called ``name`` (any block type)."""
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        docs = await client.read_block_documents()
    found = [d for d in docs if d.name == name]
    if not found:
        raise UsageError(
            f"No Prefect block named {name!r}; create it with `vivek alerts webhook URL`."
        )
    return str(found[0].id)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="vivek alerts", allow_abbrev=False)
    sub = parser.add_subparsers(dest="command", required=True)
    hook = sub.add_parser("webhook", help="save a notification block", allow_abbrev=False)
    hook.add_argument("url", help="the webhook URL (Slack incoming webhook, or any endpoint)")
    hook.add_argument("--name", default=DEFAULT_BLOCK, help="block name (default vivek-alerts)")
    hook.add_argument("--slack", action="store_true", help="a Slack incoming webhook")
    auto = sub.add_parser("automation", help="print the automation YAML", allow_abbrev=False)
    auto.add_argument("--block", default=DEFAULT_BLOCK, help="notification block name")
    args = parser.parse_args(argv)
    if args.command == "webhook":
        block_id = save_webhook_block(args.url, args.name, args.slack)
        print(f"saved notification block {args.name!r} ({block_id})")
    else:
        print(render_automation(asyncio.run(find_block_id(args.block))), end="")
    return 0

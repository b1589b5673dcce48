"""``cairn webhook add|list|rm|enable|test|deliveries|replay``."""

from __future__ import annotations

import click

from cairn.cli.context import client, wants_json
from cairn.cli.output import emit_json, fails_cleanly, table, table_time


@click.group()
def webhook() -> None:
    """Send a namespace's events to URLs, signed (Standard Webhooks)."""


@webhook.command(name="add")
@click.argument("namespace")
@click.argument("url")
@click.option("--event", "events", multiple=True, help="Only this type (version.*: a family).")
@click.pass_context
@fails_cleanly
def add(ctx: click.Context, namespace: str, url: str, events: tuple[str, ...]) -> None:
    """Subscribe URL to NAMESPACE's events (* for every namespace). The secret is shown once."""
    with client(ctx, progress=False) as cairn:
        done = cairn.add_webhook(namespace, url, events)
    if wants_json(ctx):
        emit_json(done)
        return
    click.echo(done.secret)
    hook = done.webhook
    click.echo(f"webhook {hook.id}: {hook.namespace} -> {hook.url}", err=True)
    click.echo("the signing secret above is shown this once", err=True)


@webhook.command(name="list")
@click.argument("namespace")
@click.pass_context
@fails_cleanly
def list_(ctx: click.Context, namespace: str) -> None:
    with client(ctx, progress=False) as cairn:
        found = cairn.webhooks(namespace)
    if wants_json(ctx):
        emit_json(found)
        return
    table(
        None,
        ["id", "url", "events", "enabled", "failures"],
        (
            [
                h.id,
                h.url,
                ", ".join(h.event_types) or "all",
                "yes" if h.enabled else f"no: {h.disabled_reason}",
                h.consecutive_failures,
            ]
            for h in found
        ),
    )


@webhook.command(name="rm")
@click.argument("webhook_id", type=int)
@click.pass_context
@fails_cleanly
def remove(ctx: click.Context, webhook_id: int) -> None:
    with client(ctx, progress=False) as cairn:
        cairn.remove_webhook(webhook_id)
    if not wants_json(ctx):
        click.echo(f"webhook {webhook_id} removed")


@webhook.command(name="enable")
@click.argument("webhook_id", type=int)
@click.pass_context
@fails_cleanly
def enable(ctx: click.Context, webhook_id: int) -> None:
    """Enable a subscription that was disabled for failing."""
    with client(ctx, progress=False) as cairn:
        found = cairn.enable_webhook(webhook_id)
    if wants_json(ctx):
        emit_json(found)
    else:
        click.echo(f"webhook {webhook_id} enabled")


@webhook.command(name="test")
@click.argument("webhook_id", type=int)
@click.pass_context
@fails_cleanly
def test(ctx: click.Context, webhook_id: int) -> None:
    """Send a webhook.test event now and show how it went."""
    with client(ctx, progress=False) as cairn:
        sent = cairn.test_webhook(webhook_id)
    if wants_json(ctx):
        emit_json(sent)
        return
    answer = sent.last_status or sent.last_error
    click.echo(f"delivery {sent.id}: {sent.status} ({answer})")


@webhook.command(name="deliveries")
@click.argument("webhook_id", type=int)
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.pass_context
@fails_cleanly
def deliveries(ctx: click.Context, webhook_id: int, limit: int) -> None:
    """The delivery log: each event, its status and attempts."""
    with client(ctx, progress=False) as cairn:
        found = cairn.deliveries(webhook_id, limit)
    if wants_json(ctx):
        emit_json(found)
        return
    table(
        None,
        ["id", "event", "subject", "status", "attempts", "last answer", "next attempt"],
        (
            [
                d.id,
                d.event_type,
                d.subject,
                d.status,
                d.attempts,
                d.last_status or d.last_error or "",
                table_time(d.next_attempt_at) if d.status == "pending" else "",
            ]
            for d in found
        ),
    )


@webhook.command(name="replay")
@click.argument("delivery_id", type=int)
@click.pass_context
@fails_cleanly
def replay(ctx: click.Context, delivery_id: int) -> None:
    """Send a delivery's event again."""
    with client(ctx, progress=False) as cairn:
        done = cairn.replay(delivery_id)
    if wants_json(ctx):
        emit_json(done)
    else:
        click.echo(f"delivery {done.id} queued")

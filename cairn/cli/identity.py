"""``cairn whoami``, ``cairn token create|list|revoke``, ``cairn user|service-account …`` and
``cairn role grant|revoke``."""

from __future__ import annotations

import click

from cairn.cli.context import client, wants_json
from cairn.cli.output import emit_json, fails_cleanly, key_value_pairs, moment, table
from cairn.wire.identity import Principal


@click.command()
@click.pass_context
@fails_cleanly
def whoami(ctx: click.Context) -> None:
    """Who the token in use stands for, with its roles and the token's scopes."""
    with client(ctx, progress=False) as cairn:
        me = cairn.whoami()
    if wants_json(ctx):
        emit_json(me)
        return
    click.echo(me.name)
    for namespace, roles in sorted(me.roles.items()):
        where = "every namespace" if namespace == "*" else namespace
        click.echo(f"  {', '.join(roles)} in {where}")
    if me.scopes:
        click.echo(f"  token {me.token_id} limited to {_pairs(me.scopes)}")


@click.group()
def token() -> None:
    """Create, list and revoke API tokens."""


@token.command(name="create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    metavar="NS=ROLE",
    help="Limit the token to ROLE in NS (* for every namespace); repeatable, and a namespace "
    "named twice is limited to what its roles permit together.",
)
@click.option("--days", type=click.IntRange(min=1), default=None, help="Lifetime in days.")
@click.option("--for", "principal", default=None, help="Another principal (global admins).")
@click.pass_context
@fails_cleanly
def create_token(
    ctx: click.Context, name: str, scopes: tuple[str, ...], days: int | None, principal: str | None
) -> None:
    """Create a token NAME. Its secret is printed once: store it now."""
    limits: dict[str, list[str]] = {}
    for namespace, role_name in key_value_pairs(scopes, "a scope"):
        limits.setdefault(namespace, []).append(role_name)
    with client(ctx, progress=False) as cairn:
        issued = cairn.create_token(name, scopes=limits or None, days=days, principal=principal)
    if wants_json(ctx):
        emit_json(issued)
        return
    found = issued.token
    click.echo(issued.secret)
    expires = moment(found.expires_at) if found.expires_at else "never"
    click.echo(f"token {found.token_id} for {found.principal}, expires {expires}", err=True)
    click.echo("the secret above is shown this once", err=True)


@token.command(name="list")
@click.option("--for", "principal", default=None, help="A principal's tokens (* for all).")
@click.pass_context
@fails_cleanly
def list_tokens(ctx: click.Context, principal: str | None) -> None:
    """Your tokens (global admins: anyone's)."""
    with client(ctx, progress=False) as cairn:
        found = cairn.tokens(principal)
    if wants_json(ctx):
        emit_json(found)
        return
    table(
        None,
        ["id", "principal", "name", "scopes", "expires", "last used", "revoked"],
        (
            [
                t.token_id,
                t.principal,
                t.name,
                _pairs(t.scopes) or "all roles",
                moment(t.expires_at) if t.expires_at else "never",
                moment(t.last_used_at) if t.last_used_at else "-",
                moment(t.revoked_at) if t.revoked_at else "",
            ]
            for t in found
        ),
    )


@token.command(name="revoke")
@click.argument("token_id")
@click.pass_context
@fails_cleanly
def revoke_token(ctx: click.Context, token_id: str) -> None:
    """Revoke a token at once, on every server."""
    with client(ctx, progress=False) as cairn:
        found = cairn.revoke_token(token_id)
    if wants_json(ctx):
        emit_json(found)
    else:
        click.echo(f"token {token_id} revoked")


def principal_group(kind: str, name: str, noun: str) -> click.Group:
    """``cairn user`` and ``cairn service-account``: the same commands for either kind."""

    @click.group(name=name, help=f"Manage {noun}s (global admins).")
    def group() -> None:
        pass

    @group.command(name="add")
    @click.argument("principal")
    @click.option("--description", default="", help="What it is for.")
    @click.option("--role", "roles", multiple=True, metavar="NS=ROLE", help="Grant; repeatable.")
    @click.pass_context
    @fails_cleanly
    def add(ctx: click.Context, principal: str, description: str, roles: tuple[str, ...]) -> None:
        with client(ctx, progress=False) as cairn:
            found = cairn.create_principal(principal, kind=kind, description=description)
            for namespace, role_name in key_value_pairs(roles, "a role"):
                found = cairn.grant(principal, namespace, role_name)
        _show_principal(ctx, found)

    @group.command(name="list")
    @click.pass_context
    @fails_cleanly
    def list_(ctx: click.Context) -> None:
        with client(ctx, progress=False) as cairn:
            found = cairn.principals(kind)
        if wants_json(ctx):
            emit_json(found)
            return
        table(
            None,
            ["name", "roles", "disabled", "created"],
            ([p.name, _roles(p), "yes" if p.disabled else "", moment(p.created_at)] for p in found),
        )

    @group.command(name="disable")
    @click.argument("principal")
    @click.pass_context
    @fails_cleanly
    def disable(ctx: click.Context, principal: str) -> None:
        """Disable it: every token it holds stops working at once."""
        with client(ctx, progress=False) as cairn:
            _show_principal(ctx, cairn.set_disabled(principal, True))

    @group.command(name="enable")
    @click.argument("principal")
    @click.pass_context
    @fails_cleanly
    def enable(ctx: click.Context, principal: str) -> None:
        with client(ctx, progress=False) as cairn:
            _show_principal(ctx, cairn.set_disabled(principal, False))

    return group


user = principal_group("user", "user", "user")
service_account = principal_group("service", "service-account", "service account")


@click.group()
def role() -> None:
    """Grant and revoke roles: reader, writer, approver, deployer, admin. A principal may hold
    several roles in a namespace; it may do what any of them permits."""


@role.command(name="grant")
@click.argument("principal")
@click.argument("namespace")
@click.argument("role_name", metavar="ROLE")
@click.pass_context
@fails_cleanly
def grant(ctx: click.Context, principal: str, namespace: str, role_name: str) -> None:
    """Add ROLE to what PRINCIPAL holds in NAMESPACE (* for every namespace)."""
    with client(ctx, progress=False) as cairn:
        _show_principal(ctx, cairn.grant(principal, namespace, role_name))


@role.command(name="revoke")
@click.argument("principal")
@click.argument("namespace")
@click.argument("role_name", metavar="[ROLE]", required=False)
@click.option("--all", "every", is_flag=True, help="Every role PRINCIPAL holds in NAMESPACE.")
@click.pass_context
@fails_cleanly
def revoke(
    ctx: click.Context, principal: str, namespace: str, role_name: str | None, every: bool
) -> None:
    """Take ROLE (or, with --all, every role) that PRINCIPAL holds in NAMESPACE away."""
    if (role_name is None) == (not every):
        raise click.UsageError("name the ROLE to revoke, or give --all")
    with client(ctx, progress=False) as cairn:
        _show_principal(ctx, cairn.revoke(principal, namespace, role_name))


def _pairs(by_namespace: dict[str, list[str]]) -> str:
    """``ns=role`` for every role held, the syntax ``--role`` and ``--scope`` take."""
    return ", ".join(f"{ns}={r}" for ns, roles in sorted(by_namespace.items()) for r in roles)


def _roles(p: Principal) -> str:
    return _pairs(p.roles) or "-"


def _show_principal(ctx: click.Context, found: Principal) -> None:
    if wants_json(ctx):
        emit_json(found)
    else:
        state = " (disabled)" if found.disabled else ""
        click.echo(f"{found.kind} {found.name}{state}: {_roles(found)}")


COMMANDS = [whoami, token, user, service_account, role]

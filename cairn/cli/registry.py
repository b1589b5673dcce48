"""Pushing, pulling, listing, showing, searching and tagging."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cairn import errors
from cairn.cli import version_metadata as meta
from cairn.cli.checks import describe_checks, newest_checks, waive
from cairn.cli.completion import complete_reference
from cairn.cli.context import client, wants_json
from cairn.cli.output import (
    emit_json,
    fails_cleanly,
    human_size,
    key_values,
    moment,
    plain,
    short,
    table,
    table_time,
)
from cairn.client.records import Pulled
from cairn.wire.versions import Version


def _number(raw: str, what: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise click.BadParameter(f"{what} values are numbers, not {raw!r}") from None


FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command()
@click.argument("ref", shell_complete=complete_reference)
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--metric", "metrics", multiple=True, help="key=number (repeatable).")
@click.option("--param", "params", multiple=True, help="key=value (repeatable).")
@click.option("--tag", "tags", multiple=True, help="key=value (repeatable).")
@click.option(
    "--dataset",
    "datasets",
    multiple=True,
    help="[ROLE=]URI[@sha256:DIGEST], e.g. train=s3://d/train.csv (repeatable).",
)
@click.option(
    "--parent", "parents", multiple=True, help="REF[=RELATION] it came from (repeatable)."
)
@click.option("--schema", "schema_path", type=FILE, default=None, help="Inputs/outputs (JSON).")
@click.option(
    "--env-file",
    type=FILE,
    default=None,
    help="The model's environment: requirements.txt, python_env.yaml or conda.yaml "
    "(default: the one in PATH, read by the server).",
)
@click.option(
    "--card", type=FILE, default=None, help="The model card (Markdown), as MODEL_CARD.md."
)
@click.option("--description", default="", help="What this version is.")
@click.option("--no-provenance", is_flag=True, help="Do not capture the git state.")
@click.option(
    "--sign",
    "sign_key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Sign with this ECDSA private key (PEM), in the OpenSSF model-signing format.",
)
@click.pass_context
@fails_cleanly
def push(
    ctx: click.Context,
    ref: str,
    path: Path,
    metrics: tuple[str, ...],
    params: tuple[str, ...],
    tags: tuple[str, ...],
    datasets: tuple[str, ...],
    parents: tuple[str, ...],
    schema_path: Path | None,
    env_file: Path | None,
    card: Path | None,
    description: str,
    no_provenance: bool,
    sign_key: Path | None,
) -> None:
    """Push PATH (a folder or a file) as a new version of the model REF. What the folder's
    files state (an MLmodel's schema and flavour, its environment files, a config.json,
    safetensors headers) fills what the options leave out."""
    metric_values = {k: _number(v, "--metric") for k, v in key_values(metrics, "--metric").items()}
    lineage = {"parents": meta.parents(parents)} if parents else None
    with client(ctx) as cairn:
        version = cairn.push(
            ref,
            path,
            description=description,
            metrics=metric_values,
            params=key_values(params, "--param"),
            tags=key_values(tags, "--tag"),
            datasets=meta.datasets(datasets),
            provenance=lineage,
            schema=meta.schema_file(schema_path),
            env_file=env_file,
            card=card,
            capture_provenance=not no_provenance,
            sign=sign_key,
        )
    if wants_json(ctx):
        emit_json(version)
    else:
        click.echo(
            f"{version.ref}  {short(version.manifest_digest)}  "
            f"{version.file_count} files, {human_size(version.size)}"
        )


@click.command()
@click.argument("ref", shell_complete=complete_reference)
@click.argument("dest", type=click.Path(path_type=Path))
@click.option(
    "--key",
    "keys",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Verify the signature with this public key (PEM) only, not the namespace's, and "
    "refuse a version it does not verify or that is unsigned (exit 6); repeatable.",
)
@click.option(
    "--require-signature",
    is_flag=True,
    help="Refuse the version unless its signature verifies (exit 6).",
)
@click.option(
    "--allow-unsigned",
    is_flag=True,
    help="Take an unsigned version knowingly, even with --key or --require-signature.",
)
@click.option(
    "--override",
    default=None,
    metavar="REASON",
    help="Pull a version a failed check blocks anyway (an admin of the namespace; audited).",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Remove what DEST holds that is not in the version (never following links out).",
)
@click.pass_context
@fails_cleanly
def pull(
    ctx: click.Context,
    ref: str,
    dest: Path,
    keys: tuple[Path, ...],
    require_signature: bool,
    allow_unsigned: bool,
    override: str | None,
    replace: bool,
) -> None:
    """Download the version REF names into the folder DEST, verifying every file and its
    signature. A signature that does not verify, a version the server's checks block
    (integrity, scan, signature, its policy), and an unsigned version when a signature is
    required (--key, --require-signature, or the namespace's rule; unless --allow-unsigned)
    are refused with exit 6 and nothing written (--override: an admin's audited exception to
    a blocked version). DEST ends up holding exactly the version: a folder holding anything
    else is refused (exit 4) unless --replace."""
    trusted = [k.read_text() for k in keys] or None
    with client(ctx) as cairn:
        pulled = cairn.pull(
            ref,
            dest,
            trusted_keys=trusted,
            require_signature=require_signature or None,
            allow_unsigned=allow_unsigned,
            override=override,
            replace=replace,
        )
    if wants_json(ctx):
        emit_json(_pulled_json(pulled))
        return
    check, version = pulled.signature_check, pulled.version
    signed = {
        "verified": f", signature verified ({check.signer})",
        "failed": f", SIGNATURE DOES NOT VERIFY: {check.message}",
        "unsigned": ", unsigned",
    }[check.status]
    click.echo(f"{version.ref} -> {dest} ({version.file_count} files verified{signed})")


def _pulled_json(pulled: Pulled) -> dict[str, Any]:
    """The version with the check made here as its ``signature_check``: only a status for an
    unsigned version, the signer and the message too for a signed one."""
    check = plain(pulled.signature_check)
    if pulled.signature_check.status == "unsigned":
        check = {"status": "unsigned"}
    return {**plain(pulled.version), "signature_check": check}


@click.command(name="ls")
@click.argument("target", shell_complete=complete_reference, required=False)
@click.pass_context
@fails_cleanly
def list_(ctx: click.Context, target: str | None) -> None:
    """List models (of namespace TARGET), or the versions of model TARGET (ns/name). A bare
    NAME is the namespace NAME if there is one, else the model default/NAME; 'NAME/' is
    always the namespace, 'default/NAME' always the model."""
    with client(ctx, progress=False) as cairn:
        if target and "/" in target.rstrip("/"):
            _versions_table(ctx, target, list(cairn.versions(target)))
            return
        try:
            models = list(cairn.models(target.rstrip("/") if target else None))
        except errors.NamespaceNotFound:
            if target is None or target.endswith("/"):
                raise
            model = f"default/{target}"  # a bare model name finds the model in default
            try:
                found = list(cairn.versions(model))
            except errors.ModelNotFound:
                raise errors.NamespaceNotFound(
                    f"no namespace {target!r} and no model {model!r}", namespace=target
                ) from None
            _versions_table(ctx, model, found)
            return
    if wants_json(ctx):
        emit_json(models)
        return
    table(
        None,
        ["model", "latest", "owner", "description"],
        ((m.ref, m.latest_version, m.owner, m.description) for m in models),
    )


def _versions_table(ctx: click.Context, model: str, versions: list[Version]) -> None:
    if wants_json(ctx):
        emit_json(versions)
        return
    table(
        model,
        ["version", "state", "aliases", "size", "created", "digest"],
        (
            (
                v.number,
                v.state,
                " ".join("@" + a for a in v.aliases),
                human_size(v.size),
                table_time(v.created_at),
                short(v.manifest_digest),
            )
            for v in versions
        ),
    )


@click.command()
@click.argument("ref", shell_complete=complete_reference)
@click.pass_context
@fails_cleanly
def show(ctx: click.Context, ref: str) -> None:
    """Show a version (ns/name:N, ns/name@alias, ns/name:latest) with its files."""
    gates: list[dict[str, Any]] | None = None
    with client(ctx, progress=False) as cairn:
        try:
            version = cairn.get(ref)
        except errors.VersionBlocked as exc:  # its metadata stays readable, to see why
            gates = exc.details.get("gates", [])
            version = cairn.get(ref, files=False)
        if wants_json(ctx):  # the server's answer; the checks' details: cairn validations
            emit_json(plain(version) if gates is None else {**plain(version), "blocked": gates})
            return
        checks = newest_checks(cairn.validations(version.ref))
        card = cairn.card(version)
    _describe(version)
    describe_checks(checks)
    meta.describe_card(card, version)
    for gate in gates or []:
        click.echo(f"  BLOCKED   {gate['gate']}: {gate['reason']}")


def _describe(v: Version) -> None:
    click.echo(f"{v.ref}  [{v.state}]  {' '.join('@' + a for a in v.aliases)}")
    click.echo(f"  digest    {v.manifest_digest}")
    click.echo(f"  author    {v.author}   created {moment(v.created_at)}")
    if v.description:
        click.echo(f"  about     {v.description}")
    for label, values in (("metrics", v.metrics), ("params", v.params), ("tags", v.tags)):
        if values:
            click.echo(f"  {label:<9} " + ", ".join(f"{k}={val}" for k, val in values.items()))
    code = v.provenance.get("code", {})
    if code:
        dirty = " (dirty)" if code.get("dirty") else ""
        click.echo(f"  code      {code.get('repository', '')} {code.get('commit', '')}{dirty}")
    meta.describe_metadata(v)
    score = v.completeness
    missing = f" (missing: {', '.join(score.missing)})" if score.missing else ""
    click.echo(f"  complete  {score.score:.0%}{missing}")
    table(
        None,
        ["path", "size", "digest"],
        ((f.path, human_size(f.size), short(f.digest)) for f in v.files or []),
    )


@click.command()
@click.argument("filter_text", metavar="FILTER")
@click.option("--limit", type=int, default=100, show_default=True, help="At most this many.")
@click.pass_context
@fails_cleanly
def search(ctx: click.Context, filter_text: str, limit: int) -> None:
    """Find versions: cairn search "name = 'fraud' AND metrics.auc >= 0.9"."""
    with client(ctx, progress=False) as cairn:
        found = []
        for version in cairn.search(filter_text, page_size=min(limit, 1000)):
            found.append(version)
            if len(found) >= limit:
                break
    if wants_json(ctx):
        emit_json(found)
        return
    table(
        None,
        ["version", "state", "aliases", "created", "metrics"],
        (
            (
                v.ref,
                v.state,
                " ".join("@" + a for a in v.aliases),
                table_time(v.created_at),
                ", ".join(f"{k}={val:g}" for k, val in list(v.metrics.items())[:4]),
            )
            for v in found
        ),
    )


@click.command()
@click.argument("ref", shell_complete=complete_reference)
@click.argument("pairs", nargs=-1, required=True)
@click.option("--rm", "remove", is_flag=True, help="Remove the tags named in PAIRS instead.")
@click.pass_context
@fails_cleanly
def tag(ctx: click.Context, ref: str, pairs: tuple[str, ...], remove: bool) -> None:
    """Tag a version (ns/name:N) or a model (ns/name): cairn tag risk/fraud:3 team=risk."""
    with client(ctx, progress=False) as cairn:
        if remove:
            for key in pairs:
                cairn.untag(ref, key)
        else:
            for key, value in key_values(pairs, "a tag").items():
                cairn.tag(ref, key, value)
    if not wants_json(ctx):
        click.echo(f"{ref}: {'removed' if remove else 'tagged'} {', '.join(pairs)}")


COMMANDS = [push, pull, list_, show, search, tag, waive]

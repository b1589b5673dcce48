"""Importing a model from where it already lives: ``cairn import s3://bucket/prefix MODEL``."""

from __future__ import annotations

import click

from cairn.cli.context import client, wants_json
from cairn.cli.output import emit_json, fails_cleanly, human_size, key_values, short


@click.command(name="import")
@click.argument("source")
@click.argument("ref")
@click.option("--tag", "tags", multiple=True, help="key=value (repeatable).")
@click.option("--description", default="", help="What this version is.")
@click.pass_context
@fails_cleanly
def import_(
    ctx: click.Context, source: str, ref: str, tags: tuple[str, ...], description: str
) -> None:
    """Register the files under SOURCE (s3://bucket/prefix) as a new version of the model REF.
    The server fetches them with its own S3 credentials, only from a prefix an administrator
    allows (CAIRN_IMPORT_ALLOW); they are hashed, scanned and registered like a push."""
    with client(ctx, progress=False) as cairn:
        version = cairn.import_version(
            ref, source, description=description, tags=key_values(tags, "--tag")
        )
    if wants_json(ctx):
        emit_json(version)
    else:
        click.echo(
            f"{version.ref}  {short(version.manifest_digest)}  "
            f"{version.file_count} files, {human_size(version.size)} (from {source})"
        )


COMMANDS = [import_]

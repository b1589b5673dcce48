"""A version's metadata on the command line: ``push``'s options that state it (datasets with
their role, parents, a schema file) and the lines ``show`` prints about it (its card too)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from cairn.client.cards import summary
from cairn.domain.derived import card_path
from cairn.wire.versions import Version

SHOWN_APART = ("signature", "scan")  # with their details: cairn.cli.checks


def datasets(specs: tuple[str, ...]) -> list[dict[str, str]]:
    """``[ROLE=]URI[@sha256:DIGEST]``: ``train=s3://data/train.csv@sha256:…``. A ``ROLE=``
    prefix is a word before the first ``=`` with no ``:`` or ``/`` in it (a URI's scheme has)."""
    out = []
    for spec in specs:
        role, eq, rest = spec.partition("=")
        if not eq or not role or any(c in role for c in ":/"):
            role, rest = "", spec
        uri, at, digest = rest.rpartition("@") if "@sha256:" in rest else (rest, "", "")
        if not uri:
            raise click.BadParameter(f"--dataset is [ROLE=]URI[@sha256:DIGEST], not {spec!r}")
        entry = {"uri": uri, **({"digest": digest} if at else {})}
        out.append({**entry, **({"role": role} if role else {})})
    return out


def parents(specs: tuple[str, ...]) -> list[dict[str, str]]:
    """``REF[=RELATION]``: ``risk/fraud:3=fine_tuned_from`` (the relation: ``derived_from``)."""
    out = []
    for spec in specs:
        ref, eq, relation = spec.partition("=")
        if not ref or (eq and not relation):
            raise click.BadParameter(f"--parent is REF[=RELATION], not {spec!r}")
        out.append({"ref": ref, **({"relation": relation} if relation else {})})
    return out


def schema_file(path: Path | None) -> dict[str, Any] | None:
    """A JSON file ``{"inputs": [...], "outputs": [...]}`` (the server checks its shape)."""
    if path is None:
        return None
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"--schema {path}: {exc}") from None
    if not isinstance(loaded, dict):
        raise click.BadParameter(f'--schema {path} holds {{"inputs": [...], "outputs": [...]}}')
    return loaded


def describe_metadata(v: Version) -> None:
    """What ``show`` prints of a version's provenance, schema, derived facts and validations."""
    p = v.provenance
    run = p.get("run") or {}
    if run:
        click.echo(f"  run       {run.get('id', '')} (experiment {run.get('experiment', '?')})")
    for d in p.get("datasets") or []:
        role = f" [{d['role']}]" if d.get("role") else ""
        digest = f"  {d['digest']}" if d.get("digest") else ""
        click.echo(f"  dataset   {d.get('uri', '')}{role}{digest}")
    for parent in p.get("parents") or []:
        relation = parent.get("relation", "derived_from")
        click.echo(f"  parent    {parent.get('ref', '')} ({relation})")
    env = p.get("environment") or {}
    if env:
        packages = env.get("packages") or {}
        shown = ", ".join(_requirement(k, val) for k, val in list(packages.items())[:6])
        more = f" (+{len(packages) - 6} more)" if len(packages) > 6 else ""
        python = f"python {env['python']}" if env.get("python") else "python ?"
        click.echo(f"  env       {python}{'; ' + shown if shown else ''}{more}")
    for side in ("inputs", "outputs"):
        specs = v.input_output_schema.get(side) or []
        if specs:
            click.echo(f"  {side:<9} " + ", ".join(_spec(s) for s in specs[:8]))
    derived = (p.get("extra") or {}).get("derived") or {}
    if derived.get("fields"):
        click.echo(f"  derived   {', '.join(derived['fields'])} (from the model's files)")
    others = {k: s for k, s in (v.validations or {}).items() if k not in SHOWN_APART}
    if others:
        click.echo("  checks    " + ", ".join(f"{k}={s}" for k, s in sorted(others.items())))


def describe_card(card: str | None, v: Version) -> None:
    """The card's first line and where it is, or that the version has none."""
    if card is None:
        click.echo("  card      none (add MODEL_CARD.md or README.md, or push --card FILE)")
        return
    where = card_path(v.provenance)
    click.echo(f"  card      {summary(card)}  ({where}, {len(card.splitlines())} lines)")


def _requirement(name: str, spec: str) -> str:
    """``numpy==2.1`` for a pinned version, ``numpy>=2`` for another specifier."""
    return name + ("==" + spec if spec and spec[0].isalnum() else spec)


def _spec(spec: dict[str, Any]) -> str:
    shape = f"{spec['shape']}" if spec.get("shape") is not None else ""
    name = f"{spec['name']}: " if spec.get("name") else ""
    return f"{name}{spec.get('type', '?')}{shape}"

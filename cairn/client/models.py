"""The SDK's calls about models and their aliases. ``Client`` has them all; each answers the
``cairn.wire`` record its route declares."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from cairn.client.http import Http
from cairn.domain.references import parse_model_reference
from cairn.wire import paths
from cairn.wire.aliases import AliasMove
from cairn.wire.models import Model
from cairn.wire.versions import Version


class ModelCalls:
    http: Http

    # Models

    def create_model(self, name: str, **fields: Any) -> Model:
        """Create a model (empty: its versions come by ``push``); ``fields`` are
        ``description``, ``card``, ``owner`` and ``tags``:

        >>> cairn.create_model("risk/fraud", owner="ml-risk").ref  # doctest: +SKIP
        'risk/fraud'
        """
        ref = parse_model_reference(name)
        path = paths.namespace_models(ref.namespace)
        return self.http.record(Model, "POST", path, json={"name": ref.model, **fields})

    def get_model(self, name: str) -> Model:
        """One model, with its aliases and latest version:

        >>> cairn.get_model("risk/fraud").aliases  # doctest: +SKIP
        {'production': 7}
        """
        return self.http.record(Model, "GET", paths.model_of(parse_model_reference(name)))

    def update_model(self, name: str, **fields: Any) -> Model:
        """Change a model's ``description``, ``card``, ``owner`` or ``tags`` (those given):

        >>> cairn.update_model("risk/fraud", card=open("CARD.md").read()).card  # doctest: +SKIP
        '# Fraud ...'
        """
        path = paths.model_of(parse_model_reference(name))
        return self.http.record(Model, "PATCH", path, json=fields)

    def delete_model(self, name: str) -> None:
        """Delete a model and its versions (admins):

        >>> cairn.delete_model("risk/old-fraud")  # doctest: +SKIP
        """
        self.http.request("DELETE", paths.model_of(parse_model_reference(name)))

    def models(self, namespace: str | None = None, filter: str | None = None) -> Iterator[Model]:
        """Every model (of ``namespace``), following pages as they are read:

        >>> [(m.ref, m.latest_version) for m in cairn.models("risk")]  # doctest: +SKIP
        [('risk/fraud', 8)]
        """
        params = {k: v for k, v in {"namespace": namespace, "filter": filter}.items() if v}
        return map(Model.model_validate, self.http.pages(paths.MODELS, params))

    # Aliases

    def set_alias(
        self, model: str, alias: str, number: int, *, override: str | None = None
    ) -> Version:
        """Point an alias at a version; answers that version (without its files):

        >>> cairn.set_alias("risk/fraud", "production", 7).ref  # doctest: +SKIP
        'risk/fraud:7'

        A blocked version raises ``VersionBlocked`` unless ``override`` gives a reason (an
        admin's, audited)."""
        body: dict[str, Any] = {"version": number}
        if override is not None:
            body["override"] = override
        return self.http.record(Version, "PUT", _alias_path(model, alias), json=body)

    def alias_at(self, model: str, alias: str, when: datetime) -> Version:
        """The version ``alias`` named at a past time (without its files):

        >>> when = datetime(2026, 3, 3, 14, tzinfo=UTC)  # doctest: +SKIP
        >>> cairn.alias_at("risk/fraud", "production", when).number  # doctest: +SKIP
        6
        """
        path = _alias_path(model, alias)
        return self.http.record(Version, "GET", path, params={"at": when.isoformat()})

    def delete_alias(self, model: str, alias: str) -> None:
        """Remove an alias (its history keeps the move):

        >>> cairn.delete_alias("risk/fraud", "canary")  # doctest: +SKIP
        """
        self.http.request("DELETE", _alias_path(model, alias))

    def alias_history(self, model: str, alias: str | None = None) -> list[AliasMove]:
        """Every move of a model's aliases (or of one), oldest first, with time and actor:

        >>> moves = cairn.alias_history("risk/fraud")  # doctest: +SKIP
        >>> [(m.alias, m.previous, m.version) for m in moves]  # doctest: +SKIP
        [('production', None, 6), ('production', 6, 7)]
        """
        params = {"alias": alias} if alias else {}
        ref = parse_model_reference(model)
        path = paths.alias_history(ref.namespace, ref.model)
        return self.http.records(AliasMove, "GET", path, params=params)


def _alias_path(model: str, alias: str) -> str:
    ref = parse_model_reference(model)
    return paths.alias(ref.namespace, ref.model, alias)

"""Policies a namespace can take by name: ``{"preset": "mlflow-migration"}``.

``mlflow-migration`` is for teams moving from MLflow, whose stage transitions are ungoverned:
no rules, approvals, signature or clean scan are asked for, no alias is protected, and a
version may move between staging, production and archived in any direction (MLflow's
transitions), not only forward. What blocks a version on any policy still blocks it here (a
failed integrity check, a scan that found something dangerous): a preset relaxes governance,
not safety. The preset is read each time the policy is, so its meaning is the release's.
"""

from __future__ import annotations

import copy
from typing import Any

from cairn.errors import InvalidInput

_OPEN_GATE: dict[str, Any] = {
    "rules": [],
    "approvals": 0,
    "separation_of_duties": False,
    "require_signature": False,
    "require_clean_scan": False,
    "required_validations": [],
}
PRESETS: dict[str, dict[str, Any]] = {
    "mlflow-migration": {
        "states": {target: _OPEN_GATE for target in ("staging", "production", "archived")},
        "protected_aliases": {},
        "transitions": "any",
    },
}


def expand_preset(document: object) -> object:
    """The policy a ``{"preset": NAME}`` document stands for; any other document as it is."""
    if not isinstance(document, dict) or "preset" not in document:
        return document
    name = document["preset"]
    if set(document) != {"preset"} or not isinstance(name, str) or name not in PRESETS:
        raise InvalidInput(
            'a preset policy is {"preset": NAME} alone, NAME one of ' + ", ".join(PRESETS),
            presets=sorted(PRESETS),
        )
    return copy.deepcopy(PRESETS[name])

"""The choices the governance request models show in the OpenAPI document are the ones the
services accept: a value added to a service and not to its model would be refused at the edge
(and one the model lists that the service dropped would be offered to every client)."""

from __future__ import annotations

from typing import get_args

from cairn.domain.lifecycle import TARGETS
from cairn.services.deployments import OUTCOMES, STRATEGIES
from cairn.services.validations import VALIDATION_STATUSES
from cairn.wire.deployments import Outcome, Strategy
from cairn.wire.promotions import Target
from cairn.wire.validations import ValidationStatus


def test_the_models_offer_the_choices_the_services_accept() -> None:
    assert get_args(Target) == TARGETS
    assert get_args(ValidationStatus) == VALIDATION_STATUSES
    assert get_args(Strategy) == STRATEGIES
    assert get_args(Outcome) == OUTCOMES

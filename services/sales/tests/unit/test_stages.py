from dataclasses import dataclass
from decimal import Decimal

import pytest

from services.sales.domain import stages
from shared.errors import Conflict, ValidationFailed

NOW = "now"


@dataclass
class Opp:
    stage: str
    lost_reason: str | None = None


@pytest.mark.parametrize(
    "stage, probability",
    [
        ("prospecting", "0.1"),
        ("qualification", "0.2"),
        ("proposal", "0.5"),
        ("negotiation", "0.8"),
    ],
)
def test_a_new_opportunity_takes_its_stage_default_probability(stage, probability):
    assert stages.plan_new({"stage": stage})["probability"] == Decimal(probability)


def test_a_new_opportunity_keeps_a_given_probability_and_starts_open():
    assert stages.plan_new({"probability": Decimal("0.33")})["probability"] == Decimal("0.33")
    assert stages.plan_new({})["stage"] == "prospecting"
    for closed in ("closed_won", "closed_lost"):
        with pytest.raises(ValidationFailed):
            stages.plan_new({"stage": closed})


def test_moving_sets_the_default_probability_unless_one_is_given():
    plan = stages.plan_change(Opp("prospecting"), {"stage": "proposal"}, NOW)
    assert plan.changes["probability"] == Decimal("0.5")
    assert (plan.from_stage, plan.to_stage) == ("prospecting", "proposal")
    plan = stages.plan_change(
        Opp("prospecting"), {"stage": "proposal", "probability": Decimal("0.4")}, NOW
    )
    assert plan.changes["probability"] == Decimal("0.4")
    assert stages.stage_events(plan) == ["opportunity.stage_changed"]


def test_closing_forces_the_closed_probability_and_stamps_closed_at():
    plan = stages.plan_change(
        Opp("negotiation"), {"stage": "closed_won", "probability": Decimal("0.3")}, NOW
    )
    assert plan.changes["probability"] == Decimal("1.000")
    assert plan.changes["closed_at"] == NOW
    assert stages.stage_events(plan) == ["opportunity.stage_changed", "opportunity.won"]


def test_closed_lost_needs_a_reason():
    with pytest.raises(ValidationFailed) as raised:
        stages.plan_change(Opp("proposal"), {"stage": "closed_lost"}, NOW)
    assert "lost_reason" in raised.value.extra["errors"]
    with pytest.raises(ValidationFailed):
        stages.plan_change(Opp("proposal"), {"stage": "closed_lost", "lost_reason": "  "}, NOW)
    plan = stages.plan_change(Opp("proposal"), {"stage": "closed_lost", "lost_reason": "x"}, NOW)
    assert plan.changes["probability"] == Decimal("0")
    assert stages.stage_events(plan) == ["opportunity.stage_changed", "opportunity.lost"]


def test_a_lost_reason_belongs_only_to_a_lost_opportunity():
    with pytest.raises(ValidationFailed):
        stages.plan_change(Opp("proposal"), {"lost_reason": "x"}, NOW)


def test_won_is_final():
    with pytest.raises(Conflict):
        stages.plan_change(Opp("closed_won"), {"stage": "negotiation"}, NOW)
    with pytest.raises(Conflict):
        stages.plan_change(Opp("closed_won"), {"stage": "closed_lost", "lost_reason": "x"}, NOW)
    plan = stages.plan_change(Opp("closed_won"), {"name": "renamed"}, NOW)
    assert not plan.moves


def test_reopening_a_lost_opportunity_clears_its_reason():
    plan = stages.plan_change(Opp("closed_lost", "Price"), {"stage": "qualification"}, NOW)
    assert plan.changes["lost_reason"] is None
    assert plan.changes["closed_at"] is None
    assert plan.changes["probability"] == Decimal("0.2")


def test_winning_a_lost_opportunity_after_all_clears_its_lost_reason():
    plan = stages.plan_change(Opp("closed_lost", "Price"), {"stage": "closed_won"}, NOW)
    assert plan.changes["lost_reason"] is None
    assert plan.changes["probability"] == Decimal("1.000")

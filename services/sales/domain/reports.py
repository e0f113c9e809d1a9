"""Pipeline and campaign reports: money as exact Decimals, ratios as floats or None."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from services.sales.domain.stages import LOST, STAGES, WON
from services.sales.models import Campaign, Lead, Opportunity

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(value: Any) -> Decimal:
    """An aggregate as exact money (SQLite hands sums back as floats)."""
    if value is None:
        return ZERO
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def ratio(numerator: Decimal | int, denominator: Decimal | int) -> float | None:
    if not denominator:
        return None
    return round(float(Decimal(numerator) / Decimal(denominator)), 4)


def _scoped(stmt, args: dict[str, Any], **columns):
    """Apply the report filters (owner_id, campaign_id) to the given columns."""
    for name, column in columns.items():
        if args.get(name) is not None:
            stmt = stmt.where(column == args[name])
    return stmt


OPPORTUNITY_SCOPE = {"owner_id": Opportunity.owner_id, "campaign_id": Opportunity.campaign_id}


def pipeline(*, session: Session, args: dict[str, Any]) -> dict[str, Any]:
    """Per stage (every stage, in order): count, total and weighted value; forecast; win rate."""
    weighted = Opportunity.deal_value * Opportunity.probability
    by_stage = _scoped(
        select(
            Opportunity.stage,
            func.count(),
            func.sum(Opportunity.deal_value),
            func.sum(weighted),
        ).group_by(Opportunity.stage),
        args,
        **OPPORTUNITY_SCOPE,
    )
    rows = {stage: (count, total, w) for stage, count, total, w in session.execute(by_stage)}
    stages = [
        {
            "stage": stage,
            "count": rows.get(stage, (0, None, None))[0],
            "total_value": cents(rows.get(stage, (0, None, None))[1]),
            "weighted_value": cents(rows.get(stage, (0, None, None))[2]),
        }
        for stage in STAGES
    ]
    by_date = _scoped(
        select(
            Opportunity.expected_close_date,
            func.sum(Opportunity.deal_value),
            func.sum(weighted),
        )
        .where(Opportunity.stage != LOST, Opportunity.expected_close_date.is_not(None))
        .group_by(Opportunity.expected_close_date),
        args,
        **OPPORTUNITY_SCOPE,
    )
    months: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for day, total, w in session.execute(by_date):
        month = months[day.strftime("%Y-%m")]
        month[0] += Decimal(str(total or 0))
        month[1] += Decimal(str(w or 0))
    forecast = [
        {"month": month, "total_value": cents(total), "weighted_value": cents(w)}
        for month, (total, w) in sorted(months.items())
    ]
    won, lost = rows.get(WON, (0,))[0], rows.get(LOST, (0,))[0]
    return {"stages": stages, "forecast": forecast, "win_rate": ratio(won, won + lost)}


def campaigns(*, session: Session, args: dict[str, Any]) -> dict[str, Any]:
    """Per campaign: leads, conversions, opportunities, wins, revenue, cost per lead, ROI."""
    campaign_rows = session.scalars(
        _scoped(
            select(Campaign), args, owner_id=Campaign.owner_id, campaign_id=Campaign.id
        ).order_by(Campaign.created_at, Campaign.id)
    ).all()
    leads = dict(
        (cid, (total, converted))
        for cid, total, converted in session.execute(
            select(
                Lead.campaign_id,
                func.count(),
                func.sum(case((Lead.status == "converted", 1), else_=0)),
            )
            .where(Lead.campaign_id.is_not(None))
            .group_by(Lead.campaign_id)
        )
    )
    is_won = Opportunity.stage == WON
    opportunities = dict(
        (cid, (total, won, revenue))
        for cid, total, won, revenue in session.execute(
            select(
                Opportunity.campaign_id,
                func.count(),
                func.sum(case((is_won, 1), else_=0)),
                func.sum(case((is_won, Opportunity.deal_value), else_=0)),
            )
            .where(Opportunity.campaign_id.is_not(None))
            .group_by(Opportunity.campaign_id)
        )
    )
    items = []
    for campaign in campaign_rows:
        lead_count, converted = leads.get(campaign.id, (0, 0))
        opp_count, won_count, revenue = opportunities.get(campaign.id, (0, 0, None))
        won_revenue = cents(revenue)
        budget = campaign.budget
        items.append(
            {
                "campaign_id": campaign.id,
                "name": campaign.name,
                "status": campaign.status,
                "budget": budget,
                "leads": lead_count,
                "converted_leads": int(converted or 0),
                "opportunities": opp_count,
                "won_opportunities": int(won_count or 0),
                "won_revenue": won_revenue,
                "cost_per_lead": (
                    cents(budget / lead_count) if budget is not None and lead_count else None
                ),
                "roi": ratio(won_revenue - budget, budget) if budget else None,
            }
        )
    return {"items": items}

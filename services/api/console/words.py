"""What the console says beside every colour, and the words for the engine's codes."""

from __future__ import annotations

from shared.rules.forecast import ForecastCategory

CATEGORY_LABELS: dict[str, str] = {
    ForecastCategory.COMMIT: "Commit",
    ForecastCategory.PROBABLE: "Probable",
    ForecastCategory.AT_RISK: "At risk",
    ForecastCategory.LOST: "Lost",
    ForecastCategory.RENEWED: "Renewed",
}

BAND_LABELS = {"green": "Green", "yellow": "Yellow", "red": "Red"}

SIGNAL_WORDS = {
    "key_stakeholder_lost": "A key person (business owner, champion or sponsor) has left "
    "or changed role, and the follow-up task is still open.",
    "low_adoption": "Fewer than half of the seats are in use.",
    "weak_adoption": "Between half and 70 % of the seats are in use.",
    "goal_at_risk": "A business goal of the contract is at risk or missed.",
    "outreach_not_done": "The renewal date is 60 days away or less and the renewal "
    "outreach is not done.",
    "overdue_tasks": "A task is more than 14 days overdue.",
    "cancellation_notice": "The customer has given notice of cancellation.",
}
"""The health signals (docs/rules.md, "Health") as an account manager would say them."""


def words(code: str | None) -> str:
    return code.replace("_", " ") if code else "—"


def signal_words(signal: str) -> str:
    return SIGNAL_WORDS.get(signal, words(signal))

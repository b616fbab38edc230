"""Draws a portfolio and its year from the mixes (services/demo/mixes.py).

Pure: `generate(accounts, seed, as_of)` reads no clock, file or database; the same
arguments give the same portfolio (one `random.Random(seed)`). Accounts get a business
owner, a champion beside it at enterprise and mid-market ones, an executive sponsor and
a user at enterprise ones. Fates lean on the signals before them: an account whose
business owner left, or a contract with low adoption, churns more often.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import date, timedelta

from services.demo.mixes import (
    ACCOUNTS_PER_MANAGER,
    ADDON_TRIAL_SHARE,
    AUTO_RENEW_SHARE,
    BUDGET_LEAD_DAYS,
    BUSINESS_OWNER_LEAVES,
    CHURN_SHARE,
    CONTRACTION_SHARE,
    CONTRACTS_PER_ACCOUNT,
    EXPANSION_SHARE,
    FISCAL_MONTH_WEIGHTS,
    FISCAL_YEAR_UNKNOWN_SHARE,
    GOAL_SLIPS,
    GOALS_PER_CONTRACT,
    LAPSE_SHARE,
    NEW_DEAL_SHARE,
    PARTNER_SHARE,
    PARTNER_TIERS,
    PILOT_SHARE,
    PRICE_PER_SEAT,
    SEGMENT_ARR,
    SEGMENT_WEIGHTS,
    TERM_WEIGHTS,
    TERM_YEARS,
    TRIAL_SHARE,
    TROUBLE_AHEAD,
    USAGE_DIP,
    USAGE_EVERY_DAYS,
    USAGE_MIN_SEATS,
    WEAK_PARTNER_CHURN,
)
from services.demo.portfolio import (
    Account,
    Contract,
    Goal,
    Happening,
    Kind,
    Partner,
    Portfolio,
    Stakeholder,
)

# Names for people, companies, partners and goals.
_FIRST = ("Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi",
          "Liam", "Maya", "Nils", "Olga", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Uma", "Viktor",
          "Wen", "Yusuf", "Zoe")  # fmt: skip
_LAST = ("Adams", "Berg", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Haddad", "Ito",
         "Jensen", "Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Patel", "Rossi",
         "Schmidt", "Tanaka", "Usman", "Varga", "Weber", "Young", "Zhang")  # fmt: skip
_COMPANY_A = ("Blue", "North", "Bright", "Iron", "Silver", "Green", "Swift", "Clear", "Red",
              "Summit", "Harbor", "Cedar", "Atlas", "Nova", "Pioneer", "Granite")  # fmt: skip
_COMPANY_B = ("Logistics", "Foods", "Health", "Energy", "Retail", "Labs", "Media",
              "Finance", "Motors", "Textiles", "Pharma", "Travel", "Insurance", "Systems",
              "Farms")  # fmt: skip
_COMPANY_C = ("Inc", "GmbH", "Ltd", "SA", "Group", "AB", "BV", "Co")
_PARTNERS = ("Northwind Consulting", "Contoso Partners", "Fabrikam Solutions",
             "Tailspin Digital", "Litware Services", "Proseware Advisory", "Wingtip Resellers",
             "Adatum Integrators")  # fmt: skip
_TRIALS = ("50 more seats", "Reporting module", "API access", "Second branch", "SSO add-on")
_GOALS = (
    ("Faster onboarding", "New hires productive in 2 weeks"),
    ("Fewer support tickets", "-20 % tickets per month"),
    ("Weekly active teams", "80 % of teams active weekly"),
    ("Quarterly business review", "QBR held every quarter"),
    ("Cost per case", "-15 % cost per case"),
)


# --- the portfolio -------------------------------------------------------------------


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _log_uniform(rng: random.Random, low: int, high: int) -> int:
    return int(math.exp(rng.uniform(math.log(low), math.log(high))))


def _add_years(day: date, years: int) -> date:
    """Same day `years` later; 29 February becomes the 28th."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _person(rng: random.Random, key: str, company: str, role: str) -> Stakeholder:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    domain = company.split()[0].lower() + key.replace("-", "")
    return Stakeholder(key, f"{first} {last}", f"{first}.{last}@{domain}.example".lower(), role)


def _stakeholders(rng: random.Random, key: str, name: str, segment: str) -> tuple[Stakeholder, ...]:
    roles = ["business_owner"]
    if segment in ("enterprise", "mid_market"):
        roles.append("champion")
    if segment == "enterprise":
        roles += ["executive_sponsor", "user"]
    return tuple(_person(rng, f"{key}-s{i}", name, role) for i, role in enumerate(roles))


def _split(rng: random.Random, total: int, parts: int) -> list[int]:
    """`total` in `parts` shares of at least a fifth of an even share each."""
    weights = [rng.uniform(0.2, 1.0) for _ in range(parts)]
    shares = [max(1, int(total * w / sum(weights))) for w in weights]
    shares[0] += total - sum(shares)
    return shares


def _contract(
    rng: random.Random, key: str, account: Account, arr: int, as_of: date, until: date
) -> Contract:
    segment = account.segment
    years = rng.choices(TERM_YEARS, weights=TERM_WEIGHTS[segment])[0]
    auto_renew = rng.random() < AUTO_RENEW_SHARE[segment]
    notice = rng.choice((30, 60, 90)) if auto_renew else rng.choice((0, 0, 0, 30, 60))
    seats = max(1, arr // rng.randint(*PRICE_PER_SEAT))
    goals = tuple(
        Goal(f"{key}-g{i}", *_GOALS[(i + rng.randrange(len(_GOALS))) % len(_GOALS)])
        for i in range(GOALS_PER_CONTRACT[segment] if rng.random() < 0.7 else 0)
    )
    if rng.random() < NEW_DEAL_SHARE:
        start = as_of + timedelta(days=rng.randrange(7, (until - as_of).days - 30))
        end = _add_years(start, years)
        pilot_start = pilot_end = trial_end = None
        if segment in ("enterprise", "mid_market") and rng.random() < PILOT_SHARE:
            pilot_start = start - timedelta(days=rng.choice((30, 45, 60)))
            pilot_end = start - timedelta(days=1)
        elif segment not in ("enterprise", "mid_market") and rng.random() < TRIAL_SHARE:
            trial_end = start + timedelta(days=rng.choice((14, 30)))
        return Contract(key, account.key, start, end, arr, seats, auto_renew, notice,
                        pilot_start, pilot_end, trial_end, goals)  # fmt: skip
    end = as_of + timedelta(days=rng.randrange(1, 365 * years))
    start = _add_years(end, -years)
    return Contract(key, account.key, start, end, arr, seats, auto_renew, notice, goals=goals)


def generate(accounts: int, seed: int, as_of: date, days: int = 364) -> Portfolio:
    """A portfolio of `accounts` customers on `as_of` and what happens to it in the
    `days` after. Same arguments, same portfolio (one `random.Random(seed)`)."""
    if accounts < 1:
        raise ValueError("accounts must be at least 1")
    rng = random.Random(seed)
    until = as_of + timedelta(days=days)
    managers = tuple(
        f"{_FIRST[i % len(_FIRST)].lower()}.{_LAST[(i * 7) % len(_LAST)].lower()}@vendor.example"
        for i in range(max(2, round(accounts / ACCOUNTS_PER_MANAGER)))
    )
    partners = tuple(
        Partner(f"p{i}", name, PARTNER_TIERS[i % len(PARTNER_TIERS)])
        for i, name in enumerate(_PARTNERS[: max(2, min(len(_PARTNERS), accounts // 20))])
    )
    account_rows: list[Account] = []
    contract_rows: list[Contract] = []
    for i in range(accounts):
        key = f"a{i}"
        segment = _pick(rng, SEGMENT_WEIGHTS)
        name = f"{rng.choice(_COMPANY_A)} {rng.choice(_COMPANY_B)} {rng.choice(_COMPANY_C)} {i}"
        fiscal = (
            None
            if rng.random() < FISCAL_YEAR_UNKNOWN_SHARE
            else int(_pick(rng, {str(m): w for m, w in FISCAL_MONTH_WEIGHTS.items()}))
        )
        account = Account(
            key=key,
            name=name,
            segment=segment,
            owner=rng.choice(managers),
            fiscal_year_start_month=fiscal,
            budget_lead_days=rng.choice(BUDGET_LEAD_DAYS),
            partner=rng.choice(partners).key if rng.random() < PARTNER_SHARE else None,
            stakeholders=_stakeholders(rng, key, name, segment),
        )
        account_rows.append(account)
        total = _log_uniform(rng, *SEGMENT_ARR[segment])
        parts = rng.randint(1, CONTRACTS_PER_ACCOUNT[segment])
        for n, arr in enumerate(_split(rng, total, parts)):
            contract_rows.append(_contract(rng, f"{key}-c{n}", account, arr, as_of, until))
    happenings = _happenings(rng, account_rows, contract_rows, as_of, until)
    return Portfolio(
        seed=seed,
        as_of=as_of,
        until=until,
        managers=managers,
        partners=partners,
        accounts=tuple(account_rows),
        contracts=tuple(contract_rows),
        happenings=tuple(sorted(happenings, key=lambda h: (h.day, h.kind, h.account))),
    )


# --- the year ------------------------------------------------------------------------


def _day_between(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, max(0, (last - first).days)))


def _people_changes(
    rng: random.Random, accounts: list[Account], as_of: date, until: date
) -> tuple[list[Happening], dict[str, date]]:
    """Business owners who leave, each replaced a few weeks later; returns when each
    account lost its owner, for the fates that follow."""
    happenings: list[Happening] = []
    left: dict[str, date] = {}
    for account in accounts:
        if rng.random() >= BUSINESS_OWNER_LEAVES:
            continue
        owner = next(s for s in account.stakeholders if s.role == "business_owner")
        day = _day_between(rng, as_of + timedelta(days=7), until - timedelta(days=14))
        left[account.key] = day
        happenings.append(Happening(day, Kind.STAKEHOLDER_LEFT, account.key, stakeholder=owner.key))
        joined = day + timedelta(days=rng.randint(10, 45))
        if joined < until:
            person = _person(rng, f"{account.key}-new", account.name, "business_owner")
            happenings.append(
                Happening(joined, Kind.STAKEHOLDER_JOINED, account.key, person=person)
            )
    return happenings, left


def _usage(rng: random.Random, contract: Contract, as_of: date, until: date) -> list[Happening]:
    """A report every `USAGE_EVERY_DAYS` from the contract's start (monthly in a dip):
    adoption drifts around a level of its own; a dip drops it below half the seats for
    a while. Contracts of a handful of seats do not report."""
    if contract.seats < USAGE_MIN_SEATS:
        return []
    level = rng.choice((0.55, 0.65, 0.75, 0.85, 0.92))
    dip_from = (
        _day_between(rng, as_of + timedelta(days=30), until - timedelta(days=60))
        if rng.random() < USAGE_DIP
        else None
    )
    first = max(as_of, contract.start) + timedelta(days=rng.randint(20, 40))
    happenings: list[Happening] = []
    day = first
    while day < until:
        in_dip = dip_from is not None and dip_from <= day < dip_from + timedelta(days=75)
        ratio = rng.uniform(0.2, 0.45) if in_dip else min(1.0, level + rng.uniform(-0.08, 0.08))
        happenings.append(
            Happening(day, Kind.USAGE, contract.account, contract=contract.key,
                      active_users=round(contract.seats * ratio), seats=contract.seats)
        )  # fmt: skip
        day += timedelta(days=30 if in_dip else USAGE_EVERY_DAYS)
    return happenings


def _addon_trial(
    rng: random.Random, contract: Contract, usage: list[Happening], until: date
) -> list[Happening]:
    """Customers who use the product try more of it: more seats, another module."""
    if not usage or rng.random() >= ADDON_TRIAL_SHARE:
        return []
    last = min(until, contract.end) - timedelta(days=45)
    if last <= usage[0].day:
        return []
    day = _day_between(rng, usage[0].day, last)
    return [Happening(day, Kind.TRIAL, contract.account, contract=contract.key,
                      name=rng.choice(_TRIALS))]  # fmt: skip


def _goals(rng: random.Random, contract: Contract, as_of: date, until: date) -> list[Happening]:
    happenings: list[Happening] = []
    for goal in contract.goals:
        if rng.random() >= GOAL_SLIPS:
            continue
        first = max(as_of, contract.start) + timedelta(days=30)
        if first >= until:
            continue
        day = _day_between(rng, first, until - timedelta(days=1))
        happenings.append(Happening(day, Kind.GOAL, contract.account, contract=contract.key,
                                    goal=goal.key, status="at_risk"))  # fmt: skip
        later = day + timedelta(days=rng.randint(30, 90))
        if later < until:
            status = rng.choice(("on_track", "on_track", "achieved", "missed"))
            happenings.append(Happening(later, Kind.GOAL, contract.account, contract=contract.key,
                                        goal=goal.key, status=status))  # fmt: skip
    return happenings


def _fate(
    rng: random.Random, contract: Contract, lost_owner: date | None, low_adoption: bool,
    weak_partner: bool,
) -> list[Happening]:  # fmt: skip
    """What happens at the contract's renewal date R, when R falls in the year."""
    risk = (
        CHURN_SHARE
        + (0.25 if lost_owner and lost_owner < contract.end else 0)
        + (0.2 if low_adoption else 0)
        + (WEAK_PARTNER_CHURN if weak_partner else 0)
    )
    r, account = contract.end, contract.account
    if rng.random() < risk:
        reason = (
            "stakeholder_left"
            if lost_owner and rng.random() < 0.6
            else "no_adoption"
            if low_adoption and rng.random() < 0.6
            else rng.choice(("price", "competitor", "budget", "product_fit", "business_closed"))
        )
        if contract.auto_renew:
            notice = r - timedelta(days=contract.notice_period_days + rng.randint(3, 30))
            return [Happening(notice, Kind.CANCELLATION, account, contract.key, reason=reason)]
        return [Happening(r - timedelta(days=rng.randint(0, 20)), Kind.CHURN, account,
                          contract.key, reason=reason)]  # fmt: skip
    if contract.auto_renew or rng.random() < LAPSE_SHARE:
        return []  # the scheduler renews it at R, or nobody renews it: it lapses
    roll = rng.random()
    change = (
        rng.uniform(1.1, 1.5)
        if roll < EXPANSION_SHARE
        else rng.uniform(0.7, 0.95)
        if roll < EXPANSION_SHARE + CONTRACTION_SHARE
        else 1.0
    )
    years = max(1, round((contract.end - contract.start).days / 365))
    return [
        Happening(
            r - timedelta(days=rng.randint(0, 40)),
            Kind.RENEWAL,
            account,
            contract.key,
            end=_add_years(r, years),
            arr=max(1, round(contract.arr * change)),
            seats=max(1, round(contract.seats * change)),
        )
    ]


def _trouble(rng: random.Random, contract: Contract, until: date) -> list[Happening]:
    """A late dip in adoption and a goal at risk: two signals (25 + 20 points), enough
    to turn the contract yellow."""
    day = until - timedelta(days=rng.randint(7, 40))
    active = round(contract.seats * rng.uniform(0.2, 0.45))
    return [
        Happening(day, Kind.USAGE, contract.account, contract=contract.key,
                  active_users=active, seats=contract.seats),
        Happening(day, Kind.GOAL, contract.account, contract=contract.key,
                  goal=contract.goals[0].key, status="at_risk"),
    ]  # fmt: skip


def _happenings(
    rng: random.Random, accounts: list[Account], contracts: list[Contract], as_of: date, until: date
) -> list[Happening]:
    happenings, lost_owner = _people_changes(rng, accounts, as_of, until)
    weak = {a.key for a in accounts if a.partner == "p1"}
    for contract in contracts:
        usage = _usage(rng, contract, as_of, until)
        happenings += usage + _goals(rng, contract, as_of, until)
        happenings += _addon_trial(rng, contract, usage, until)
        if as_of < contract.end < until:
            low = any(
                h.active_users is not None and h.seats and h.active_users < h.seats / 2
                for h in usage
                if h.day < contract.end
            )
            fate = _fate(
                rng, contract, lost_owner.get(contract.account), low, contract.account in weak
            )
            happenings += [replace(h, day=min(max(h.day, as_of), until - timedelta(days=1)))
                           for h in fate]  # fmt: skip
        elif (
            contract.goals
            and until <= contract.end < until + timedelta(days=90)
            and rng.random() < TROUBLE_AHEAD
        ):
            happenings += _trouble(rng, contract, until)
    return happenings

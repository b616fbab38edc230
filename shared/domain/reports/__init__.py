"""The portfolio reports (DESIGN §3.3), one module each: `retention`, `revenue_retention`,
`renewal_rate`, `pipeline` (`/v1/reports/renewals`), `capacity` and `forecast` (sums of
the stored renewal forecasts, `shared/domain/forecast`); `queries` holds the
SQL pieces they share, `schemas` their answers and `csv` their CSV and text tables.

Read-only; each runs a fixed number of queries, whatever the portfolio's size (stated
per function). Sums, counts and per-row outcomes are computed in SQL on both dialects;
Python only formats the rows SQL returns (money, day counts) into the report's items,
one row per reported account, term or contract.
"""

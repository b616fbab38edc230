"""The rules every process applies, pure and standard library only (DESIGN §3):
`calendar` (month arithmetic, the fiscal year, the budget, notice and outreach dates),
`segments`, `stage` (with the lapse grace), `roles` (the key stakeholder roles) and
`types`, the vocabulary stored in the database and sent in events."""

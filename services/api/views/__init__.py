"""The account manager's views: a contract's renewal brief, a week's agenda and a
calendar feed (DESIGN §3.3, issue 6 items 6-7)."""

"""`renewals demo`: a generated portfolio lived through a year, in a database of its own."""

"""Read-only tokens for one owner's calendar feed: what a calendar app's URL carries
instead of an API key."""

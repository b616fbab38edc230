"""The renewal console: server-rendered pages over the same business operations the
REST API calls, for people who would rather not hold an API key in a terminal.

Everything lives under `/console` and stays out of the OpenAPI document. A sign-in
exchanges an API key, pasted once, for a sealed session cookie that holds only the key's
id (session.py); every request reads the key again, so a revocation ends the session at
once, and the key's scopes decide which actions a page offers. Every form carries the
session's CSRF token, checked before a POST reads anything else (forms.py). Errors are
pages, not problem+json (routing.py).

Adding a page takes three things:

1. a router module here, `router = console_router()` with its routes, each taking the
   `Console` dependency (a POST takes `Posted` and calls `require(...)` for its scope);
2. a template in `templates/` that `{% extends "layout.html" %}` and fills `main`, rendered
   with `pages.render(request, "name.html", signed, section="name", ...)`;
3. one line adding its router to `PAGES` in mount.py.

The layout's navigation already links every planned page; `section` marks the current one.
Assets are files in `static/`, served from `/console/static/`: nothing is loaded from
anywhere else, so the console works offline.
"""

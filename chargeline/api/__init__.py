"""The driver API: read-only live session state and connector availability over HTTP JSON
and server-sent events (``chargeline api``; docs/api.md)."""

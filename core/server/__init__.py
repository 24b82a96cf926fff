"""The HTTP server: Integration URLs, the admin API, health and metrics (Starlette)."""

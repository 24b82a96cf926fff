"""alertgate's ingest benchmark: ``python -m bench --help`` (see docs/performance.md)."""

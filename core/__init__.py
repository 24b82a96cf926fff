"""alertgate: the framework (hook specs, plugin manager, models, engine, storage, server, CLI)."""

__version__ = "0.1.0"

from alertgate.hookspecs import hookimpl

__all__ = ["__version__", "hookimpl"]

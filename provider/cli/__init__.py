"""``gaussdb-job``: the command-line front end and its display. The only layer that imports rich."""

from provider.cli.main import main

__all__ = ["main"]

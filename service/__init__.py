"""Staycurrent: a self-hosted ML trends feed aggregator.

Importing this package has no side effects; see ``service.cli`` for the composition root.
"""

__version__ = "0.1.0"

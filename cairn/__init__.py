"""Cairn: a self-hosted, auditable model registry."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["Client", "__version__"]


def __getattr__(name: str) -> object:
    # The SDK is imported lazily so that `import cairn.errors` in the server stays light.
    if name == "Client":
        from cairn.client import Client

        return Client
    raise AttributeError(name)

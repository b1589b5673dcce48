"""The HTTP API: the app factory, wire shapes, one error table, thin routes."""

from cairn.api.app import create_app

__all__ = ["create_app"]

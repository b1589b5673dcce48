"""The Python SDK: ``cairn.Client`` speaks the HTTP API and nothing else."""

from cairn.client.client import Client

__all__ = ["Client"]

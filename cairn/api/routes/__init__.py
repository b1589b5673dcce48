"""Thin routes: parse, call one service method, draw the result."""

from cairn.wire.paths import API_PREFIX

# Each router carries the full prefix itself, so that a matched route's path (the label the
# metrics use) is the whole URL template. The prefix is the SDK's too (``cairn.wire.paths``).
__all__ = ["API_PREFIX"]

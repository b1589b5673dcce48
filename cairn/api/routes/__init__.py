"""Thin routes: parse, call one service method, draw the result."""

# Each router carries the full prefix itself, so that a matched route's path (the label the
# metrics use) is the whole URL template.
API_PREFIX = "/api/v1"

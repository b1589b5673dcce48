"""Thin routes: parse, call one service method, draw the result."""

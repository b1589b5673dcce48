"""The use cases. Plain values in, records out, ``cairn.errors`` raised; no HTTP here."""

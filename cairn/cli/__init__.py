"""The ``cairn`` command: the server and database commands, and the rest through the SDK."""

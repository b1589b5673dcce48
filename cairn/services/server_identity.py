"""The server's identity: a key in its data folder, created on first start, by which it proves
to the CLI and SDK on the same machine that it is the server whose data folder they read
(see ``cairn.domain.server_identity``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cairn.domain import server_identity
from cairn.errors import ConfigError, InvalidInput
from cairn.services.keyfiles import load_or_create


@dataclass(frozen=True, slots=True)
class ServerAnswer:
    id: str
    proof: str | None  # None: no challenge was asked, or no local address to bind it to


class ServerIdentity:
    def __init__(self, key_file: Path) -> None:
        self._key = load_or_create(key_file, server_identity.new_key)
        if len(self._key) < server_identity.KEY_BYTES:
            raise ConfigError(f"{key_file} holds no server key: delete it to make a new one")
        self.id = server_identity.server_id(self._key)

    def answer(self, challenge: str | None, address: tuple[str, int] | None) -> ServerAnswer:
        """The id, and the proof for ``challenge`` on a connection accepted at ``address``."""
        if challenge is None:
            return ServerAnswer(self.id, None)
        if not server_identity.CHALLENGE.fullmatch(challenge):
            raise InvalidInput("a challenge is 32 to 128 lower-case hex digits")
        if address is None:
            return ServerAnswer(self.id, None)
        host, port = address
        return ServerAnswer(self.id, server_identity.proof(self._key, challenge, host, port))

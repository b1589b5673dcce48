"""Registry tokens: what the OCI token endpoint exchanges a Cairn API token for."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cairn.domain import registry_tokens
from cairn.domain.registry_tokens import KEY_BYTES
from cairn.domain.tokens import parse_token, secret_hash
from cairn.errors import ConfigError, Unauthenticated
from cairn.services.identity import Authenticated, IdentityService
from cairn.services.keyfiles import load_or_create

LIFETIME_SECONDS = 3600  # long enough for one large push; the Cairn token still governs it


@dataclass(frozen=True, slots=True)
class IssuedRegistryToken:
    token: str
    expires_in: int


class RegistryTokens:
    def __init__(
        self, identity: IdentityService, key_file: Path, lifetime: int = LIFETIME_SECONDS
    ) -> None:
        self.identity = identity
        self.lifetime = lifetime
        self._key = load_or_create(key_file, lambda: os.urandom(KEY_BYTES).hex().encode())
        if len(self._key) < KEY_BYTES:
            raise ConfigError(
                f"CAIRN_REGISTRY_TOKEN_KEY_FILE: {key_file} holds no key of {KEY_BYTES} bytes",
                setting="CAIRN_REGISTRY_TOKEN_KEY_FILE",
            )

    def issue(self, cairn_token: str, request_id: str | None) -> IssuedRegistryToken:
        """A registry token for the holder of ``cairn_token`` (checked first). It carries all
        the Cairn token may do, whatever scope was asked for: oras-py reuses one token for a
        whole push, so a pull-only token would fail the push that follows."""
        parsed = parse_token(cairn_token)
        if parsed is None:
            raise Unauthenticated("the password is not a Cairn API token")
        self.identity.authenticate(cairn_token, request_id)
        expires = int(self.identity.db.clock().timestamp()) + self.lifetime
        token = registry_tokens.mint(self._key, parsed[0], secret_hash(parsed[1]), expires)
        return IssuedRegistryToken(token, self.lifetime)

    def authenticate(self, raw: str, request_id: str | None) -> Authenticated:
        """The actor a registry token stands for; ``Unauthenticated`` saying why if none."""
        token = registry_tokens.read(raw)
        if token is None:
            raise Unauthenticated("the bearer token is neither a Cairn nor a registry token")
        now = self.identity.db.clock().timestamp()
        if token.expires <= now:
            raise Unauthenticated("the registry token has expired; ask the token endpoint again")
        if token.expires > now + self.lifetime:
            raise Unauthenticated("the registry token was not issued by this registry")
        key = self._key
        return self.identity.authenticate_proof(
            token.token_id, lambda stored: registry_tokens.proves(key, token, stored), request_id
        )

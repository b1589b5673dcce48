"""Registry tokens: what the OCI token endpoint exchanges a Cairn API token for."""

from __future__ import annotations

from dataclasses import dataclass

from cairn.domain import registry_tokens
from cairn.domain.tokens import parse_token, secret_hash
from cairn.errors import Unauthenticated
from cairn.services.identity import Authenticated, IdentityService

LIFETIME_SECONDS = 3600  # long enough for one large push; the Cairn token still governs it


@dataclass(frozen=True, slots=True)
class IssuedRegistryToken:
    token: str
    expires_in: int


class RegistryTokens:
    def __init__(self, identity: IdentityService, lifetime: int = LIFETIME_SECONDS) -> None:
        self.identity = identity
        self.lifetime = lifetime

    def issue(self, cairn_token: str, request_id: str | None) -> IssuedRegistryToken:
        """A registry token for the holder of ``cairn_token`` (checked first). It carries all
        the Cairn token may do, whatever scope was asked for: oras-py reuses one token for a
        whole push, so a pull-only token would fail the push that follows."""
        parsed = parse_token(cairn_token)
        if parsed is None:
            raise Unauthenticated("the password is not a Cairn API token")
        self.identity.authenticate(cairn_token, request_id)
        expires = int(self.identity.db.clock().timestamp()) + self.lifetime
        token = registry_tokens.mint(parsed[0], secret_hash(parsed[1]), expires)
        return IssuedRegistryToken(token, self.lifetime)

    def authenticate(self, raw: str, request_id: str | None) -> Authenticated:
        """The actor a registry token stands for; ``Unauthenticated`` saying why if none."""
        token = registry_tokens.read(raw)
        if token is None:
            raise Unauthenticated("the bearer token is neither a Cairn nor a registry token")
        if token.expires <= self.identity.db.clock().timestamp():
            raise Unauthenticated("the registry token has expired; ask the token endpoint again")
        return self.identity.authenticate_proof(
            token.token_id, lambda stored: registry_tokens.proves(token, stored), request_id
        )

"""The pages' browser sessions: signing in with a Cairn token opens one, signing out ends it.

A session stands for the token that opened it, checked again on every page: the token's
revocation or expiry, or its principal being disabled, ends the session too, and the session
acts with exactly the token's roles and scopes. The browser holds only a random secret (in an
HttpOnly cookie); the database holds its SHA-256, so a copy of the database opens no session.
A session lasts ``SESSION_HOURS`` at most, never past its token's expiry.

The CSRF token of a session's forms is derived from its secret (``csrf_token``): a page that
can read it is one the session's own browser loaded from this server.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from cairn.errors import Unauthenticated
from cairn.services.auth import SYSTEM, Actor, Permission
from cairn.services.identity import IdentityService
from cairn.services.uow import Database

SESSION_HOURS = 12
_URLSAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


@dataclass(frozen=True, slots=True)
class OpenedSession:
    secret: str  # the cookie's value; shown to nobody else
    actor: Actor
    max_age: int  # seconds, for the cookie


class SessionService:
    def __init__(self, db: Database, identity: IdentityService) -> None:
        self.db = db
        self.identity = identity

    def sign_in(self, raw_token: str, request_id: str | None) -> OpenedSession:
        """A new session for the holder of ``raw_token`` (``Unauthenticated`` if the token is
        not one that would be accepted on the API)."""
        actor = self.identity.authenticate(raw_token.strip(), request_id).actor
        if actor.token_id is None:  # every token carries its id; a guard for the type checker
            raise Unauthenticated("the token is not known")
        secret = secrets.token_urlsafe(32)
        with self.db.write(SYSTEM, Permission.READ, None) as uow:
            now = uow.now
            ends = now + timedelta(hours=SESSION_HOURS)
            token = uow.store.identity.tokens(None, actor.token_id)[0]
            if token.expires_at is not None:
                ends = min(ends, token.expires_at)
            uow.store.sessions.add(_hash(secret), actor.token_id, now, ends)
            uow.record("session.open", actor.name, event=False, token_id=actor.token_id)
        return OpenedSession(secret, actor, max(1, int((ends - now).total_seconds())))

    def actor(self, secret: str, request_id: str | None) -> Actor:
        """The actor of the session whose cookie holds ``secret``."""
        if not _well_formed(secret):
            raise Unauthenticated("sign in again")
        with self.db.single_read() as store:
            found = store.sessions.find(_hash(secret))
        if found is None or found[1] <= self.db.clock():
            raise Unauthenticated("the session has ended; sign in again")
        authenticated = self.identity.authenticate_proof(found[0], lambda _: True, request_id)
        return authenticated.actor

    def sign_out(self, secret: str, actor: Actor) -> None:
        """End the session (a session already gone is no error)."""
        if not _well_formed(secret):
            return
        with self.db.write(SYSTEM, Permission.READ, None) as uow:
            if uow.store.sessions.remove(_hash(secret)):
                uow.record("session.close", actor.name, event=False, token_id=actor.token_id)

    def purge_expired(self) -> int:
        with self.db.write(SYSTEM, Permission.READ, None) as uow:
            return uow.store.sessions.purge_expired(uow.now)


def csrf_token(secret: str) -> str:
    """The token the session's forms carry: tied to the session, useless without it."""
    return hmac.new(secret.encode(), b"cairn-csrf", hashlib.sha256).hexdigest()


def csrf_matches(secret: str, given: str) -> bool:
    return hmac.compare_digest(csrf_token(secret), given)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _well_formed(secret: str) -> bool:
    return len(secret) == 43 and set(secret) <= _URLSAFE

"""The pages' sessions, called directly: a session acts as the token that opened it, ends with
it, ends when signed out or past its time, and only its hash is stored; and the home page's
recent activity shows each actor only what it may read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cairn.errors import Unauthenticated
from cairn.services.auth import LOCAL_ADMIN, Actor, Role
from cairn.services.container import Services
from cairn.services.sessions import SESSION_HOURS, SessionService, csrf_matches, csrf_token
from cairn.services.uow import Database
from cairn.storage.sql.tables import web_sessions


def _token(svc: Services, name: str, namespace: str, role: str) -> str:
    svc.identity.create_principal(LOCAL_ADMIN, name, "user")
    svc.identity.grant(LOCAL_ADMIN, name, namespace, role)
    return svc.identity.create_token(LOCAL_ADMIN, name="pages", principal=name).secret


def test_a_session_acts_as_its_token_and_ends_with_it(services: Services) -> None:
    token = _token(services, "rita", "default", "reader")
    opened = services.sessions.sign_in(token, None)
    actor = services.sessions.actor(opened.secret, None)
    assert actor.name == "rita" and actor.roles == {"default": frozenset({Role.READER})}
    assert 0 < opened.max_age <= SESSION_HOURS * 3600
    with services.db.engine.connect() as conn:
        stored = conn.execute(select(web_sessions.c.secret_hash)).scalars().all()
    assert len(stored) == 1 and opened.secret not in stored[0]  # a hash, not the secret

    services.identity.revoke_token(LOCAL_ADMIN, actor.token_id or "")
    with pytest.raises(Unauthenticated, match="revoked"):
        services.sessions.actor(opened.secret, None)


def test_signing_out_ends_the_session_and_a_stranger_s_secret_opens_nothing(
    services: Services,
) -> None:
    token = _token(services, "sam", "default", "writer")
    opened = services.sessions.sign_in(token, None)
    for forged in ("", "x" * 43, opened.secret[:-1] + ("A" if opened.secret[-1] != "A" else "B")):
        with pytest.raises(Unauthenticated):
            services.sessions.actor(forged, None)
    services.sessions.sign_out(opened.secret, Actor("sam"))
    with pytest.raises(Unauthenticated, match="ended"):
        services.sessions.actor(opened.secret, None)
    services.sessions.sign_out(opened.secret, Actor("sam"))  # twice: no error
    with pytest.raises(Unauthenticated):
        services.sessions.sign_in("cairn_not_a_token", None)


def test_a_session_ends_after_its_hours_and_is_purged(services: Services) -> None:
    opened = services.sessions.sign_in(_token(services, "tom", "default", "reader"), None)
    later = datetime.now(UTC) + timedelta(hours=SESSION_HOURS, minutes=1)
    after = SessionService(Database(services.db.engine, lambda: later), services.identity)
    with pytest.raises(Unauthenticated, match="ended"):
        after.actor(opened.secret, None)
    assert services.sessions.purge_expired() == 0
    assert after.purge_expired() == 1


def test_the_csrf_token_is_the_session_s_own() -> None:
    mine, theirs = "a" * 43, "b" * 43
    assert csrf_matches(mine, csrf_token(mine))
    assert not csrf_matches(mine, csrf_token(theirs)) and not csrf_matches(mine, "")


def test_recent_activity_shows_only_what_the_actor_may_read(services: Services) -> None:
    services.namespaces.create(LOCAL_ADMIN, "risk")
    services.namespaces.create(LOCAL_ADMIN, "ops")
    reader = Actor("r", roles={"risk": frozenset({Role.READER})})
    nobody = Actor("n")
    everything = {(e.action, e.subject) for e in services.audit.recent(LOCAL_ADMIN, 50)}
    assert {("namespace.create", "risk"), ("namespace.create", "ops")} <= everything
    assert services.audit.recent(nobody) == []
    # A namespace's creation stands above namespaces (global admins read it); a reader of
    # risk sees what happens inside risk only.
    services.models.create(LOCAL_ADMIN, "risk", "fraud", {})
    services.models.create(LOCAL_ADMIN, "ops", "churn", {})
    seen = [(e.action, e.subject) for e in services.audit.recent(reader)]
    assert seen and all(subject.startswith("risk/") for _, subject in seen), seen
    newest = services.audit.recent(LOCAL_ADMIN, 2)
    assert newest[0].leaf_index is not None and newest[1].leaf_index is not None
    assert newest[0].leaf_index > newest[1].leaf_index

from __future__ import annotations

import hashlib

from cairn.domain.tokens import PREFIX, new_token, parse_token, secret_hash, secret_matches


def test_a_new_token_parses_back_into_its_id_and_secret() -> None:
    token_id, secret, token = new_token()
    assert token.startswith(PREFIX)
    assert parse_token(token) == (token_id, secret)
    assert len(secret) == 43  # 256 random bits, URL-safe base64


def test_tokens_are_unique() -> None:
    assert len({new_token()[2] for _ in range(200)}) == 200


def test_malformed_tokens_do_not_parse() -> None:
    _, _, token = new_token()
    for bad in ["", "cairn_", token[:-1], token + "x", token.upper(), "Bearer " + token]:
        assert parse_token(bad) is None, bad


def test_only_the_secret_hash_is_kept_and_compared() -> None:
    _, secret, _ = new_token()
    stored = secret_hash(secret)
    assert stored == hashlib.sha256(secret.encode()).hexdigest()
    assert secret_matches(secret, stored)
    assert not secret_matches(secret[:-1] + ("A" if secret[-1] != "A" else "B"), stored)

"""The proof a server gives of holding its data folder's key is bound to the challenge, the key
and the address it accepted the connection on, spelled one way per address."""

from cairn.domain.server_identity import canonical_host, new_challenge, new_key, proof, server_id


def test_a_proof_changes_with_the_challenge_the_key_and_the_address() -> None:
    key, other = new_key(), new_key()
    challenge = new_challenge()
    base = proof(key, challenge, "127.0.0.1", 8080)
    assert base == proof(key, challenge, "127.0.0.1", 8080)
    assert base != proof(key, new_challenge(), "127.0.0.1", 8080)
    assert base != proof(other, challenge, "127.0.0.1", 8080)
    assert base != proof(key, challenge, "127.0.0.1", 8081)
    assert base != proof(key, challenge, "127.0.0.2", 8080)
    assert server_id(key) != server_id(other) and server_id(key).startswith("srv_")


def test_an_address_has_one_spelling() -> None:
    assert canonical_host("::ffff:127.0.0.1") == "127.0.0.1"
    assert canonical_host("0:0:0:0:0:0:0:1") == "::1"
    assert canonical_host("LOCALHOST") == "localhost"
    challenge = new_challenge()
    key = new_key()
    assert proof(key, challenge, "::ffff:127.0.0.1", 1) == proof(key, challenge, "127.0.0.1", 1)

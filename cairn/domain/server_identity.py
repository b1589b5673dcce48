"""Which server is this: the key a server keeps in its data folder, the public id derived from
it, and the proof by which a server shows a client on the same machine that it holds that key.

The CLI and the SDK send the local admin token (``<data dir>/admin-token``) only to the server
whose data folder wrote it. Asking for the id alone would not do: any process can repeat a
public id, or forward the question to the real server and pass its answer back. So the client
sends a fresh challenge, and the server answers with an HMAC, keyed by the data folder's key,
over that challenge and the local address on which it accepted the connection. The client,
which reads the same key from the data folder, recomputes it for the address it connected to:
another program cannot compute it without the key (the file is 0600), and a forwarder on
another address or port passes on an answer that names the real server's address, not its
own, so the client refuses it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets

KEY_BYTES = 32
CHALLENGE = re.compile(r"[0-9a-f]{32,128}")


def new_key() -> bytes:
    return secrets.token_hex(KEY_BYTES).encode("ascii")


def server_id(key: bytes) -> str:
    """The server's public id: names it in answers and hints, proves nothing by itself."""
    return "srv_" + hmac.new(key, b"cairn server id", hashlib.sha256).hexdigest()[:24]


def proof(key: bytes, challenge: str, host: str, port: int) -> str:
    """What the server holding ``key`` answers to ``challenge`` on a connection it accepted
    at ``host``:``port`` (its own address, not the caller's)."""
    message = f"cairn server proof\n{challenge}\n{canonical_host(host)}\n{port}"
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def new_challenge() -> str:
    return secrets.token_hex(16)


def canonical_host(host: str) -> str:
    """One spelling per address: ``::ffff:127.0.0.1`` (an IPv4 connection accepted by a
    dual-stack socket) is ``127.0.0.1``, as the client that connected to it writes it."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host.lower()
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)

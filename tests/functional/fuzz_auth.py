"""schemathesis's credentials for the fuzz test (loaded with ``SCHEMATHESIS_HOOKS``).

The fuzz runs as a global admin, and a global admin may revoke any token, its own included:
the generated ``DELETE /tokens/{id}``, with an id from a listing, does so again and again in
the stateful phase. The test therefore hands schemathesis a pool of admin tokens of two
principals (``CAIRN_FUZZ_TOKENS``), and schemathesis asks for another whenever an answer is a
401 (``retry_on``): the first of the pool that the server still takes. When the pool runs low,
the token in hand makes more for its own principal, so that the run never stalls for want of
one (schemathesis waits 30 s after each failed fetch). Revoking tokens stays in the fuzz, as
every other operation does.
"""

from __future__ import annotations

import os
import threading

import httpx
import schemathesis
from schemathesis import Case
from schemathesis.auths import AuthContext

LOW = 10
REFILL = 20
_pool: list[str] = []
_lock = threading.Lock()


@schemathesis.auth(refresh_interval=3600, retry_on=[401])
class AdminTokenPool:
    def get(self, case: Case, context: AuthContext) -> str:
        url = os.environ["CAIRN_FUZZ_URL"] + "/api/v1"
        with _lock:
            if not _pool:
                _pool.extend(os.environ["CAIRN_FUZZ_TOKENS"].split(","))
            while _pool:
                headers = {"Authorization": f"Bearer {_pool[0]}"}
                if httpx.get(f"{url}/whoami", headers=headers).status_code == 200:
                    break
                _pool.pop(0)
            else:
                raise RuntimeError("the fuzz revoked every token of the pool at once")
            if len(_pool) < LOW:
                for number in range(REFILL):
                    body = {"name": f"fuzz-refill-{number}"}
                    made = httpx.post(f"{url}/tokens", json=body, headers=headers)
                    if made.status_code == 201:
                        _pool.append(made.json()["secret"])
            return _pool[0]

    def set(self, case: Case, data: str, context: AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

"""schemathesis's credentials for the fuzz test (loaded with ``SCHEMATHESIS_HOOKS``).

The fuzz runs as a global admin, and a global admin may revoke any token, its own included:
the generated ``DELETE /tokens/{id}``, with an id from a listing, does so sooner or later. The
test therefore hands schemathesis a pool of admin tokens of two principals
(``CAIRN_FUZZ_TOKENS``), and schemathesis asks for another whenever an answer is a 401
(``retry_on``): the first of the pool that the server still takes. Revoking tokens stays in
the fuzz, as every other operation does.
"""

from __future__ import annotations

import os

import httpx
import schemathesis
from schemathesis import Case
from schemathesis.auths import AuthContext


@schemathesis.auth(refresh_interval=3600, retry_on=[401])
class AdminTokenPool:
    def get(self, case: Case, context: AuthContext) -> str:
        url = os.environ["CAIRN_FUZZ_URL"]
        for token in os.environ["CAIRN_FUZZ_TOKENS"].split(","):
            headers = {"Authorization": f"Bearer {token}"}
            if httpx.get(f"{url}/api/v1/whoami", headers=headers).status_code == 200:
                return token
        raise RuntimeError("the fuzz revoked every token of the pool")

    def set(self, case: Case, data: str, context: AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

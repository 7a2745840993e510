"""Who is asking: the service's API keys and the tenants they belong to.

``REID_API_KEYS`` lists ``name=key`` pairs (``alice=k1,bob=k2``); several keys may share a
name, so a tenant can rotate its key without losing its tasks. A bare key (the older form,
``k1,k2``) still works: its tenant is named ``key-`` and the first 12 hex digits of the key's
SHA-256, a name that is stable across restarts and safe to print, as the key is not. The
tenant, never the key, is what owns tasks and what logs and audits name.

With no key configured every request is the one tenant ``local`` (the service then listens
only on loopback).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field

from tools.reid.errors import InvalidInput

LOCAL_TENANT = "local"
"""The tenant of every request when no key is configured."""
TENANT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
"""A tenant's name: printable in a log line and a file name, without spaces or separators."""


def unnamed_tenant(key: str) -> str:
    """The name of a key given without one."""
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class ApiKeys:
    """The accepted keys, each with the name of its tenant."""

    tenants: dict[str, str] = field(default_factory=dict)
    """key -> tenant name."""

    @classmethod
    def parse(cls, text: str) -> ApiKeys:
        """Read ``REID_API_KEYS``: comma-separated ``name=key`` or bare keys.

        A key containing ``=`` must be given with a name (the first ``=`` separates them);
        ``=`` only at the end (base64 padding) still reads as a bare key.

        Raises:
            InvalidInput: a name that is not a plain word, or one key given two names.
        """
        tenants: dict[str, str] = {}
        for entry in (part.strip() for part in text.split(",")):
            if not entry:
                continue
            name, _, key = entry.partition("=")
            if not key.strip("="):
                name, key = unnamed_tenant(entry), entry
            name, key = name.strip(), key.strip()
            if not TENANT_NAME.fullmatch(name):
                raise InvalidInput(
                    f"REID_API_KEYS: the tenant name {name[:40]!r} is not usable: use letters, digits "
                    "and . _ @ - (up to 64), as in REID_API_KEYS='alice=<key>,bob=<key>'."
                )
            if tenants.get(key, name) != name:
                raise InvalidInput(
                    f"REID_API_KEYS gives one key two tenant names ({tenants[key]!r} and {name!r}): "
                    "give each key one name."
                )
            tenants[key] = name
        return cls(tenants)

    @property
    def open(self) -> bool:
        """No key configured: every request is accepted, as the tenant ``local``."""
        return not self.tenants

    def names(self) -> set[str]:
        return set(self.tenants.values()) or {LOCAL_TENANT}

    def tenant(self, authorization: str | None) -> str | None:
        """The tenant whose key the ``Authorization`` header carries (bare or ``Bearer``), or None."""
        if self.open:
            return LOCAL_TENANT
        given = (authorization or "").strip().removeprefix("Bearer ").strip().encode()
        # Compare with every key, not stopping at a match, so timing tells nothing about which is close.
        found = None
        for key, name in self.tenants.items():
            if hmac.compare_digest(given, key.encode()):
                found = name
        return found

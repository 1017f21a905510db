"""Signed-in sessions kept in Redis, so that signing out ends a session for good.

The pages' session is a signed cookie; the cookie alone would stay valid, copied or saved,
until it expires. So each sign-in gets a random id kept in Redis with the user's name, the
cookie carries the id, and every request checks it: signing out deletes it. A session lives
`LIFETIME_S` from sign-in at most. A new password or a removed user ends sessions through the
password fingerprint the cookie also carries (ivr/web/auth.py).
"""

from __future__ import annotations

import secrets

import redis

from routing.exceptions import StoreUnavailable
from routing.keys import Keys
from routing.store import RedisClient

LIFETIME_S = 12 * 60 * 60  # one working day and a bit; the cookie lasts as long


class Sessions:
    """Session ids in Redis, each naming the user it was started for."""

    def __init__(self, redis_client: RedisClient, keys: Keys) -> None:
        self.redis = redis_client
        self.keys = keys

    def start(self, name: str) -> str:
        """Start a session for `name`; return its id (for the cookie)."""
        session_id = secrets.token_urlsafe(24)
        try:
            self.redis.set(self.keys.session(session_id), name, ex=LIFETIME_S)
        except redis.RedisError as exc:
            raise StoreUnavailable(f"sessions: {exc}") from exc
        return session_id

    def alive(self, session_id: str, name: str) -> bool:
        """True while the session `session_id` of `name` has not ended."""
        try:
            found = self.redis.get(self.keys.session(session_id))
        except redis.RedisError as exc:
            raise StoreUnavailable(f"sessions: {exc}") from exc
        return bool(found == name)

    def end(self, session_id: str) -> None:
        """End a session (signing out): its cookie opens nothing any more."""
        try:
            self.redis.delete(self.keys.session(session_id))
        except redis.RedisError as exc:
            raise StoreUnavailable(f"sessions: {exc}") from exc

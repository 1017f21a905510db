"""People who sign in to the pages: agents (linked to an agent id) and supervisors.

Passwords are kept only as werkzeug hashes. Sign-in attempts are limited over a sliding
15-minute window (time from the injected clock) per user name and address, per address and in
all. An attempt first reserves its place in all three in one transaction, so parallel guesses
see each other: with a limit of 5, 200 parallel wrong passwords get 5 password checks, not
the 65 that checking the count first and writing it after let through. A good password gives
its place back; a bad one keeps it until it ages out.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

import redis
from werkzeug.security import check_password_hash, generate_password_hash

from routing.clock import Clock, epoch_ms
from routing.exceptions import StoreUnavailable
from routing.keys import Keys
from routing.store import RedisClient

Role = Literal["agent", "supervisor"]
ROLES: tuple[Role, ...] = ("agent", "supervisor")
WINDOW_MS = 15 * 60 * 1000
MIN_PASSWORD = 8
DEMO_SUPERVISOR = "supervisor"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
# werkzeug's default, said here: scrypt with N = 2**15, r = 8, p = 1, about 0.1 s of CPU a
# hash on a 2-core test machine, which is what makes guessing passwords expensive. A check
# reads the method from the stored hash. (The tests make their users with a cheaper N:
# tests/conftest.py, `cheap_password_hashes`.)
PASSWORD_METHOD = "scrypt:32768:8:1"
# Checked when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("silverline-no-such-user", PASSWORD_METHOD)


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    agent_id: str  # the agent this user is; "" for supervisors
    password_hash: str = field(repr=False)

    def check(self, password: str) -> bool:
        """Return True when `password` is this user's."""
        return check_password_hash(self.password_hash, password)

    @property
    def fingerprint(self) -> str:
        """A short digest of the hash: sessions carry it, so a new password ends them."""
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: the user, or None; throttled when over a limit.

    `known` says whether the name typed is a user's (a password typed into the name field is
    not, and is not to be kept); `first_throttled` marks the first attempt turned away in a
    window, the one an audit trail notes (the rest are only counted away).
    """

    user: User | None
    throttled: bool = False
    known: bool = False
    first_throttled: bool = False


class DemoAgent(Protocol):
    """What seeding needs of an agent (routing.queues.agents.Agent has it)."""

    @property
    def id(self) -> str: ...


class Users:
    """The user store in Redis."""

    def __init__(
        self,
        redis_client: RedisClient,
        clock: Clock,
        keys: Keys,
        attempts: int,
        per_address: int = 20,
        total: int = 100,
    ) -> None:
        self.redis = redis_client
        self.clock = clock
        self.keys = keys
        self.attempts = attempts
        self.per_address = per_address
        self.total = total

    def add(self, name: str, password: str, role: str, agent_id: str = "") -> User:
        """Create a user; ValueError when the name is taken or a field is invalid."""
        user = _new_user(name, password, role, agent_id)
        with _store_errors():
            if not self.redis.hsetnx(self.keys.user(user.name), "role", user.role):
                raise ValueError(f"user {user.name!r} already exists")
            self._write(user)
        return user

    def get(self, name: str) -> User | None:
        """Return the user called `name`, or None."""
        with _store_errors():
            fields = self.redis.hgetall(self.keys.user(name.lower()))
        return _decode(name.lower(), fields) if fields.get("password_hash") else None

    def all(self) -> list[User]:
        """Every user, sorted by name."""
        with _store_errors():
            names = sorted(self.redis.smembers(self.keys.users()))
        return [user for user in map(self.get, names) if user is not None]

    def remove(self, name: str) -> bool:
        """Delete a user (their sessions end at the next request); False when unknown."""
        with _store_errors():
            pipe = self.redis.pipeline(transaction=False)
            pipe.delete(self.keys.user(name.lower()))
            pipe.srem(self.keys.users(), name.lower())
            deleted, _ = pipe.execute()
        return bool(deleted)

    def set_password(self, name: str, password: str) -> User:
        """Replace a user's password (ending their sessions); ValueError when unknown."""
        user = self.get(name)
        if user is None:
            raise ValueError(f"no user {name!r}")
        updated = _new_user(user.name, password, user.role, user.agent_id)
        with _store_errors():
            self._write(updated)
        return updated

    def sign_in(self, name: str, password: str, address: str) -> SignIn:
        """Check a password within the attempt limits; refuse unchecked when over one."""
        name = name.strip().lower()[:64]
        place = self._reserve(name, address)
        if place is None:
            first = self._first_throttled()
            known = first and self._exists(name)
            return SignIn(None, throttled=True, known=known, first_throttled=first)
        user = self.get(name) if _NAME.match(name) else None
        if user is not None and user.check(password):
            self._give_back(name, address, place)
            return SignIn(user, known=True)
        if user is None:
            check_password_hash(_DUMMY_HASH, password)
        return SignIn(None, known=user is not None)

    def failures(self, name: str, address: str) -> int:
        """Failed sign-ins of `name` from `address` in the last 15 minutes."""
        key = self.keys.login_failures(name.strip().lower()[:64], address)
        now = epoch_ms(self.clock.now())
        with _store_errors():
            pipe = self.redis.pipeline(transaction=False)
            pipe.zremrangebyscore(key, "-inf", now - WINDOW_MS)
            pipe.zcard(key)
            _, count = pipe.execute()
        return int(count)

    def _reserve(self, name: str, address: str) -> str | None:
        """Take a place for this attempt under every limit, or None (and no place) when full.

        The name's and the address's limits come first, so an address over its own limit
        never takes places in the total that would shut everyone else out.
        """
        now = epoch_ms(self.clock.now())
        place = f"{now}:{secrets.token_hex(4)}"
        own = [
            (self.keys.login_failures(name, address), self.attempts),
            (self.keys.login_failures_from(address), self.per_address),
        ]
        if not self._take(own, now, place):
            return None
        if not self._take([(self.keys.login_failures_all(), self.total)], now, place):
            self._release([key for key, _ in own], place)
            return None
        return place

    def _take(self, limits: list[tuple[str, int]], now: int, place: str) -> bool:
        """Add `place` to each window in one transaction; remove it when any is over."""
        with _store_errors():
            pipe = self.redis.pipeline(transaction=True)  # one hash tag: one slot
            for key, _ in limits:
                pipe.zremrangebyscore(key, "-inf", now - WINDOW_MS)
                pipe.zadd(key, {place: now})
                pipe.zcard(key)
                pipe.pexpire(key, WINDOW_MS)
            counts = pipe.execute()[2::4]
        if all(int(n) <= limit for n, (_, limit) in zip(counts, limits, strict=True)):
            return True
        self._release([key for key, _ in limits], place)  # the window holds only the admitted
        return False

    def _release(self, keys: list[str], place: str) -> None:
        with _store_errors():
            pipe = self.redis.pipeline(transaction=False)
            for key in keys:
                pipe.zrem(key, place)
            pipe.execute()

    def _give_back(self, name: str, address: str, place: str) -> None:
        """A good password: its place is not a failure, and the name's failures are forgiven."""
        self._release([self.keys.login_failures_from(address), self.keys.login_failures_all()],
                      place)  # fmt: skip
        with _store_errors():
            self.redis.delete(self.keys.login_failures(name, address))

    def _first_throttled(self) -> bool:
        """True for the first attempt turned away in a 15-minute window."""
        key = self.keys.login_throttle_noted()
        with _store_errors():
            return bool(self.redis.set(key, "1", nx=True, px=WINDOW_MS))

    def _exists(self, name: str) -> bool:
        return bool(_NAME.match(name)) and self.get(name) is not None

    def _write(self, user: User) -> None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(
            self.keys.user(user.name),
            mapping={
                "role": user.role,
                "agent_id": user.agent_id,
                "password_hash": user.password_hash,
            },
        )
        pipe.sadd(self.keys.users(), user.name)
        pipe.execute()


def seed_demo_users(
    users: Users, agents: Iterable[DemoAgent], known: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Ensure a demo supervisor and one user per agent; return name -> password.

    A user whose password in `known` (what was printed last time) still works keeps it;
    every other demo user gets a fresh random password.
    """
    wanted: list[tuple[str, Role, str]] = [(DEMO_SUPERVISOR, "supervisor", "")]
    wanted += [(agent.id.lower(), "agent", agent.id) for agent in agents]
    known = known or {}
    out: dict[str, str] = {}
    for name, role, agent_id in wanted:
        out[name] = _seed_one(users, name, role, agent_id, known.get(name, ""))
    return out


def _seed_one(users: Users, name: str, role: Role, agent_id: str, known: str) -> str:
    user = users.get(name)
    if user is not None and known and user.check(known):
        return known
    password = secrets.token_urlsafe(9)
    if user is None:
        users.add(name, password, role, agent_id)
    else:
        users.set_password(name, password)
    return password


def _new_user(name: str, password: str, role: str, agent_id: str) -> User:
    name = name.strip().lower()
    if not _NAME.match(name):
        raise ValueError("user name must be 1-32 of a-z 0-9 . _ - (starting with a letter/digit)")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if role == "agent" and not agent_id:
        raise ValueError("an agent user needs the agent id they sign in as")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"password must be at least {MIN_PASSWORD} characters")
    agent = agent_id if role == "agent" else ""
    return User(name, role, agent, generate_password_hash(password, PASSWORD_METHOD))


def _decode(name: str, fields: Mapping[str, str]) -> User | None:
    role = fields.get("role", "")
    if role not in ROLES:
        return None
    return User(name, role, fields.get("agent_id", ""), fields["password_hash"])


class _store_errors:  # noqa: N801  (used as a lower-case context manager, like a function)
    """Turn redis-py errors into StoreUnavailable at the boundary."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, redis.RedisError):
            raise StoreUnavailable(f"user store: {exc}") from exc

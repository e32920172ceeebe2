"""Organizations, API clients, users, and the tokens they act with.

Tokens are JWTs signed with HS256 (PyJWT). A verified token is checked against the
database for revocation (a logged-out token, a revoked client, a deleted user); a token
that passed stays trusted for ``token_check_seconds``, so that the check costs one query
per token and interval rather than one per request. Revocations made by this process
take effect at once; those made elsewhere within that interval.
"""

import asyncio
import base64
import hashlib
import hmac
import math
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from rma_graphql.config import Settings
from rma_graphql.db import account_repository as store
from rma_graphql.db.errors import DuplicateRowError
from rma_graphql.domain.access import ROLE_SCOPES, SCOPES, Caller, Role, unknown_scopes
from rma_graphql.domain.errors import BadUserInputError, ForbiddenError
from rma_graphql.domain.statuses import ActorType
from rma_graphql.service import users
from rma_graphql.service.records import AppUserRecord, record
from rma_graphql.service.unit_of_work import UnitOfWork
from rma_graphql.service.users import check_email, check_password, check_username
from rma_graphql.service.users import create_user as create_user

ISSUER = "rma_graphql"
ALGORITHM = "HS256"
SIGNING_KEY_NAME = "token_signing_key"
DEMO_ORGANIZATION_NAME = "Demo organization"
DEMO_CLIENT_NAME = "Demo client"
MIN_SIGNING_KEY_LENGTH = 32


class AuthenticationError(Exception):
    """A missing, malformed, tampered, expired or revoked token (HTTP 401)."""


class InvalidClientError(Exception):
    """OAuth2 ``invalid_client``: unknown client, wrong secret, or not the client's organization."""


class InvalidScopeError(Exception):
    """OAuth2 ``invalid_scope``: a scope the client does not have, or no such scope."""


@dataclass(frozen=True)
class PasswordPolicy:
    """Argon2id cost: a setting, so that tests hash fast and production hashes slowly."""

    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 4

    def hasher(self) -> PasswordHasher:
        return PasswordHasher(
            time_cost=self.time_cost, memory_cost=self.memory_kib, parallelism=self.parallelism, type=Type.ID
        )


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int
    scopes: frozenset[str]
    token_id: str


def hash_client_secret(secret: str) -> str:
    # Client secrets are 256-bit random values: a fast hash cannot be brute-forced, and
    # the token endpoint stays cheap. Passwords, chosen by people, get Argon2id.
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def scope_text(scopes: Iterable[str]) -> str:
    return " ".join(sorted(scopes))


class Accounts:
    """Issues and verifies tokens; signs users up and in; revokes tokens."""

    def __init__(
        self,
        uow: UnitOfWork,
        signing_key: str,
        *,
        token_ttl_seconds: int = 3600,
        token_check_seconds: float = 1.0,
        passwords: PasswordPolicy | None = None,
        portal_token_ttl_seconds: int = 1800,
    ) -> None:
        self.uow = uow
        self.portal_token_ttl_seconds = portal_token_ttl_seconds
        self._key = signing_key
        self.token_ttl_seconds = token_ttl_seconds
        self.token_check_seconds = token_check_seconds
        self._hasher = (passwords or PasswordPolicy()).hasher()
        # A hash to verify against when the user does not exist, so that an unknown
        # username takes as long as a wrong password.
        self._decoy_hash = self._hasher.hash(secrets.token_urlsafe(16))
        # token id -> monotonic time until which the token is trusted without a query.
        self._trusted: dict[str, float] = {}
        # The check of a token running now: concurrent requests with it wait for that one.
        self._checking: dict[str, asyncio.Future[bool]] = {}
        # token -> the caller its verified claims made: a token is decoded and its signature
        # checked once; expiry and revocation are still checked on every use.
        self._callers: dict[str, Caller] = {}

    def sign(self, message: str) -> str:
        """An HMAC of ``message`` under the server's signing key (for signed links)."""
        digest = hmac.new(self._key.encode(), message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def verify(self, message: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(message), signature)

    @classmethod
    async def start(
        cls,
        uow: UnitOfWork,
        *,
        signing_key: str | None = None,
        token_ttl_seconds: int = 3600,
        token_check_seconds: float = 1.0,
        passwords: PasswordPolicy | None = None,
        portal_token_ttl_seconds: int = 1800,
    ) -> "Accounts":
        key = signing_key or await shared_signing_key(uow)
        if len(key) < MIN_SIGNING_KEY_LENGTH:
            raise ValueError(f"the token signing key must be at least {MIN_SIGNING_KEY_LENGTH} characters")
        return cls(
            uow,
            key,
            token_ttl_seconds=token_ttl_seconds,
            token_check_seconds=token_check_seconds,
            passwords=passwords,
            portal_token_ttl_seconds=portal_token_ttl_seconds,
        )

    @classmethod
    async def from_settings(cls, uow: UnitOfWork, settings: Settings) -> "Accounts":
        return await cls.start(
            uow,
            signing_key=settings.token_secret,
            token_ttl_seconds=settings.token_ttl_seconds,
            token_check_seconds=settings.token_check_seconds,
            portal_token_ttl_seconds=settings.portal_token_ttl_seconds,
            passwords=PasswordPolicy(
                settings.password_time_cost, settings.password_memory_kib, settings.password_parallelism
            ),
        )

    # Tokens

    def issue(
        self,
        *,
        organization_id: str,
        subject: str,
        kind: ActorType,
        name: str,
        scopes: frozenset[str],
        role: Role | None = None,
        customer_id: str | None = None,
        order_id: str | None = None,
        ttl_seconds: int | None = None,
    ) -> IssuedToken:
        now = time.time()
        token_id = str(uuid.uuid4())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": subject,
            "org": organization_id,
            "kind": kind.value,
            "name": name,
            "scope": scope_text(scopes),
            "jti": token_id,
            # To the millisecond (a NumericDate may have a fraction): a rotated secret or a
            # changed password ends exactly the tokens issued before it.
            "iat": math.floor(now * 1000) / 1000,
            # Rounded up: a token lasts at least the expires_in it is given with (a TTL of
            # one second truncated to whole seconds could otherwise end at once).
            "exp": math.ceil(now) + (ttl_seconds or self.token_ttl_seconds),
        }
        if role is not None:
            claims["role"] = role.value
        if customer_id is not None:
            claims["cus"] = customer_id
        if order_id is not None:
            claims["ord"] = order_id
        token = jwt.encode(claims, self._key, algorithm=ALGORITHM)
        return IssuedToken(token, ttl_seconds or self.token_ttl_seconds, scopes, token_id)

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "jti", "sub", "iss"]},
            )
        except jwt.PyJWTError as error:
            raise AuthenticationError(str(error)) from None
        return claims

    async def authenticate(self, token: str) -> Caller:
        """The caller a bearer token stands for, or ``AuthenticationError``."""
        caller = self._callers.get(token)
        if caller is None:
            caller = self._caller_of(token)
            if len(self._callers) >= 10_000:
                self._callers.clear()
            self._callers[token] = caller
        if not await self.still_valid(caller):
            raise AuthenticationError("expired or revoked")
        return caller

    def _caller_of(self, token: str) -> Caller:
        """The caller of a token whose signature and claims are verified."""
        claims = self._decode(token)
        try:
            kind = ActorType(claims["kind"])
            role = Role(claims["role"]) if "role" in claims else None
            scopes = frozenset(str(claims["scope"]).split())
            caller = Caller(
                organization_id=str(claims["org"]),
                actor={"type": kind.value, "id": str(claims["sub"]), "name": str(claims["name"])},
                scopes=scopes,
                role=role,
                token_id=str(claims["jti"]),
                expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
                issued_at=datetime.fromtimestamp(float(claims["iat"]), UTC),
                catalog_customer_id=str(claims["cus"]) if "cus" in claims else None,
                order_id=str(claims["ord"]) if "ord" in claims else None,
            )
        except (KeyError, ValueError, TypeError):
            raise AuthenticationError("malformed claims") from None
        return caller

    async def still_valid(self, caller: Caller) -> bool:
        """Whether the caller's token is unexpired and unrevoked (cached briefly; requests
        with the token that arrive while it is checked wait for that check)."""
        if caller.token_id is None:
            return True
        if caller.expires_at is not None and caller.expires_at <= _now():
            self._trusted.pop(caller.token_id, None)
            return False
        trusted_until = self._trusted.get(caller.token_id)
        now = time.monotonic()
        if trusted_until is not None and trusted_until > now:
            return True
        while (running := self._checking.get(caller.token_id)) is not None:
            await asyncio.wait([running])  # not cancelled with the request that checks
            if not running.cancelled():
                return running.result()  # or the check's error
        valid = await self._check_once(caller)
        if valid:
            if len(self._trusted) > 50_000:
                self._trusted = {k: v for k, v in self._trusted.items() if v > now}
            self._trusted[caller.token_id] = now + self.token_check_seconds
        else:
            self._trusted.pop(caller.token_id, None)
        return valid

    async def _check_once(self, caller: Caller) -> bool:
        """``_check``, that requests with the same token arriving meanwhile wait for."""
        assert caller.token_id is not None
        running = self._checking[caller.token_id] = asyncio.get_running_loop().create_future()
        try:
            valid = await self._check(caller)
        except asyncio.CancelledError:
            running.cancel()  # those waiting check for themselves
            raise
        except Exception as error:
            running.set_exception(error)
            running.exception()  # retrieved: no warning when nobody waited
            raise
        else:
            running.set_result(valid)
        finally:
            if self._checking.get(caller.token_id) is running:
                del self._checking[caller.token_id]
        return valid

    async def _check(self, caller: Caller) -> bool:
        assert caller.token_id is not None
        async with self.uow.read() as conn:
            if await store.is_revoked(conn, caller.token_id):
                return False
            if caller.order_id is not None:  # a portal guest: its order still stands
                return await store.order_exists(conn, caller.organization_id, caller.order_id)
            is_client = caller.actor["type"] == ActorType.API_CLIENT.value
            return await store.principal_exists(
                conn,
                caller.organization_id,
                caller.actor["id"],
                client=is_client,
                customer_id=caller.catalog_customer_id,
                token=(caller.token_id, caller.issued_at),
            )

    def recheck_subject(self, subject: str) -> None:
        """Check the tokens of this user or client again at their next use, in this process
        (other processes do within ``token_check_seconds``)."""
        for caller in self._callers.values():
            if caller.actor.get("id") == subject and caller.token_id is not None:
                self._trusted.pop(caller.token_id, None)

    def recheck_in(self, caller: Caller) -> float:
        """Seconds until the caller's token should be checked again (a subscription's timer)."""
        interval = max(self.token_check_seconds, 0.2)
        if caller.expires_at is None:
            return interval
        return max(0.0, min(interval, (caller.expires_at - _now()).total_seconds()))

    async def revoke(self, caller: Caller) -> None:
        """Log out: the caller's token is refused from now on."""
        if caller.token_id is None or caller.expires_at is None:
            return
        try:
            async with self.uow.transaction() as conn:
                await store.forget_revoked_before(conn, _now() - timedelta(days=1))
                if not await store.is_revoked(conn, caller.token_id):
                    await store.revoke_token(conn, caller.token_id, caller.expires_at, _now())
        except DuplicateRowError:
            pass  # a concurrent log-out of the same token revoked it first: done all the same
        self._trusted.pop(caller.token_id, None)

    # OAuth2 client credentials

    async def client_credentials(
        self,
        client_id: str,
        client_secret: str,
        organization_id: str | None,
        requested: frozenset[str] | None,
    ) -> IssuedToken:
        async with self.uow.read() as conn:
            client = await store.client(conn, client_id)
        supplied = hash_client_secret(client_secret)
        # Compare even for an unknown client, so that timing tells nothing.
        expected = client["secret_hash"] if client is not None else hash_client_secret(secrets.token_hex(32))
        if not hmac.compare_digest(supplied, expected) or client is None or client["revoked_at"] is not None:
            raise InvalidClientError("Client authentication failed.")
        if organization_id is not None and organization_id != client["organization_id"]:
            raise InvalidClientError("Client authentication failed.")
        allowed = frozenset(client["scopes"]) if client["scopes"] is not None else SCOPES
        if requested is not None:
            unknown = unknown_scopes(requested)
            if unknown:
                raise InvalidScopeError(f"Unknown scope: {', '.join(unknown)}.")
            missing = sorted(requested - allowed)
            if missing:
                raise InvalidScopeError(f"The client does not have the scope {', '.join(missing)}.")
        async with self.uow.transaction() as conn:
            await store.client_used(conn, client["id"], _now())
        return self.issue(
            organization_id=client["organization_id"],
            subject=client["id"],
            kind=ActorType.API_CLIENT,
            name=client["name"],
            scopes=requested if requested is not None else allowed,
        )

    async def token_issuer(self, client_id: str) -> Callable[[], IssuedToken]:
        """Issues tokens for a client this process trusts (the demo client, for GraphiQL)."""
        async with self.uow.read() as conn:
            client = await store.client(conn, client_id)
        assert client is not None  # the process created it
        scopes = frozenset(client["scopes"]) if client["scopes"] is not None else SCOPES

        def issue() -> IssuedToken:
            return self.issue(
                organization_id=client["organization_id"],
                subject=client["id"],
                kind=ActorType.API_CLIENT,
                name=client["name"],
                scopes=scopes,
            )

        return issue

    # Users

    async def hash_password(self, password: str) -> str:
        # Argon2id is deliberately slow: keep it off the event loop.
        return await asyncio.to_thread(self._hasher.hash, password)

    async def password_matches(self, password_hash: str, password: str) -> bool:
        try:
            return await asyncio.to_thread(self._hasher.verify, password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def change_password(self, caller: Caller, current: str, new: str) -> None:
        """A user changes its password with the current one; its other tokens end."""
        if caller.actor["type"] != ActorType.USER.value or caller.order_id is not None:
            raise ForbiddenError("Only a user who logged in has a password to change.")
        check_password(new, "new")
        async with self.uow.read() as conn:
            user = await store.user(conn, caller.organization_id, caller.actor["id"])
        if user is None or not await self.password_matches(user["password_hash"], current):
            raise BadUserInputError("The current password is not right.", "current")
        await users.set_password(self.uow, user["id"], await self.hash_password(new), caller.token_id)
        self.recheck_subject(user["id"])

    async def sign_up(
        self, *, username: str, email: str, password: str, organization_id: str
    ) -> tuple[IssuedToken, AppUserRecord]:
        """A new CUSTOMER of the organization, logged in."""
        check_username(username, "input.username")
        check_email(email, "input.email")
        check_password(password, "input.password")
        async with self.uow.read() as conn:
            allows = await store.allows_customer_sign_up(conn, organization_id)
        if allows is None:
            raise BadUserInputError(f"Unknown organization {organization_id}.", "input.organizationId")
        if not allows:
            raise ForbiddenError("This organization does not allow customers to sign up.")
        user = await create_user(
            self.uow,
            organization_id=organization_id,
            username=username,
            email=email,
            password_hash=await self.hash_password(password),
            role=Role.CUSTOMER,
        )
        return self._user_token(user), record(AppUserRecord, user)

    async def log_in(self, username: str, password: str) -> tuple[IssuedToken, AppUserRecord]:
        async with self.uow.read() as conn:
            user = await store.user_by_username(conn, username.casefold())
        stored = user["password_hash"] if user is not None else self._decoy_hash
        try:
            await asyncio.to_thread(self._hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            user = None
        if user is None:
            # One answer for an unknown user and a wrong password.
            raise BadUserInputError("Invalid username or password.", "password")
        if not user["active"]:
            raise BadUserInputError("This account is disabled.", "username")
        if self._hasher.check_needs_rehash(user["password_hash"]):
            # The cost setting went up since this password was hashed.
            new_hash = await self.hash_password(password)
            async with self.uow.transaction() as conn:
                await store.set_password_hash(conn, user["id"], new_hash)
        return self._user_token(user), record(AppUserRecord, user)

    def _user_token(self, user: Mapping[Any, Any]) -> IssuedToken:
        role = Role(user["role"])
        return self.issue(
            organization_id=user["organization_id"],
            subject=user["id"],
            kind=ActorType.USER,
            name=user["username"],
            scopes=ROLE_SCOPES[role],
            role=role,
            customer_id=user.get("customer_id") if role is Role.CUSTOMER else None,
        )


# Administration (the command line and the demo seed)


async def shared_signing_key(uow: UnitOfWork, name: str = SIGNING_KEY_NAME) -> str:
    """A key kept in the database (the token signing key by default), generated by whichever
    process needs it first."""
    async with uow.read() as conn:
        key = await store.server_secret(conn, name)
    if key is not None:
        return key
    try:
        async with uow.transaction() as conn:
            await store.add_server_secret(conn, name, secrets.token_urlsafe(48), _now())
    except DuplicateRowError:
        pass  # another process generated it first: use theirs
    async with uow.read() as conn:
        key = await store.server_secret(conn, name)
    assert key is not None
    return key

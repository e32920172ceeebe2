"""Password resets: a user who forgot its password asks for a link by email
(passwordResetRequest); the link's single-use token, valid an hour, sets a new password
(passwordReset) and ends every token the user holds. An administrator without mail prints
one with ``rma-graphql users reset-token``."""

import hashlib
import html
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from rma_graphql.db import account_repository as store
from rma_graphql.db import notification_repository as mail_store
from rma_graphql.domain.errors import BadUserInputError, NotFoundError
from rma_graphql.service.notification_sender import NotificationSender
from rma_graphql.service.unit_of_work import UnitOfWork
from rma_graphql.service.users import check_email, check_password

_MAIL = {
    "en": (
        "Reset your password",
        "Hello {username},\n\nSomeone (we hope you) asked to reset the password of your account. "
        "Open this link within {minutes} minutes to choose a new one; it works once:\n\n{link}\n\n"
        "If you did not ask, ignore this mail: your password stays as it is.\n",
    ),
    "fr": (
        "Réinitialisez votre mot de passe",
        "Bonjour {username},\n\nQuelqu'un (vous, nous l'espérons) a demandé à réinitialiser le mot de passe "
        "de votre compte. Ouvrez ce lien dans les {minutes} minutes pour en choisir un nouveau ; il ne sert "
        "qu'une fois :\n\n{link}\n\nSi vous n'avez rien demandé, ignorez ce message : votre mot de passe "
        "reste le même.\n",
    ),
}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _mail(username: str, link: str, minutes: int, language: str) -> tuple[str, str, str]:
    subject, text = _MAIL.get(language.split("-")[0], _MAIL["en"])
    body = text.format(username=username, link=link, minutes=minutes)
    paragraphs = "".join(f"<p>{html.escape(part)}</p>" for part in body.strip().split("\n\n") if part != link)
    anchor = f'<p><a href="{html.escape(link, quote=True)}">{html.escape(link)}</a></p>'
    first, _, rest = paragraphs.partition("</p>")
    return subject, body, f"{first}</p>{anchor}{rest}"


async def issue(uow: UnitOfWork, user: Mapping[str, Any], ttl_seconds: int) -> str:
    """A new single-use reset token for ``user``, valid ``ttl_seconds``."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    async with uow.transaction() as conn:
        await store.add_password_reset(
            conn,
            {
                "token_hash": token_hash(token),
                "organization_id": user["organization_id"],
                "user_id": user["id"],
                "created_at": now,
                "expires_at": now + timedelta(seconds=ttl_seconds),
                "used_at": None,
            },
        )
    return token


def reset_link(public_url: str, token: str) -> str:
    """Where the mail leads: the return portal's reset form (the token after #, never sent to
    a server by the browser)."""
    return f"{public_url.rstrip('/')}/portal#/reset/{token}"


async def request(
    uow: UnitOfWork, sender: NotificationSender, email: str, organization_id: str | None
) -> int:
    """Mail a reset link to every active user with this email (in the organization, if
    given), through the notification deliveries; how many were mailed. The answer to the
    caller never says whether an account exists."""
    check_email(email, "email")
    settings = sender.settings
    async with uow.read() as conn:
        users = await store.active_users_with_email(conn, email, organization_id)
    for user in users:
        token = await issue(uow, user, settings.password_reset_ttl_seconds)
        async with uow.transaction() as conn:
            organization = await mail_store.organization(conn, user["organization_id"])
            language = organization["default_language"] if organization is not None else "en"
            mail = _mail(
                user["username"],
                reset_link(settings.public_url, token),
                settings.password_reset_ttl_seconds // 60,
                language,
            )
            await mail_store.add_deliveries(conn, [sender.account_mail(user, language, *mail)])
    if users:
        sender.wake()
    return len(users)


def _refused() -> BadUserInputError:
    return BadUserInputError(
        "This reset link is unknown, used or expired: ask for a new one.",
        "token",
        reason="INVALID_RESET_TOKEN",
    )


async def reset(uow: UnitOfWork, accounts: Any, token: str, new: str) -> str:
    """Set a new password with a reset token, once; every token the user holds ends. The
    user's id."""
    check_password(new, "new")
    if not 20 <= len(token) <= 100:
        raise _refused()
    password_hash = await accounts.hash_password(new)
    now = datetime.now(UTC)
    async with uow.transaction() as conn:
        used = await store.use_password_reset(conn, token_hash(token), now)
        if used is None:
            raise _refused()
        values = {"password_hash": password_hash, "tokens_valid_after": now, "kept_token_id": None}
        await store.change_user(conn, used["user_id"], values)
    accounts.recheck_subject(used["user_id"])
    return str(used["user_id"])


async def token_for(uow: UnitOfWork, username: str, ttl_seconds: int) -> str:
    """A reset token for the user named ``username`` (``users reset-token``)."""
    async with uow.read() as conn:
        user = await store.user_by_username(conn, username.casefold())
    if user is None:
        raise NotFoundError(f"No user is named {username}.", username)
    return await issue(uow, user, ttl_seconds)

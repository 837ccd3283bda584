"""The auth service: accounts, sign-in, tokens and profile changes.

The HTTP routes and the CLI call this class and nothing below it. Every method raises a
``lumiku.errors`` error for anything the caller did wrong (mapped to a status at the edge);
database and storage failures propagate as they are. Password hashing is slow on purpose,
so it always happens outside database transactions; callers on an event loop should run
these methods in a worker thread.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from lumiku.auth import revocations
from lumiku.auth.emails import checked_email, normalize_email, validate_email
from lumiku.auth.models import CurrentUser, User
from lumiku.auth.names import clean_name
from lumiku.auth.passwords import PasswordHasher, PasswordPolicy
from lumiku.auth.throttle import LoginThrottle
from lumiku.auth.tokens import (
    INVALID_TOKEN_MESSAGE,
    Claims,
    IssuedToken,
    TokenService,
    credential_version,
)
from lumiku.auth.users import EmailTakenError, StoredUser, UserStore
from lumiku.clock import Clock, require_aware, utc_now
from lumiku.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from lumiku.roles import Role, is_role

GrantWelcome = Callable[[str, int], None]
TokensChanged = Callable[[str], None]
"""Told the id of a user some of whose tokens stopped being valid (sockets are re-checked)."""

WRONG_CREDENTIALS = "The email or password is incorrect."
EMAIL_TAKEN = "An account with this email already exists; sign in or use another email."
ACCOUNT_GONE = "The account no longer exists."

logger = logging.getLogger(__name__)


def _email_conflict() -> Conflict:
    return Conflict(EMAIL_TAKEN, details={"fields": {"email": "is taken"}})


class AuthService:
    """Register, sign in, authenticate tokens, sign out and edit profiles."""

    def __init__(
        self,
        engine: sa.Engine,
        hasher: PasswordHasher,
        tokens: TokenService,
        throttle: LoginThrottle,
        grant_welcome: GrantWelcome,
        welcome_credits: int,
        clock: Clock = utc_now,
        *,
        policy: PasswordPolicy | None = None,
        tokens_changed: TokensChanged | None = None,
        settle: Callable[[], None] | None = None,
    ) -> None:
        """Wire the service; ``grant_welcome(user_id, amount)`` must be idempotent.

        ``tokens_changed(user_id)`` runs after a logout or a password change (realtime
        closes the sockets of the tokens that stopped being valid); it must not raise.
        ``settle()`` runs after a change that refuses tokens (logout, password or role
        change) is committed and before the method returns: it waits until no server
        process can still accept them (``lumiku.auth.change_feed.settle`` on PostgreSQL).
        """
        self._engine = engine
        self._users = UserStore(engine)
        self._hasher = hasher
        self._tokens = tokens
        self._throttle = throttle
        self._grant_welcome = grant_welcome
        self._welcome_credits = welcome_credits
        self._clock = clock
        self._policy = policy if policy is not None else PasswordPolicy.default()
        self._tokens_changed = tokens_changed or (lambda _user_id: None)
        self._settle = settle or (lambda: None)
        # Unknown emails are verified against this, so they cost one verification too.
        self._dummy_hash = hasher.hash(secrets.token_urlsafe(24))

    @property
    def tokens(self) -> TokenService:
        """Return the service that issues and verifies this service's tokens."""
        return self._tokens

    def _now(self) -> datetime:
        return require_aware(self._clock(), what="the auth clock's time")

    # --- accounts -------------------------------------------------------------------

    def register(
        self, email: str, password: str, name: str | None = None, ip: str | None = None
    ) -> tuple[User, IssuedToken]:
        """Create a ``user`` account, grant the welcome credits and sign it in.

        ``ip`` (the client's address) becomes familiar to the login throttle, as after a
        sign-in there: guesses from elsewhere cannot lock the owner out of it.
        Raises ``ValidationFailed`` for a bad email, name or password and ``Conflict`` when
        the email is taken (also when two registrations race: the unique index decides).
        """
        user, token = self._create(str(uuid.uuid4()), email, password, "user", name, sign_in=True)
        assert token is not None
        self._throttle.remember(user.email, ip)
        return user, token

    def create_user(
        self, email: str, password: str, role: Role = "user", name: str | None = None
    ) -> User:
        """Create an account with ``role`` (the ``lumiku users create`` command).

        The rules of ``register`` apply, welcome credits included.
        """
        if not is_role(role):
            raise ValueError(f"unknown role {role!r}; use 'user' or 'admin'")
        user, _ = self._create(str(uuid.uuid4()), email, password, role, name, sign_in=False)
        return user

    def _create(
        self,
        user_id: str,
        email: str,
        password: str,
        role: Role,
        name: str | None,
        *,
        sign_in: bool,
    ) -> tuple[User, IssuedToken | None]:
        address = validate_email(email)
        display_name = clean_name(name)
        self._policy.check(password, email=address)
        password_hash = self._hasher.hash(password)
        now = self._now()
        user = User(
            id=user_id, email=address, name=display_name, role=role, created_at=now, updated_at=now
        )
        # No token of a new account predates its first one; bounding by that token's own
        # iat keeps it valid even if the clocks of the two services disagree a little.
        first_token = (
            self._tokens.issue(user_id, role, credential=credential_version(password_hash))
            if sign_in
            else None
        )
        valid_after = min(now, first_token.issued_at) if first_token else now
        try:
            self._users.insert(user, password_hash, valid_after)
        except EmailTakenError:
            raise _email_conflict() from None
        self._grant_welcome_credits(user_id)
        return user, first_token

    def _grant_welcome_credits(self, user_id: str) -> None:
        if self._welcome_credits <= 0:
            return
        try:
            self._grant_welcome(user_id, self._welcome_credits)
        except Exception:
            # The account exists and works; failing the request now would leave a client
            # that retries with a 409 and no credits. The grant is idempotent, so an
            # operator can repeat it safely.
            logger.exception(
                "❌ Welcome credits (%d) not granted to user %s; grant them with "
                "`lumiku credits grant`",
                self._welcome_credits,
                user_id,
            )

    def list_users(self) -> list[User]:
        """Return every account, oldest first (the ``lumiku users list`` command)."""
        return self._users.list_all()

    def set_role(self, email: str, role: Role) -> tuple[User, Role]:
        """Give the account of ``email`` the ``role``; return it and its previous role.

        Raises ``NotFound`` when no account has that email and ``ValidationFailed`` for a
        role other than ``user`` or ``admin``. The change applies to the account's next
        request: roles are read from the database, not from tokens.
        """
        if not is_role(role):
            raise ValidationFailed(
                f"Unknown role {role!r}: use 'user' or 'admin'.",
                details={"fields": {"role": "is unknown"}},
            )
        account = self._users.find_stored(email=checked_email(email))
        if account is None:
            raise NotFound(f"No account has the email {email!r}.")
        previous = account.user.role
        if previous != role:
            self._users.update(account.user.id, {"role": role, "updated_at": self._now()})
            self._settle()
        return self.get_profile(account.user.id), previous

    # --- sign in and out ------------------------------------------------------------

    def login(self, email: str, password: str, ip: str | None) -> tuple[User, IssuedToken]:
        """Check the credentials and return the account with a new token.

        An unknown email and a wrong password get the same ``Unauthorized`` after the same
        work (one password verification). Attempts past the throttle's limits (see
        ``lumiku.auth.throttle``: per account and address, per address, and per account
        from unfamiliar addresses) raise ``RateLimited`` before any verification. An email
        that is not ASCII raises ``ValidationFailed`` (it is never folded into another one).
        """
        address = checked_email(email)
        attempt = self._throttle.begin_attempt(address, ip)
        account = self._users.find_stored(email=address)
        if account is None:
            self._hasher.verify(self._dummy_hash, password)
            self._throttle.record_failure(attempt)
            raise Unauthorized(WRONG_CREDENTIALS)
        if not self._hasher.verify(account.password_hash, password):
            self._throttle.record_failure(attempt)
            raise Unauthorized(WRONG_CREDENTIALS)
        self._throttle.record_success(attempt)
        current_hash = account.password_hash
        if self._hasher.needs_rehash(current_hash):
            rehashed = self._hasher.hash(password)
            if self._users.update(
                account.user.id, {"password_hash": rehashed}, expected_hash=current_hash
            ):
                current_hash = rehashed
        token = self._tokens.issue(
            account.user.id, account.user.role, credential=credential_version(current_hash)
        )
        return account.user, token

    def authenticate(self, token: str) -> CurrentUser:
        """Return the caller behind ``token``; raise ``Unauthorized`` if it may not be used.

        Refused: anything ``TokenService.decode`` refuses, a revoked token, a token issued
        before the account's last password change or for another password than the current
        one (a login racing a password change), and a token whose account is gone.
        The role is the account's current one, not the one in the token.
        """
        claims = self._tokens.decode(token)
        owner = self._users.token_owner(claims.user_id, claims.jti)
        if owner is None:
            raise Unauthorized(INVALID_TOKEN_MESSAGE)
        return owner.admit(claims)

    def logout(self, claims: Claims) -> None:
        """Revoke the token behind ``claims`` until it expires; a second call is harmless.

        Its sockets are closed on every node (``tokens_changed``).
        """
        revocations.revoke(self._engine, claims)
        self._notify_tokens_changed(claims.user_id)

    def _notify_tokens_changed(self, user_id: str) -> None:
        self._settle()
        try:
            self._tokens_changed(user_id)
        except Exception:
            # The change is made; the sockets' periodic re-check closes them instead.
            logger.exception("❌ Closing the sockets of user %s failed", user_id)

    def delete_expired_revocations(self) -> int:
        """Forget revocations of tokens that have expired by now; return how many."""
        return revocations.delete_expired_revocations(self._engine, now=self._now())

    # --- profile --------------------------------------------------------------------

    def get_profile(self, user_id: str) -> User:
        """Return the account ``user_id``; raise ``NotFound`` if it is gone."""
        user = self._users.find(user_id)
        if user is None:
            raise NotFound(ACCOUNT_GONE)
        return user

    def update_profile(
        self,
        user_id: str,
        *,
        name: str | None = None,
        email: str | None = None,
        current_password: str | None = None,
        new_password: str | None = None,
        client_ip: str | None = None,
    ) -> tuple[User, IssuedToken | None]:
        """Change the name, email or password; ``None`` leaves a field as it is.

        An empty ``name`` clears it. Changing the email or the password needs the correct
        ``current_password`` (``ValidationFailed`` otherwise; wrong guesses from
        ``client_ip`` are throttled like sign-ins). A new password ends every token issued
        before it; the returned token (``None`` unless the password changed) replaces the
        caller's.
        """
        account = self._users.find_stored(user_id=user_id)
        if account is None:
            raise NotFound(ACCOUNT_GONE)
        changes, fields = self._validated_changes(account.user, name, email, new_password)
        sensitive = "email" in changes or new_password is not None
        if sensitive and not current_password:
            fields["currentPassword"] = "is required to change the email or password"
        if fields:
            summary = "; ".join(f"{field} {problem}" for field, problem in fields.items())
            raise ValidationFailed(
                f"The profile change was refused: {summary}.", details={"fields": fields}
            )
        if not changes and new_password is None:
            return account.user, None
        if current_password is not None and sensitive:
            self._confirm_password(account, current_password, client_ip)
        token: IssuedToken | None = None
        if new_password is not None:
            changes["password_hash"] = new_hash = self._hasher.hash(new_password)
            token = self._tokens.issue(
                user_id, account.user.role, credential=credential_version(new_hash)
            )
            changes["tokens_valid_after"] = token.issued_at
        changes["updated_at"] = self._now()
        self._apply(account, changes, guarded=sensitive)
        if sensitive:
            self._throttle.remember(str(changes.get("email", account.user.email)), client_ip)
        if token is not None:
            self._notify_tokens_changed(user_id)  # the old tokens' sockets close
        return self.get_profile(user_id), token

    def _validated_changes(
        self, user: User, name: str | None, email: str | None, new_password: str | None
    ) -> tuple[dict[str, object], dict[str, str]]:
        changes: dict[str, object] = {}
        fields: dict[str, str] = {}
        if name is not None:
            try:
                changes["name"] = clean_name(name)
            except ValidationFailed as exc:
                fields.update(exc.details["fields"])
        address = user.email
        if email is not None and normalize_email(email) != user.email:
            try:
                address = validate_email(email)
                changes["email"] = address
            except ValidationFailed as exc:
                fields.update(exc.details["fields"])
        if new_password is not None:
            problem = self._policy.problem(new_password, email=address)
            if problem is not None:
                fields["newPassword"] = problem
        return changes, fields

    def _confirm_password(self, account: StoredUser, password: str, ip: str | None) -> None:
        attempt = self._throttle.begin_attempt(account.user.email, ip)
        if not self._hasher.verify(account.password_hash, password):
            self._throttle.record_failure(attempt)
            raise ValidationFailed(
                "The current password is incorrect.",
                details={"fields": {"currentPassword": "is incorrect"}},
            )
        self._throttle.record_success(attempt)

    def _apply(self, account: StoredUser, changes: dict[str, object], *, guarded: bool) -> None:
        expected = account.password_hash if guarded else None
        try:
            updated = self._users.update(account.user.id, changes, expected_hash=expected)
        except EmailTakenError:
            raise _email_conflict() from None
        if not updated:
            self.get_profile(account.user.id)  # raises NotFound if the account is gone
            raise Conflict(
                "The password changed while this request was running; sign in again and retry."
            )

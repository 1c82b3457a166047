"""The one error tree of Warta.

Every layer raises from here; vendor exceptions (aiosmtplib, httpx, SQLAlchemy, PyJWT)
are translated at the edge that meets them, with ``raise ... from exc``. The API turns an
``ApiError`` into Notify's error body; the pipeline decides to retry from the class of a
``DeliveryError`` alone.

    WartaError
    ├── InvalidInput                  bad data from a caller: nothing was changed
    │   ├── InvalidTemplate             template text cannot be used
    │   ├── MissingPersonalisation      fields the template needs were not given
    │   ├── InvalidPhoneNumber          not a mobile number we can reach
    │   ├── InvalidRegion               not a Kemendagri region code (kode wilayah)
    │   ├── InvalidEmailAddress
    │   └── MessageTooLong              SMS over the 918-character cap
    ├── ApiError                      carries Notify's status_code and error name
    │   ├── BadRequest (400)          ├── AuthError (401/403)
    │   ├── NotFound (404)            └── RateLimited / DailyLimitExceeded (429)
    ├── ConfigurationError            settings that cannot work (bad URL, missing key)
    ├── StoreUnavailable              the database cannot be written or reached now: the
    │                                 API answers 503, workers leave the rows leased
    └── DeliveryError                 raised by channels, judged by the pipeline
        ├── TemporaryFailure            recipient side, try again later (SMTP 4xx)
        ├── ProviderUnavailable         cannot reach the provider; retry, never lose it
        ├── PermanentFailure            will never succeed (SMTP 5xx, bad mailbox)
        │   └── ContactGone               the address itself is dead (push 404/410, FCM
        │                                 UNREGISTERED, a bot blocked): forget the contact
        └── TechnicalFailure            our side broke; do not retry blindly
            └── ContentFault              the message itself cannot be sent (cannot be
                                          encoded, no text): never a provider's fault
"""

from __future__ import annotations


class WartaError(Exception):
    """Base of every error Warta raises on purpose.

    ``str(exc)`` is English, as the API and the logs give it. Pages give it in the
    reader's language (``api.pages.error_text``): ``msgid`` is what the gettext catalogs
    translate, its ``%(name)s`` slots filled from ``values`` afterwards, so a message with
    a row number or a name in it still has one catalog entry; and ``field``, the API's
    name for what was wrong (Notify's "phone_number Not enough digits"), is left off,
    since a page shows the message beside its field.
    """

    def __init__(self, message: str = "", /, *, field: str | None = None, **values: object):
        self.msgid, self.field, self.values = message, field, values
        text = message % values if values else message
        super().__init__(f"{field} {text}" if field else text)


class Word(str):
    """A value of an error's message that is an English word itself (a region's level):
    pages translate it with the message; the API gives it as it is."""


class InvalidInput(WartaError):
    """Input that cannot be accepted. ``str(exc)`` is the user-facing message."""


class InvalidTemplate(InvalidInput):
    pass


class MissingPersonalisation(InvalidInput):
    def __init__(self, fields: list[str]) -> None:
        self.fields = fields
        super().__init__("Missing personalisation: %(fields)s", fields=", ".join(fields))


class InvalidPhoneNumber(InvalidInput):
    pass


class InvalidRegion(InvalidInput):
    pass


class InvalidEmailAddress(InvalidInput):
    pass


class MessageTooLong(InvalidInput):
    pass


class ApiError(WartaError):
    """An error with a place in Notify's error body."""

    status_code = 400
    error = "BadRequestError"

    def __init__(self, message: str, /, *, field: str | None = None, **values: object) -> None:
        super().__init__(message, field=field, **values)
        self.message = str(self)


class BadRequest(ApiError):
    status_code = 400
    error = "BadRequestError"


class ValidationFailed(ApiError):
    status_code = 400
    error = "ValidationError"


class AuthError(ApiError):
    status_code = 403
    error = "AuthError"

    def __init__(self, message: str, status_code: int = 403) -> None:
        super().__init__(message)
        self.status_code = status_code


class NotFound(ApiError):
    status_code = 404
    error = "NoResultFound"

    def __init__(self, message: str = "No result found", /, **values: object) -> None:
        super().__init__(message, field=None, **values)


class RateLimited(ApiError):
    status_code = 429
    error = "RateLimitError"


class DailyLimitExceeded(ApiError):
    status_code = 429
    error = "TooManyRequestsError"


class ConfigurationError(WartaError):
    pass


class StoreUnavailable(WartaError):
    """The database cannot take a write (read-only files, a full disk, a read-only
    PostgreSQL) or cannot be reached. Raised by the store in place of the driver's error
    (``store.db.translate``); nothing was committed, so the caller may try again later.
    The API answers it with 503 ``ServiceUnavailableError``."""

    status_code = 503
    error = "ServiceUnavailableError"

    def __init__(self, message: str = "The database cannot be written; try again later") -> None:
        super().__init__(message)


class DeliveryError(WartaError):
    """A channel could not deliver. Subclasses say what the pipeline does next."""

    retry = False
    final_status = "technical-failure"


class TemporaryFailure(DeliveryError):
    retry = True
    final_status = "temporary-failure"


class ProviderUnavailable(DeliveryError):
    retry = True
    final_status = "technical-failure"


class PermanentFailure(DeliveryError):
    final_status = "permanent-failure"


class ContactGone(PermanentFailure):
    """The contact will never work again (a push subscription expired, an app token was
    unregistered, the citizen blocked the bot): the pipeline marks it unusable, so routing
    stops choosing it, and escalation moves on."""


class TechnicalFailure(DeliveryError):
    final_status = "technical-failure"


class ContentFault(TechnicalFailure):
    """The message, not the provider, is at fault (text that cannot be encoded, no text, a
    sender id the protocol cannot carry): provider health (``domain.failover``) does not
    count it against the provider."""

"""The errors services raise; app.py turns each into the contract's JSON envelope."""


class ServiceError(Exception):
    status = 400
    code = "invalid_request"
    retry_after: int | None = None  # seconds, sent as Retry-After
    message = "The request is not valid."

    def __init__(self, message=None, *, code=None, status=None, details=None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.code = code or self.code
        self.status = status or self.status
        self.details = details or {}


class InvalidRequest(ServiceError):
    pass


class Unauthorized(ServiceError):
    status, code, message = 401, "unauthorized", "Sign in first."


class TokenRevoked(Unauthorized):
    """The token's principal is gone or disabled, or revoked its tokens after this one was issued."""

    message = "The token has been revoked."

    def __init__(self):
        super().__init__(details={"reason": "revoked"})


class Forbidden(ServiceError):
    status, code, message = 403, "forbidden", "You may not do that."


class NotFound(ServiceError):
    status, code, message = 404, "not_found", "No such resource."


class Conflict(ServiceError):
    status, code, message = 409, "conflict", "That conflicts with the current state."


class InsufficientPoints(Conflict):
    code, message = "insufficient_points", "Not enough points available."


class MemberFrozen(Conflict):
    code, message = "member_frozen", "This member's points are frozen."


class Unavailable(ServiceError):
    status, code, message, retry_after = 503, "unavailable", "The service is unavailable; try again shortly.", 5


class WeChatError(ServiceError):
    status, code, message = 502, "wechat_error", "WeChat did not answer as expected."

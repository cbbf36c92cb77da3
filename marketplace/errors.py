"""Domain errors raised by services; views turn them into form errors or JSON 4xx."""


class DomainError(Exception):
    """A rule of the marketplace refused the operation; ``message`` is user-facing."""

    #: Form field the error belongs to, when there is one.
    field = None
    status = 400
    #: Short machine-readable name, for the JSON API.
    code = "invalid"

    def __init__(self, message, field=None):
        super().__init__(str(message))
        self.message = message
        if field is not None:
            self.field = field


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"

"""Errors as the Kubernetes API reports them: a Status object with an HTTP code.

Every failure the fake answers is an ApiError carrying a Status (kind Status,
status Failure, reason, message, code, optional details), because a client
that handles the real API reads those fields, never the HTTP reason phrase.
"""


class ApiError(Exception):
    """A failed request: `code` is the HTTP status, `status()` the body."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self):
        return status_object(self.code, self.reason, self.message, self.details)


def status_object(code, reason, message, details=None, success=False):
    out = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success" if success else "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if success:
        out.pop("reason")
        out.pop("message")
    if details:
        out["details"] = details
    return out


def _qualified(kind_info):
    """`deployments.apps`, `configmaps`: how the API names a resource in messages."""
    if kind_info is None:
        return "resource"
    return kind_info.plural + ("." + kind_info.group if kind_info.group else "")


def not_found(kind_info, name):
    return ApiError(404, "NotFound", f'{_qualified(kind_info)} "{name}" not found',
                    {"name": name, "group": kind_info.group if kind_info else "",
                     "kind": kind_info.plural if kind_info else ""})


def no_such_resource():
    return ApiError(404, "NotFound", "the server could not find the requested resource",
                    {})


def already_exists(kind_info, name):
    return ApiError(409, "AlreadyExists", f'{_qualified(kind_info)} "{name}" already exists',
                    {"name": name, "group": kind_info.group, "kind": kind_info.plural})


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def invalid(kind_info, name, causes):
    """422: `causes` is a list of (reason, field, message) as field.ErrorList gives them."""
    kind = kind_info.kind + ("." + kind_info.group if kind_info.group else "")
    summary = ", ".join(f"{field}: {msg}" for _, field, msg in causes)
    if len(causes) > 1:
        summary = "[" + summary + "]"
    return ApiError(422, "Invalid", f'{kind} "{name}" is invalid: {summary}', {
        "name": name, "group": kind_info.group, "kind": kind_info.kind,
        "causes": [{"reason": r, "message": m, "field": f} for r, f, m in causes],
    })


def unauthorized():
    return ApiError(401, "Unauthorized", "Unauthorized")


def method_not_allowed():
    return ApiError(405, "MethodNotAllowed",
                    "the server does not allow this method on the requested resource")


def unsupported_media_type(ctype):
    return ApiError(415, "UnsupportedMediaType",
                    f'the body of the request was in an unknown format - accepted media types '
                    f'include: '
                    f'application/json, application/merge-patch+json, '
                    f'application/strategic-merge-patch+json, application/apply-patch+yaml '
                    f'(got "{ctype}")')


def gone(requested, oldest):
    return ApiError(410, "Expired", f"too old resource version: {requested} ({oldest})")


def unavailable(message="the server is currently unable to handle the request"):
    return ApiError(503, "ServiceUnavailable", message)

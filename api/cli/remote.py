"""`evault --url URL`: the person-facing commands through the vault's HTTP API, from any desk.

The API's answers come back as the same vault errors the local commands raise, so a refusal
has the same message and exit code either way: a problem+json answer's type names its row of
api.error_table; an API that cannot be reached is Unavailable (exit 5)."""

from __future__ import annotations

import base64
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from api.error_table import TABLE
from vault.errors import (
    AccessDenied,
    Conflict,
    InputRejected,
    NotAuthenticated,
    NotFound,
    Unavailable,
    VaultError,
)

if TYPE_CHECKING:
    import httpx

TIMEOUT_S = 60.0
CHUNK = 1024 * 1024  # bytes per read of a delivery: memory stays flat with the file's size
PROBLEM_TYPE = "https://evidence-vault.example/problems/"  # api.http.problems.TYPE_BASE
BY_STATUS: dict[int, type[VaultError]] = {
    401: NotAuthenticated, 403: AccessDenied, 404: NotFound, 409: Conflict,
    502: Unavailable, 503: Unavailable, 504: Unavailable,
}  # fmt: skip


def problem_error(status: int, body: Any) -> VaultError:
    """The vault error a problem+json answer stands for, carrying its detail."""
    kind = str(body.get("type", "")) if isinstance(body, dict) else ""
    detail = str(body.get("detail", "")) if isinstance(body, dict) else ""
    slug = kind.removeprefix(PROBLEM_TYPE)
    for row in TABLE:
        if row.problem == slug:
            return row.error(detail or f"HTTP {status}")
    # A problem of the framework's own (no route for the path, a body it cannot parse): its
    # HTTP status says which kind of failure it is, and so which exit code.
    kind_of = BY_STATUS.get(status, InputRejected if status < 500 else VaultError)
    return kind_of(f"{detail or 'no detail'} (HTTP {status} from the API)")


class ApiClient:
    """One person's calls to one vault's API, with their token."""

    def __init__(self, url: str, token: str) -> None:
        if not token:
            raise NotAuthenticated(
                "working through --url / EVAULT_URL needs your API token: give --token or"
                " set EVAULT_TOKEN"
            )
        import httpx

        self.url = url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=TIMEOUT_S,
        )

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._answer(lambda: self._client.get(path, params=_present(params)))

    def post(self, path: str, body: dict[str, Any], *, timeout: float = TIMEOUT_S) -> Any:
        """``timeout``: longer for work the server does while the caller waits (a
        destruction deletes every copy and signs its register before it answers)."""
        return self._answer(lambda: self._client.post(path, json=body, timeout=timeout))

    def download(
        self, path: str, *, body: dict[str, Any] | None = None, timeout: float = TIMEOUT_S
    ) -> tuple[int, str | None, Delivery]:
        """A delivery: its size, the SHA-256 the server states for it (RFC 9530 Repr-Digest,
        hex), and its bytes as they arrive. Closing the iterator ends the transfer. With
        ``body``, a POST of it (an export, which the server builds before it answers)."""
        import httpx

        method = "GET" if body is None else "POST"
        asked = self._client.build_request(method, path, json=body, timeout=timeout)
        try:
            answer = self._client.send(asked, stream=True)
        except httpx.HTTPError as exc:
            raise Unavailable(f"the vault at {self.url} could not be reached: {exc}") from None
        if not answer.is_success:
            answer.read()
            answer.close()
            raise _refusal(answer)
        size = int(answer.headers.get("content-length", "0"))
        return size, _digest_hex(answer.headers.get("repr-digest")), Delivery(answer, self.url)

    def _answer(self, call: Any) -> Any:
        import httpx

        try:
            answer: httpx.Response = call()
        except httpx.HTTPError as exc:
            raise Unavailable(f"the vault at {self.url} could not be reached: {exc}") from None
        if answer.is_success:
            return answer.json()
        raise _refusal(answer)


def _refusal(answer: httpx.Response) -> VaultError:
    """The vault error an unsuccessful answer stands for (problem+json, or its text)."""
    try:
        body = answer.json()
    except ValueError:
        body = {"detail": answer.text[:200]}
    return problem_error(answer.status_code, body)


def segment(ref: str) -> str:
    """A reference as one path segment: `..` or a slash in it cannot reach another route."""
    from urllib.parse import quote

    return quote(ref, safe="")


class Delivery:
    """The bytes of one delivery as they arrive; close() ends the transfer (used or not)."""

    def __init__(self, answer: httpx.Response, url: str) -> None:
        self._answer = answer
        self._url = url
        self.headers = answer.headers

    def __iter__(self) -> Generator[bytes, None, None]:
        import httpx

        try:
            yield from self._answer.iter_bytes(CHUNK)
        except httpx.HTTPError as exc:
            raise Unavailable(f"the transfer from {self._url} broke off: {exc}") from None

    def close(self) -> None:
        self._answer.close()


def _digest_hex(header: str | None) -> str | None:
    """``sha-256=:BASE64:`` (RFC 9530) as hex; None when the server states none."""
    if not header:
        return None
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "sha-256" and value.startswith(":") and value.endswith(":"):
            try:
                return base64.b64decode(value[1:-1], validate=True).hex()
            except ValueError:
                return None
    return None


def _present(params: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if params is None else {k: v for k, v in params.items() if v is not None}

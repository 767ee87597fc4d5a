"""A small admin client for the central server's API, used by the CLI and the demo."""

from __future__ import annotations

from typing import Any

import httpx

from vouchers.errors import VoucherError
from vouchers.wording import Said, said


class ApiError(VoucherError):
    """A problem+json answer, or no answer at all, from the server."""

    def __init__(self, status: int, problem: dict[str, Any], said: Said | None = None) -> None:
        self.status = status
        self.problem = problem
        super().__init__(said or problem.get("detail") or "", title=problem.get("title") or f"HTTP {status}")

    def describe(self) -> str:
        status = f" ({self.status})" if self.status else ""
        lines = [f"{self.title}{status}: {self.detail}"]
        lines += [f"  - {e['field']}: {e['message']}" for e in self.problem.get("errors", [])]
        return "\n".join(lines)


class AdminClient:
    def __init__(
        self, server: str, token: str | None, *, timeout: float = 30.0, language: str | None = None
    ) -> None:
        """`language`: asked of the server (Accept-Language), which words its errors' details in it."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if language:
            headers["Accept-Language"] = language
        self.http = httpx.Client(base_url=server.rstrip("/") + "/api/v1", headers=headers, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            told = said(
                "{server}: {cause}. Is it running? Choose another server with --server URL or $VOUCHER_SERVER.",
                server=str(self.http.base_url),
                cause=str(exc) or type(exc).__name__,
            )
            raise ApiError(0, {"title": "Cannot reach the server", "detail": told.english()}, told) from None
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"detail": response.text[:500]}
            raise ApiError(
                response.status_code, problem if isinstance(problem, dict) else {"detail": str(problem)}
            )
        if response.status_code == 204:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.content

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.request("POST", path, json=json, **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.request("PATCH", path, json=json, **kw)

"""Let respx fake the HTTP calls of the openai and anthropic SDKs.

Those SDKs send through ``httpx2`` (a fork of httpx), which respx does not patch.
This mocker patches httpx2's transports the way respx patches httpx's, so tests use
plain ``respx.mock(using="httpx2")`` routes and the SDKs run their real code paths.
Importing this module registers the mocker.
"""

from __future__ import annotations

import inspect
from typing import Any

import httpx
import httpx2
from respx.mocks import Mocker
from respx.models import PassThrough


def _to_httpx(request: httpx2.Request, body: bytes) -> httpx.Request:
    return httpx.Request(
        request.method, str(request.url), headers=list(request.headers.raw), content=body
    )


def _to_httpx2(response: httpx.Response, body: bytes) -> httpx2.Response:
    headers = [(k, v) for k, v in response.headers.raw if k.lower() != b"content-encoding"]
    return httpx2.Response(response.status_code, headers=headers, content=body)


class HTTPX2Mocker(Mocker):
    name = "httpx2"
    targets = [
        "httpx2._transports.default.AsyncHTTPTransport",
        "httpx2._transports.default.HTTPTransport",
    ]
    target_methods = ["handle_async_request", "handle_request"]

    @classmethod
    def mock(cls, spec: Any) -> Any:
        if inspect.iscoroutinefunction(spec):

            async def amock(self: Any, request: httpx2.Request) -> httpx2.Response:
                body = await request.aread()
                try:
                    response = await cls.async_handler(_to_httpx(request, body))
                except PassThrough:
                    return await spec(self, request)
                return _to_httpx2(response, await response.aread())

            return amock

        def smock(self: Any, request: httpx2.Request) -> httpx2.Response:
            body = request.read()
            try:
                response = cls.handler(_to_httpx(request, body))
            except PassThrough:
                return spec(self, request)
            return _to_httpx2(response, response.read())

        return smock

"""The base of every endpoint: ``ApiView`` (aiohttp-pydantic) with the API's input rules.

aiohttp-pydantic validates path, query and body against the handler's annotations and feeds
the OpenAPI document. Three things are tightened here, once for every endpoint:

- **Bodies** are read by :func:`read_json_body`, not by ``request.json()``: a size limit (413),
  UTF-8 only, no NaN/Infinity, no absurd numbers or nesting, and no string PostgreSQL cannot
  store (NUL) or encode (lone surrogates) — each a 400 ``malformed_json``/``invalid_text``
  instead of the 500 the library's reader would give. The model is then validated from the
  raw JSON in strict mode (``"1"`` is not an integer, ``1`` is not a string).
- **Query strings** accept only the handler's parameters: an unknown one is a 422, as an
  unknown body field is (a misspelt ``?sort=`` would otherwise be ignored without a word).
- **Validation errors** are 422 ``{"error": "validation_error", "detail": [...]}`` listing
  where and what, without echoing the input back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp_pydantic import PydanticView
from aiohttp_pydantic.injectors import CONTEXT as Location
from aiohttp_pydantic.injectors import AbstractInjector, BodyGetter, QueryGetter
from pydantic import BaseModel, ConfigDict, ValidationError

from catalog.api.context import ApiContext, context
from catalog.api.errors import ApiError, body_too_large

MAX_NESTING = 32


class ApiModel(BaseModel):
    """Request and response bodies: unknown fields are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


def _invalid_text() -> ApiError:
    return ApiError(
        400, "invalid_text", "text may not contain NUL characters or unpaired UTF-16 surrogates"
    )


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, from a "\ud800" escape
        return False
    return True


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _check_strings(document: Any) -> None:
    """Walk the parsed document (iteratively: depth is bounded, but not by the stack)."""
    pending: list[tuple[Any, int]] = [(document, 0)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_NESTING:
            raise ApiError(400, "malformed_json", f"the body nests deeper than {MAX_NESTING} levels")
        if isinstance(value, str):
            if not _storable(value):
                raise _invalid_text()
        elif isinstance(value, dict):
            for key, item in value.items():
                if not _storable(key):
                    raise _invalid_text()
                pending.append((item, depth + 1))
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)


async def read_json_body(request: web.Request, limit: int) -> bytes:
    """The raw body, once it is known to be a well-formed, storable JSON document."""
    if request.content_length is not None and request.content_length > limit:
        raise body_too_large(limit)
    raw = bytearray()
    try:
        async for chunk in request.content.iter_any():
            raw += chunk
            if len(raw) > limit:
                raise body_too_large(limit)
    except web.RequestPayloadError:  # e.g. a Content-Encoding the bytes do not match
        raise ApiError(400, "malformed_body", "the request body could not be decoded") from None
    try:
        document = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        # ValueError covers JSONDecodeError and integers past Python's digit limit.
        raise ApiError(400, "malformed_json", "the body is not a valid UTF-8 JSON document") from None
    _check_strings(document)
    return bytes(raw)


class _JsonBody(AbstractInjector):
    """Replaces aiohttp-pydantic's body reader (see the module docstring)."""

    context = "body"

    def __init__(self, getter: BodyGetter) -> None:
        if not getter.arg_name:
            raise TypeError("ApiView handlers take JSON bodies only (no multipart uploads)")
        self.arg_name = getter.arg_name
        self.model = getter.model

    async def inject(self, request: web.Request, args_view: list, kwargs_view: dict) -> None:
        raw = await read_json_body(request, context(request).settings.max_body_size)
        kwargs_view[self.arg_name] = self.model.model_validate_json(raw, strict=True)


def _strict(query: QueryGetter) -> QueryGetter:
    """aiohttp-pydantic's query reader, made to refuse parameters the handler does not take."""

    class QueryModel(query.model):  # type: ignore[name-defined,misc]
        model_config = ConfigDict(extra="forbid")

    query.model = QueryModel
    return query


def _validation_error(exception: ValidationError, location: Location) -> ApiError:
    details = exception.errors(include_url=False, include_context=False, include_input=False)
    return ApiError(422, "validation_error", [{**error, "in": location} for error in details])


class ApiView(PydanticView):
    """Base of every endpoint. Handler methods (``get``, ``post``, …) declare path parameters
    positional-only, the body as a pydantic model argument and query parameters as plain
    arguments; return annotations (``r200[Model]``) document the answers."""

    @staticmethod
    def _parse_func_signature(func: Callable[..., Any]) -> Iterable[AbstractInjector]:
        # aiohttp-pydantic builds one injector per request part; swap in our body and query
        # readers, and check the query string of handlers that take no query parameters too.
        injectors: list[AbstractInjector] = []
        for injector in PydanticView._parse_func_signature(func):
            if isinstance(injector, BodyGetter):
                injector = _JsonBody(injector)
            elif isinstance(injector, QueryGetter):
                injector = _strict(injector)
            injectors.append(injector)
        if not any(isinstance(injector, QueryGetter) for injector in injectors):
            injectors.append(_strict(QueryGetter({}, {})))
        return injectors

    async def on_validation_error(
        self, exception: ValidationError, location: Location
    ) -> web.StreamResponse:
        return _validation_error(exception, location).response()

    @property
    def ctx(self) -> ApiContext:
        return context(self.request)


def respond(model: BaseModel, status: int = 200) -> web.Response:
    return web.json_response(text=model.model_dump_json(), status=status)


@web.middleware
async def text_guard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """NUL in a path segment or query value would reach SQL as text PostgreSQL refuses."""
    values = [request.path, *request.query.keys(), *request.query.values()]
    if any("\x00" in value for value in values):
        raise _invalid_text()
    return await handler(request)

"""Reading a request body: gzip (as Segment clients may send it), a size limit, JSON."""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from fastapi import Request
from starlette.requests import ClientDisconnect

from leadgate.errors import InputError, TooLarge


async def json_body(request: Request, limit: int) -> Any:
    """The JSON document of the body, at most ``limit`` bytes once decompressed."""
    declared = request.headers.get("content-length")
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if declared and declared.isdigit() and int(declared) > limit and encoding != "gzip":
        raise TooLarge(_too_large(int(declared), limit))
    try:
        raw = await request.body()
    except ClientDisconnect:  # the client is gone: nobody reads the answer, nothing is stored
        raise InputError("the client closed the connection before its request body arrived") from None
    if encoding == "gzip":
        raw = _gunzip(raw, limit)
    elif encoding not in ("", "identity"):
        raise InputError(f"Content-Encoding {encoding!r} is not supported; send gzip or nothing")
    if len(raw) > limit:
        raise TooLarge(_too_large(len(raw), limit))
    if not raw.strip():
        raise InputError("the request has no body; send a JSON object")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"the body is not valid JSON ({exc.msg} at character {exc.pos})") from None


def _gunzip(raw: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise InputError(f"the body says Content-Encoding: gzip but is not gzip data ({exc})") from None
    if len(data) > limit:
        raise TooLarge(f"the body is over {limit // 1024} KB once decompressed; split it into smaller requests")
    if not inflater.eof:
        raise InputError("the gzip body is cut short")
    return data


def _too_large(size: int, limit: int) -> str:
    return f"the body is {size} bytes, over the limit of {limit // 1024} KB; split it into smaller requests"

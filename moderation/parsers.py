"""The JSON parser of the DRF endpoints that use `request.data` (models, policies, forwarding).

DRF's own JSONParser lets a body nested deeper than the recursion limit escape as a
RecursionError (a 500). msgspec refuses such a body, invalid UTF-8 and lone surrogates alike,
and the decision endpoints already decode with it, so every endpoint refuses the same bodies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

import msgspec
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from moderation.schemas import unparsable_message


class JSONParser(BaseParser):
    media_type = "application/json"

    def parse(
        self,
        stream: IO[Any] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        body = stream.read() if stream is not None else b""
        try:
            return msgspec.json.decode(body)
        # ValidationError: a number msgspec cannot represent (1e400).
        except (msgspec.MsgspecError, UnicodeDecodeError, RecursionError) as exc:
            raise ParseError(unparsable_message(exc)) from exc

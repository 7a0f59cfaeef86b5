"""Nesting depth of a JSON body, measured before any parser recurses into it.

The standard library's parser raises RecursionError on a body nested some thousand levels deep; an error body
from a hostile or broken gateway must be a clean ``ApiError`` instead, so depth is checked first.
"""

from __future__ import annotations

import re
from itertools import accumulate

# A job answer nests four or five levels (job > entities > instance > ...); 64 leaves room for any real one.
MAX_JSON_DEPTH = 64
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether brackets outside strings nest deeper than ``limit``. Linear; a body with few brackets is free."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    return max(accumulate(1 if c in b"[{" else -1 for c in brackets), default=0) > limit

"""What one job may hold once read: every field the outputs carry has a size cap, so memory is bounded in total for a
wait on many jobs, and no answer of the plugin grows with what a server chose to send (issue 20).

A job is read from an answer of at most ``MAX_RESPONSE_BYTES`` (1 MiB, ``provider.wire.transport``), but a wait
keeps the last job of every job it waits for (the engine's trackers, the CLI's board and results, the plugin's
outputs): 1,000 answers of 900 KB kept whole peaked at 3.6 GB in the CLI, and a GaussDBJobs answer of 256 such jobs
came to 461 MB, past the 400 MB message limit of Pulumi's gRPC (issue 20). The caps are applied where a ``Job`` is
built (``provider.taskcenter.models``), so nothing downstream ever holds more.

The limits are about 50 times what the API pages show (the documented ``entities`` example is under 300 bytes:
``docs/reliability.md`` cites it); a field past its limit is replaced by a marker that says so, with its size, so a
reader sees that something was left out and how much, never a silently cut value.
"""

from __future__ import annotations

import json
from typing import Any

# ``entities``, in bytes as ``wire_size`` counts them; past it the value is replaced by ``omitted``'s marker.
ENTITIES_LIMIT = 16 * 1024
# Text fields, in characters: a job's name (the API's are task names, ~40), its failure reason (a sentence or two),
# its progress ("60%"), the instance id and name (the API's are 36-64 characters).
NAME_LIMIT = 512
FAIL_REASON_LIMIT = 1024
PROCESS_LIMIT = 64
INSTANCE_TEXT_LIMIT = 128
# Fields the API does not document are kept (``extra="allow"``) but never output: all of them are dropped when
# they come to more than this (``wire_size``).
EXTRAS_LIMIT = 4096
OMITTED_KEY = "omitted"


def wire_size(value: Any) -> int:
    """An upper bound of the bytes ``value`` takes as JSON (UTF-8) and in a plugin answer (a protobuf ``Struct``,
    where every number is 8 bytes plus framing and every string and entry a few bytes of framing): what a cap must
    bound, since ``[0,0,...]`` is 2 bytes a number as JSON but about 11 in protobuf."""
    try:
        return _size(value)
    except RecursionError:
        return 1 << 62  # nested past any sane answer (the wire refuses deeper JSON): larger than every limit


def _size(value: Any) -> int:
    if isinstance(value, str):
        return len(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")) + 4
    if value is None or isinstance(value, bool):
        return 6
    if isinstance(value, int | float):
        return 12
    if isinstance(value, dict):
        return 4 + sum(_size(str(key)) + _size(item) + 2 for key, item in value.items())
    if isinstance(value, list | tuple):
        return 4 + sum(_size(item) + 2 for item in value)
    return _size(str(value))


def omitted(what: str, size: int, limit: int) -> dict[str, Any]:
    """The marker that replaces a value past its limit: it says what, how large, and the limit."""
    return {OMITTED_KEY: f"{what} too large: {size} bytes, over the limit of {limit} bytes", "bytes": size}


def entities(value: dict[str, Any]) -> dict[str, Any]:
    """``entities`` as it is, or the marker when it is larger than ``ENTITIES_LIMIT``."""
    size = wire_size(value)
    return value if size <= ENTITIES_LIMIT else omitted("entities", size, ENTITIES_LIMIT)


def text(value: str, limit: int) -> str:
    """``value`` as it is, or cut at ``limit`` characters with a note of its full length."""
    if len(value) <= limit:
        return value
    return f"{value[:limit]}... [cut: {len(value)} characters, over the limit of {limit}]"

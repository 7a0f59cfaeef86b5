"""Server text made safe to show: no terminal escape sequences, no control characters, a bounded length.

Job names, progress strings, fail reasons and error messages come from the server. Printed raw they could set the
window title, clear the screen, forge lines (``\\n``) or reorder text (bidi overrides), and a 5 MB reason would
fill the terminal. ``clean`` is applied where such text is *shown* (progress lines, log lines, error messages);
the JSON output keeps the server's text whole (``json.dumps`` escapes control characters there).
"""

from __future__ import annotations

import re
import unicodedata

# Whole escape sequences first (so their parameters do not survive as text): OSC (ESC ] ... BEL or ESC \),
# CSI (ESC [ params final), then any other ESC + one character; the same for the 8-bit C1 introducers.
_SEQUENCES = re.compile(
    r"(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|\x1b[@-Z\\-_]?"
)
_SPACES = re.compile(r"[\t\n\r\v\f\u2028\u2029]+")
ELLIPSIS = "…"


def _visible(char: str) -> bool:
    # Cc: C0/C1 controls (BEL, BS, DEL, ...); Cf: format characters such as bidi overrides and zero-width ones;
    # Cs/Co/Cn: surrogates, private use, unassigned: nothing a job name needs.
    return unicodedata.category(char)[0] != "C"


def clean(text: str, limit: int | None = None) -> str:
    """``text`` without escape sequences or control characters (line breaks and tabs become one space),
    cut to at most ``limit`` characters with a trailing ``…`` when it was longer."""
    if not isinstance(text, str):
        text = str(text)
    if limit is not None and len(text) > 4 * limit + 64:
        text = text[: 4 * limit + 64]  # never scan megabytes to show a line
        cut = True
    else:
        cut = False
    text = _SEQUENCES.sub("", text)
    text = _SPACES.sub(" ", text)
    if not text.isprintable():
        text = "".join(c for c in text if c == " " or _visible(c))
    if limit is not None and (cut or len(text) > limit):
        text = text[: max(limit - 1, 0)] + ELLIPSIS if limit > 0 else ""
    return text


# ``scheme://`` then everything up to an ``@`` that comes before the next ``/``: the userinfo of a URL. Spaces are
# not a stop: a refused endpoint such as ``https://us er:pw@host`` is shown in its error message, and must not
# leak ``er:pw``. Over-removal (text between a URL and a later ``@``) is the lesser harm.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@]*@")


def strip_userinfo(text: str) -> str:
    """``text`` with the userinfo of every URL in it (``https://user:pw@host``) replaced by ``***``."""
    if "@" not in text or "://" not in text:
        return text
    return _USERINFO.sub(r"\1***@", text)

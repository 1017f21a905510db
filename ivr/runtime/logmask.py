"""Keep callers' phone numbers and birth dates out of every log line.

Numbers and dates reach logs through messages nobody wrote for them: a Twilio error quoting the
number it would not dial, a traceback's exception text, a library's DEBUG output. So masking is
not left to each call site: a log-record factory masks every record as it is made, message and
traceback both, whichever logger made it. A phone number keeps its last four digits (enough to
tell two calls apart); a date keeps nothing. A password in a URL (REDIS_URL's
`redis://:secret@host`, a `?password=` parameter) is hidden the same way, in every record and
wherever the server prints a URL (`without_credentials`).
"""

from __future__ import annotations

import logging
import re
from typing import Any

# 7+ digits, optionally led by + and split by spaces or dashes, not inside a longer word (a
# CallSid's hex digits stay as they are). A resident ID (17 digits and a check character) too.
_NUMBER = re.compile(r"(?<![\w+])\+?\d(?:[ \-]?\d){6,}[\dXx]?(?!\w)")
_DATE = re.compile(r"(?<!\d)(?:1[89]|20)\d\d\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}日?(?!\d)")
# scheme://user:password@ (the user may be empty, as in redis://:password@host).
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]*):[^\s@/]+@")
_QUERY_PASSWORD = re.compile(r"(?i)([?&](?:sentinel_password|password|pass|pwd)=)[^&\s#]+")
_INSTALLED = "silverline_masks_logs"


def mask(text: str) -> str:
    """`text` with phone-number-like digit runs, calendar dates and URL passwords hidden."""
    return _NUMBER.sub(_hide_number, _DATE.sub("****-**-**", without_credentials(text)))


def without_credentials(text: str) -> str:
    """`text` with the password of every URL in it replaced by ***."""
    return _QUERY_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1:***@", text))


def _hide_number(found: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", found.group())
    return "•" * (len(digits) - 4) + digits[-4:]


def install() -> None:
    """Mask every log record this process makes from now on (idempotent)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, _INSTALLED, False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return _masked(previous(*args, **kwargs))

    setattr(factory, _INSTALLED, True)
    logging.setLogRecordFactory(factory)


def _masked(record: logging.LogRecord) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: logging reports it at emit time
        return record
    record.msg, record.args = mask(message), ()
    if record.exc_info and not record.exc_text:
        record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = mask(record.stack_info)
    return record

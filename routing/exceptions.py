"""Errors the engine raises; each names what went wrong in words an operator can act on."""


class SilverlineError(Exception):
    """Base of every Silverline error."""


class SettingsError(SilverlineError):
    """A configuration value is missing or malformed; the message names the key."""


class StoreUnavailable(SilverlineError):
    """Redis could not be reached or did not answer in time."""


class ImportRowError(SilverlineError):
    """A CSV row is invalid; carries its line number and the reason."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


class CustomerBusy(SilverlineError):
    """A customer cannot be deleted now: a call of theirs is live (on the line, offered, or a
    call-back queued to them)."""

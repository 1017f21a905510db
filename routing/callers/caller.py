"""Who is calling: the customer record behind a number, their age on the call's date, dialect."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Customer:
    """A directory record. Age is never stored: it is computed from `birth_date` per call."""

    id: str
    name: str
    birth_date: date
    dialect: str | None
    phones: tuple[str, ...]


@dataclass(frozen=True)
class Caller:
    """Everything the call flow needs to know about the person on the line."""

    raw_from: str
    number: str | None  # E.164; None when withheld, a client/SIP identity, or invalid
    customer: Customer | None
    age: int | None
    dialect: str  # a dialect pack code, e.g. "mandarin", "cantonese"
    senior: bool

    @property
    def known(self) -> bool:
        return self.customer is not None

    @property
    def name(self) -> str:
        return self.customer.name if self.customer else ""

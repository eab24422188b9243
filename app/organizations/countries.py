"""The country an organisation gives: one rule for the registration form, the import of
organisations and the API.

A country is an ISO 3166-1 alpha-2 code Babel's locale data names as a territory, or
INTERNATIONAL_COUNTRY for an organisation that works across countries (see
app.models.organization for why it is stored as a code).
"""

from __future__ import annotations

import functools

from babel import Locale

from app.models.organization import INTERNATIONAL_COUNTRY

# Babel's territories also hold regions ("001"), groupings and pseudo-codes that are no country.
NOT_COUNTRIES = frozenset({"EU", "EZ", "QO", "UN", "XA", "XB", "ZZ"})


@functools.cache
def country_codes() -> frozenset[str]:
    """Every real country's code (not INTERNATIONAL_COUNTRY)."""
    codes = Locale("en").territories
    return frozenset(
        code for code in codes if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES
    )


def organisation_country(value: str | None) -> str | None:
    """`value` as a stored organisation country (upper case), or None when it is not one."""
    code = (value or "").strip().upper()
    if code == INTERNATIONAL_COUNTRY or code in country_codes():
        return code
    return None

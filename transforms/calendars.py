"""Country holiday calendars for the business-hours schedules, from the ``holidays`` library (it ships its
rules as code: nothing is downloaded at run time).

A schedule's ``holidays = { country = "PL", subdivision = "14", add = [...], remove = [...] }`` is checked
here when the policy is read (an unknown country or subdivision fails naming the key and the valid codes),
and expanded into plain dates for a span of years just before dbt runs (``expand``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class CountryCalendar:
    """A country's public holidays (optionally of one subdivision: a state, province or region), with the
    dates a team adds (closed too) and removes (open after all) on top."""

    country: str
    subdivision: str | None = None
    add: tuple[date, ...] = ()
    remove: tuple[date, ...] = ()

    def dates(self, years: Iterable[int]) -> tuple[date, ...]:
        """The closed local dates of ``years``: the library's holidays, plus ``add``, less ``remove``
        (``add`` and ``remove`` count whatever their year)."""
        import holidays  # imported only with a country calendar: 0.18 s and 17 MB resident

        calendar = holidays.country_holidays(self.country, subdiv=self.subdivision, years=list(years))
        return tuple(sorted((set(calendar) | set(self.add)) - set(self.remove)))


def check_country(country: object, subdivision: object, where: str) -> str | None:
    """An error message naming ``where``'s key and the fix when ``holidays`` knows no such country or
    subdivision, else None."""
    import holidays

    supported = holidays.list_supported_countries()
    if not isinstance(country, str) or country.strip().upper() not in supported:
        hint = _suggest(str(country))
        return (f"{where} holidays.country {country!r} is not a country the holidays library knows{hint}: give an "
                'ISO 3166-1 alpha-2 code such as "PL", "US" or "DE"')
    code = country.strip().upper()
    if subdivision is None:
        return None
    codes = supported[code]
    if not isinstance(subdivision, str) or not _is_subdivision(code, subdivision):
        valid = ", ".join(codes) if codes else f"none: {code} has no subdivisions, leave subdivision out"
        return f"{where} holidays.subdivision {subdivision!r} is not a subdivision of {code}: valid ones are {valid}"
    return None


def _suggest(country: str) -> str:
    """" (did you mean PL?)" for a name or code close to a country's (Poland, PLN), else ""."""
    from holidays import registry

    codes = {}
    for names in registry.COUNTRIES.values():
        codes.update({names[0].lower(): names[1], names[1].lower(): names[1], names[2].lower(): names[1]})
    close = difflib.get_close_matches(country.strip().lower().replace(" ", ""), codes, n=3, cutoff=0.6)
    suggestions = list(dict.fromkeys(codes[name] for name in close))
    return f" (did you mean {', '.join(suggestions)}?)" if suggestions else ""


def _is_subdivision(country: str, subdivision: str) -> bool:
    import holidays

    try:
        holidays.country_holidays(country, subdiv=subdivision, years=[])
    except NotImplementedError:
        return False
    return True

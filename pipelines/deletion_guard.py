"""The guard against mass disappearance, its setting: how large a share of the live tickets a complete run may newly
leave unlisted before its deletion check is not believed (pipelines/deletions.py applies it)."""

from __future__ import annotations

import dlt

from pipelines.usercom.errors import UsercomConfigError

# A helpdesk deletes a few tickets a night: a fifth of the account unlisted at once is far likelier an API or
# access fault than a purge, and a real purge is let through by setting the share to 1 for that night.
MAX_UNLISTED_SHARE = 0.2
ALWAYS_ALLOWED = 10  # newly unlisted tickets the guard never holds, however small the account
SHARE_SETTING = "usercom_max_unlisted_share"


def max_unlisted_share(given: float | None = None) -> float:
    """The guard's share: `given` (a run's argument, e.g. the command line's --allow-mass-deletion), else
    `usercom_max_unlisted_share` (env USERCOM_MAX_UNLISTED_SHARE), else MAX_UNLISTED_SHARE; a value outside 0..1
    is refused naming the setting."""
    value = given if given is not None else dlt.config.get(SHARE_SETTING)
    if value is None:
        return MAX_UNLISTED_SHARE
    try:
        share = float(value)
    except (TypeError, ValueError):
        share = -1.0
    if not 0.0 <= share <= 1.0:
        raise UsercomConfigError(f"{SHARE_SETTING} = {value!r}: give a share of the live tickets between 0 and 1 "
                                 f"(default {MAX_UNLISTED_SHARE}; 1 lets a night's mass deletion through).")
    return share

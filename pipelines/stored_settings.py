"""The destination and the SLA policy file a command works with when its flags do not say, so that neither has to be
repeated on every command.

The destination: `--destination`, else the setting `usercom.destination` (`[usercom] destination = "postgres"` in
.dlt/config.toml, env USERCOM__DESTINATION), else the destination the data directory was last loaded into (dlt
keeps it in the pipeline's state there), else duckdb. The policy file: `--policy`, else `usercom.policy`
(env USERCOM__POLICY; a relative path is read from the working directory, as the flag is), else the packaged
transforms/sla_policy.toml. Both settings are read through dlt's config resolution, as every other setting is.
"""

from __future__ import annotations

import logging
from pathlib import Path

import dlt

from pipelines.job.pipeline import LOCAL_DESTINATIONS, PIPELINE_NAME
from pipelines.usercom.errors import UsercomConfigError

DESTINATION_SETTING = "usercom.destination"
POLICY_SETTING = "usercom.policy"
DEFAULT_DESTINATION = "duckdb"

log = logging.getLogger("usercom.settings")


class SettingError(UsercomConfigError):
    """A `usercom` setting that cannot be used: its value names the setting and the fix."""

    exit_code = 4  # configuration (the command line's exit codes)


def chosen_destination(directory: Path, flag: str | None) -> str:
    """The destination a command on `directory` uses: `flag`, else the setting, else the last loaded, else duckdb.

    A flag or a setting that disagrees with the destination the directory was last loaded into is used, with a
    warning naming both (the marts and the run log of the other one are not where this command looks)."""
    setting = _text_setting(DESTINATION_SETTING, "USERCOM__DESTINATION", 'e.g. "postgres" or "duckdb"')
    if setting is not None and not flag:  # a flag wins over the setting, as --policy does
        _check_destination_setting(setting)
    last = last_loaded_destination(directory)
    chosen = flag or setting or last or DEFAULT_DESTINATION
    if last is not None and _kind(chosen) != _kind(last):
        said = "--destination" if flag else f"the setting {DESTINATION_SETTING}"
        log.warning("%s says %s, but %s was last loaded into %s: this command works on %s", said, chosen, directory,
                    last, chosen)
    return chosen


def chosen_policy(flag: str | None) -> Path | None:
    """The SLA policy file: `flag`, else the setting `usercom.policy`, else None (the packaged default)."""
    if flag:
        return Path(flag)
    setting = _text_setting(POLICY_SETTING, "USERCOM__POLICY", 'the path of a policy file, e.g. "my_policy.toml"')
    if setting is None:
        return None
    path = Path(setting).expanduser()
    if not path.is_file():
        raise SettingError(f"{POLICY_SETTING} = {setting!r}: no such file (from {Path.cwd()}); set it (or "
                           "USERCOM__POLICY) to an existing SLA policy file, relative to the working directory or "
                           "absolute, or remove it to use the packaged transforms/sla_policy.toml")
    return path


def last_loaded_destination(directory: Path) -> str | None:
    """The destination `directory`'s pipeline was last loaded into, as its state there says (`duckdb` or `parquet`
    for the local ones, pipeline.local_destination's name); None before the first load. Reads the state through dlt
    without changing it."""
    if not (directory / ".dlt" / PIPELINE_NAME / "state.json").is_file():
        return None  # dlt.attach would create the pipeline's folders to say so
    state = dlt.attach(PIPELINE_NAME, pipelines_dir=str(directory / ".dlt")).state
    destination = state.get("destination_name") or (state.get("destination_type") or "").rsplit(".", 1)[-1]
    return destination or None


def _check_destination_setting(setting: str) -> None:
    """Refuses a `usercom.destination` that names no destination dlt knows, saying where it was set and which work."""
    from pipelines.error_text import known_destinations
    from pipelines.job.preflight import destination_type
    from pipelines.run_errors import UnknownDestination

    try:
        destination_type(setting)
    except UnknownDestination:
        where = _where_set(DESTINATION_SETTING)
        how = "set it there, or remove it for the destination last loaded, else duckdb"
        raise SettingError(f"{DESTINATION_SETTING} = {setting!r}, set in {where}: no such destination; choose one of "
                           f"{known_destinations(setting, how)}") from None


def _where_set(key: str) -> str:
    """Where dlt's config resolution found `key`: the environment variable or the files (of the first provider that
    holds it, in the order `dlt.config` looks them up)."""
    *sections, name = key.split(".")
    for provider in dlt.config.config_providers:
        value, found_as = provider.get_value(name, str, None, *sections)
        if value is None:
            continue
        files = getattr(provider, "present_locations", None)
        if files:
            return f"[{'.'.join(sections)}] {name} of {' or '.join(str(Path(f).resolve()) for f in files)}"
        return f"the environment ({found_as})" if provider.name == "Environment Variables" else provider.name
    return "the dlt config"


def _kind(destination: str) -> str:
    """`duckdb` for the destinations that load into the data directory's DuckDB file, else the name."""
    return "duckdb" if destination in LOCAL_DESTINATIONS else destination


def _text_setting(key: str, env: str, example: str) -> str | None:
    """The setting `key` as a non-empty string, None when unset; refused naming the setting when it is not text."""
    value = dlt.config.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SettingError(f"{key} = {value!r}: give a name as text ({example}) in [usercom] of .dlt/config.toml "
                           f"or as {env}, or remove it")
    return value.strip()

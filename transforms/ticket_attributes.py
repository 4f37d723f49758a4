"""Custom ticket attributes carried into ``fct_tickets``: the policy's ``ticket_attributes`` names a yml file
of the user's own, in dbt's column format, that lists the raw ``attributes__*`` columns with their type and
description. Checked here, before dbt starts, naming the entry and the fix."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from transforms.errors import TransformError

DATA_TYPES = ("text", "bigint", "double precision", "boolean", "date", "timestamp with time zone")
_NAME = re.compile(r"attributes__[a-z0-9_]+")
EXAMPLE = ('columns:\n  - name: attributes__channel\n    data_type: text\n'
           '    description: Where the ticket came in (email, chat, ...).')


class TicketAttributesError(TransformError, ValueError):
    """The ticket attributes file is missing, malformed, or lists a column wrongly."""


@dataclass(frozen=True)
class TicketAttribute:
    """A raw column of ``usercom.tickets`` to carry into ``fct_tickets`` under its own name, cast to ``data_type``."""

    name: str
    data_type: str
    description: str

    def as_var(self) -> dict[str, str]:
        """The entry of the dbt var ``usercom_ticket_attributes``."""
        return {"name": self.name, "data_type": self.data_type, "description": self.description}


def load_ticket_attributes(path: Path, where: str) -> tuple[TicketAttribute, ...]:
    """The columns listed in the yml file ``path``; ``where`` names the setting that points at it in messages."""
    if not path.is_file():
        raise TicketAttributesError(f"{where}: {path} does not exist: write the attribute columns there, e.g.\n{EXAMPLE}")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise TicketAttributesError(f"{where}: {path} is not valid YAML ({err}); write it as\n{EXAMPLE}") from None
    columns = document.get("columns") if isinstance(document, dict) else None
    if not isinstance(columns, list):
        raise TicketAttributesError(f"{where}: {path} must hold a list `columns:` of name, data_type and description, e.g."
                                    f"\n{EXAMPLE}")
    attributes = [_attribute(column, f"{where}: {path}") for column in columns]
    names = [a.name for a in attributes]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise TicketAttributesError(f"{where}: {path} lists {', '.join(twice)} more than once: list each column once")
    return tuple(attributes)


def _attribute(column: object, where: str) -> TicketAttribute:
    if not isinstance(column, dict):
        raise TicketAttributesError(f"{where}: every entry of columns needs name, data_type and description, got {column!r}")
    name, data_type, description = column.get("name"), column.get("data_type"), column.get("description")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise TicketAttributesError(f"{where}: {name!r} is not a custom attribute column: name the raw column of "
                                    "usercom.tickets, attributes__ and the attribute in lower case (e.g. attributes__channel)")
    if data_type not in DATA_TYPES:
        raise TicketAttributesError(f"{where}: {name} has data_type {data_type!r}: use one of {', '.join(DATA_TYPES)}")
    if not isinstance(description, str) or not description.strip():
        raise TicketAttributesError(f"{where}: {name} has no description: say in one line what the attribute holds")
    return TicketAttribute(name, data_type, description.strip())

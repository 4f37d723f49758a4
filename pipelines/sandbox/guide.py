"""What `usercom-tickets sandbox` prints under its first line: the key and the lines that point `check` and `run`
at it (the sandbox's key is fake and served on 127.0.0.1 only, so it is shown in full, unlike a real one)."""

from __future__ import annotations


def paste_lines(base_url: str, api_key: str) -> str:
    """The sandbox's key, then the environment exports or the .dlt/secrets.toml lines that use it, to paste."""
    return "\n".join([
        f"API key: {api_key}",
        "",
        "Point usercom-tickets at it from another shell in your project folder, either with these exports:",
        f"  export SOURCES__USERCOM__BASE_URL={base_url}",
        f"  export SOURCES__USERCOM__API_KEY={api_key}",
        "or with these lines in .dlt/secrets.toml (then `chmod 600 .dlt/secrets.toml`):",
        "  [sources.usercom]",
        f'  base_url = "{base_url}"',
        f'  api_key = "{api_key}"',
        "then: usercom-tickets check, usercom-tickets run, usercom-tickets report (docs/try-it-by-hand.md).",
        "Ctrl-C stops the sandbox.",
    ])

"""The README and docs/ are true: every command their ```sh blocks show parses (or, for make, resolves), every
option exists, every path and link they name exists, and the configuration table matches the source's settings.

Commands are checked without being run: `usercom-tickets` lines through the command line's own argparse parser,
`python -m MODULE` lines against that module's `--help`, `make` lines with `make -n`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from pipelines.cli import _parser
from pipelines.usercom.source_config import UsercomSettings

REPO = Path(__file__).resolve().parents[1]
DOCS = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md")])
SHELL_FENCE = re.compile(r"^```(?:sh|bash)\n(.*?)^```", re.M | re.S)
# shell commands shown for the reader to run that need a live server or change files: their form is not checked here
NOT_CHECKED = {"curl", "cd", "ln", "chmod", "mv", "cp", "mkdir"}
PATH_TOKEN = re.compile(r"`((?:pipelines|transforms|tests|benchmarks|notebooks|docs|\.ci)/[^`\s<>*]*|Makefile|pyproject\.toml)`")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def shell_commands(doc: Path) -> list[list[str]]:
    """The commands of `doc`'s ```sh and ```bash blocks, each as its words (comments and line continuations
    handled), with leading VAR=value assignments dropped."""
    commands = []
    for block in SHELL_FENCE.findall(doc.read_text(encoding="utf-8")):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
                words = words[1:]
            if words and words[0] == "export":
                continue  # an assignment for the lines after it
            if words:
                commands.append(words)
    return commands


def all_commands() -> list[tuple[str, list[str]]]:
    return [(doc.relative_to(REPO).as_posix(), words) for doc in DOCS for words in shell_commands(doc)]


def commands_of(program: str) -> list[tuple[str, list[str]]]:
    return [(doc, words) for doc, words in all_commands() if Path(words[0]).name == program]


def python_module_commands() -> list[tuple[str, list[str]]]:
    found = []
    for doc, words in all_commands():
        if re.fullmatch(r"python3?(\.\d+)?", Path(words[0]).name):
            found.append((doc, words))
    return found


def test_the_docs_show_commands_of_every_kind_checked():
    programs = {Path(words[0]).name for _, words in all_commands()}
    assert {"usercom-tickets", "make"} <= programs
    unknown = programs - {"usercom-tickets", "make", "python", "python3"} - NOT_CHECKED
    assert not unknown, f"commands the docs show that this test does not check: {sorted(unknown)}"


def ids(value):
    """A parametrized case's id: the command as shown."""
    return shlex.join(value) if isinstance(value, list) else value


@pytest.mark.parametrize(("doc", "words"), commands_of("usercom-tickets"), ids=ids)
def test_every_usercom_tickets_command_parses(doc, words):
    output = io.StringIO()
    with contextlib.redirect_stderr(output), contextlib.redirect_stdout(output):
        try:
            args = _parser().parse_args(words[1:])
        except SystemExit as exit_:
            assert exit_.code == 0 and {"-h", "--help"} & set(words), \
                f"{doc}: `{shlex.join(words)}` is refused by the command line ({exit_.code}): {output.getvalue()}"
            return
    name = words[2] if words[1] in ("-v", "--verbose") else words[1]
    sub = subcommands()[name]
    assert args.command is sub.get_default("command")
    known = {o for a in sub._actions for o in a.option_strings}
    abbreviated = [w.split("=")[0] for w in words[2:] if w.startswith("--") and w.split("=")[0] not in known]
    assert not abbreviated, f"{doc}: `{shlex.join(words)}`: {abbreviated} only parse as abbreviations"


@cache
def module_help(python_words: tuple[str, ...]) -> str:
    """`--help` of the module or script a `python` command runs, from this interpreter."""
    done = subprocess.run([sys.executable, *python_words, "--help"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(("doc", "words"), python_module_commands(), ids=ids)
def test_every_python_command_runs_an_existing_module_with_existing_options(doc, words):
    target = tuple(words[1:3]) if words[1] == "-m" else (words[1],)
    help_text = module_help(target)
    options = [w.split("=")[0] for w in words[1 + len(target):] if w.startswith("--")]
    missing = [o for o in options if not re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", help_text)]
    assert not missing, f"{doc}: `{shlex.join(words)}`: {missing} not in its --help"


@pytest.mark.parametrize(("doc", "words"), commands_of("make"), ids=ids)
def test_every_make_command_names_a_target(doc, words):
    done = subprocess.run(["make", "-n", *words[1:]], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{doc}: `{shlex.join(words)}`: {done.stderr}"


def subcommands() -> dict:
    """The command line's subcommands, name -> its argparse parser."""
    return next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction)).choices


def test_every_command_line_option_in_the_readme_tables_exists():
    subcommands_ = subcommands()
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if re.match(r"\| `--", line)]
    assert len(rows) >= 10
    for row in rows:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", row.strip("|"))]  # a \| inside a cell is no border
        options = re.findall(r"`(--[a-z-]+)", cells[0])
        named = [c.strip() for c in cells[1].split(",")]
        assert named and all(c in subcommands_ for c in named), row
        for command in named:
            known = {o for a in subcommands_[command]._actions for o in a.option_strings}
            assert set(options) <= known, f"{command} lacks {set(options) - known}: {row}"
    documented = set(re.findall(r"^\| `([a-z]+)` \|", readme, re.M)) & set(subcommands_)
    assert documented == set(subcommands_), "every subcommand has a row in the README's table of commands"


def test_every_path_the_docs_name_exists():
    missing = []
    for doc in [*DOCS, REPO / "transforms" / "README.md"]:
        for token in PATH_TOKEN.findall(doc.read_text(encoding="utf-8")):
            path = token.rstrip(".,:;")
            if not (REPO / path).exists():
                missing.append(f"{doc.relative_to(REPO)}: {path}")
    assert not missing, missing


def heading_anchors(doc: Path) -> set[str]:
    """The anchors GitHub makes of `doc`'s headings: lower case, punctuation dropped, spaces as hyphens."""
    anchors = set()
    for title in re.findall(r"^#+ (.+)$", doc.read_text(encoding="utf-8"), re.M):
        anchors.add(re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-"))
    return anchors


def test_every_relative_link_and_its_anchor_exists():
    broken = []
    for doc in [*DOCS, REPO / "transforms" / "README.md"]:
        text = re.sub(r"^```.*?^```", "", doc.read_text(encoding="utf-8"), flags=re.M | re.S)
        for target in LINK.findall(text):
            if re.match(r"[a-z]+://", target):
                continue
            file_part, _, anchor = target.partition("#")
            linked = (doc.parent / file_part).resolve() if file_part else doc
            if not linked.exists():
                broken.append(f"{doc.relative_to(REPO)}: {target}")
            elif anchor and anchor not in heading_anchors(linked):
                broken.append(f"{doc.relative_to(REPO)}: {target} (no such heading)")
    assert not broken, broken


def test_the_layout_map_names_only_what_exists():
    text = (REPO / "docs" / "layout.md").read_text(encoding="utf-8")
    block = re.search(r"^```\n(.*?)^```", text, re.M | re.S).group(1)  # the map: the first plain ``` block
    assert block.count("\n") > 50
    parents: list[tuple[int, str]] = []
    missing = []
    for line in block.splitlines():
        indent = len(line) - len(line.lstrip())
        names = re.split(r"\s{2,}", line.strip())[0]
        while parents and parents[-1][0] >= indent:
            parents.pop()
        folder = "/".join(p for _, p in parents)
        for name in (n.strip() for n in names.split(",")):
            path = f"{folder}/{name}" if folder else name
            if not (REPO / path).exists():
                missing.append(path)
        if names.endswith("/"):
            parents.append((indent, names.rstrip("/")))
    assert not missing, missing


def test_the_configuration_table_is_the_sources_settings():
    text = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`sources\.usercom\.([a-z_]+)`", text))
    parameters = {name for name in UsercomSettings.__annotations__ if not name.startswith("_")}
    assert documented == parameters
    for name in parameters:
        assert f"`SOURCES__USERCOM__{name.upper()}`" in text, name
    for doc in DOCS:
        for name in re.findall(r"SOURCES__USERCOM__([A-Z_]+)", doc.read_text(encoding="utf-8")):
            assert name.lower() in parameters, f"{doc.relative_to(REPO)}: SOURCES__USERCOM__{name} is no setting"


def test_the_readme_stays_short():
    assert len((REPO / "README.md").read_text(encoding="utf-8").splitlines()) <= 230


def test_the_readme_marts_table_names_every_mart():
    from transforms.catalog import mart_names

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| mart | grain |"):readme.index("## Connect a BI tool")]
    assert set(re.findall(r"`((?:fct|agg|rpt|dim)_[a-z_]+)`", table)) == set(mart_names())


def test_the_readme_exit_code_table_is_the_one_the_code_returns():
    from pipelines.exit_codes import table_markdown

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert table_markdown().strip() in readme, "paste `table_markdown()` of pipelines/exit_codes.py into the README"

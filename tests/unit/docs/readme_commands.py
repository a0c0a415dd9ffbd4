"""What the README tells a user to type: every `python -m sweeper …` command of its fenced code
blocks, and the override examples in backticks in its prose.

Commands are read as a shell would: lines ending in `\\` joined, `# comments` dropped, words split
respecting quotes, `&&` / `;` / `|` ending a command. An inline example is a backticked span of
the prose whose every shell word is an override (`key.path=value`, `group=option`, `+group=x`,
`-m`), its value non-empty.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.processes import REPO

README = REPO / "README.md"
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
BACKTICKED = re.compile(r"`([^`\n]+)`")
# an override's key: dotted (`load.extra_body`), a group path (`hydra/launcher`), `+`/`~` prefix
OVERRIDE = re.compile(r"^[+~]?[A-Za-z_][\w-]*(?:[./][A-Za-z_][\w-]*)*=.+$")
SWEEPER = ["python", "-m", "sweeper"]
OPERATORS = {"&&", "||", ";", "|", "&"}


@dataclass(frozen=True)
class Command:
    """One `python -m sweeper` command: its arguments (after the module), the README line it
    starts on and its `# comment` (where the README says what it gives)."""

    args: tuple[str, ...]
    line: int
    comment: str

    @property
    def text(self) -> str:
        return shlex.join([*SWEEPER, *self.args])


@dataclass(frozen=True)
class Example:
    """An inline override example: the backticked text, its shell words, the README line and
    the section it is under."""

    span: str
    words: tuple[str, ...]
    line: int
    section: str

    @property
    def text(self) -> str:
        return " ".join(self.words)


def shell_words(text: str) -> list[str]:
    """Words and operators of a shell line; a `#` starting a word starts a comment."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def logical_lines(block: str, first_line: int) -> list[tuple[int, str]]:
    """The block's lines with `\\`-continued ones joined, each with its README line number."""
    joined: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for offset, raw in enumerate(block.splitlines()):
        start, text = pending or (first_line + offset, "")
        if raw.rstrip().endswith("\\"):
            pending = (start, text + raw.rstrip()[:-1] + " ")
            continue
        pending = None
        joined.append((start, text + raw))
    if pending is not None:
        joined.append(pending)
    return joined


def comment_of(line: str) -> str:
    """The line's trailing `# comment`: what is left after the shell words end."""
    hashes = [m.start() for m in re.finditer(r"(?:^|\s)#", line)]
    for pos in hashes:
        before = line[:pos]
        try:
            shlex.split(before)  # a `#` outside quotes ends the words
        except ValueError:
            continue
        return line[pos:].strip().lstrip("#").strip()
    return ""


def commands_in(line: str) -> list[list[str]]:
    """The argument lists of every `python -m sweeper` in one shell line."""
    found: list[list[str]] = []
    current: list[str] = []
    for word in [*shell_words(line), ";"]:
        if word not in OPERATORS:
            current.append(word)
            continue
        if current[:3] == SWEEPER:
            found.append(current[3:])
        current = []
    return found


def fenced_commands(text: str) -> list[Command]:
    found = []
    for block in FENCE.finditer(text):
        first_line = text.count("\n", 0, block.start(1)) + 1
        for line_no, line in logical_lines(block.group(1), first_line):
            if " ".join(SWEEPER) not in line:
                continue  # not shell: a tree, a table (its quotes need not pair)
            for args in commands_in(line):
                found.append(Command(tuple(args), line_no, comment_of(line)))
    return found


def prose_without_fences(text: str) -> str:
    """The README with its fenced blocks blanked (line numbers kept)."""
    return FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def inline_examples(text: str) -> list[Example]:
    found = []
    section = ""
    for line_no, line in enumerate(prose_without_fences(text).splitlines(), start=1):
        if line.startswith("#"):
            section = line.lstrip("#").strip()
        for span in BACKTICKED.findall(line):
            try:
                words = shlex.split(span)
            except ValueError:
                continue  # not shell text
            overrides = [w for w in words if w != "-m"]
            if overrides and all(OVERRIDE.match(w) for w in overrides):
                found.append(Example(span, tuple(words), line_no, section))
    return found


def readme_text(path: Path = README) -> str:
    return path.read_text(encoding="utf-8")

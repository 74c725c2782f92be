"""The code blocks of a Markdown page that a reader would run, and how each is exercised.

A ```bash / ```sh / ```python block carries its mode in the info string: ``test`` (run by the
docs tests) or ``mirrored-by=<path>[,<path>…]`` (run by those tests or scripts). An unmarked
block has mode "" so a test can name it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from servers import REPO_ROOT

FENCE = re.compile(r"^```([\w-]*)([^\n]*)\n(.*?)^```[ \t]*$", re.S | re.M)
RUNNABLE = {"python", "sh", "bash", "shell", "console"}


@dataclass
class Block:
    page: Path
    language: str
    code: str
    line: int
    mode: str  # "test", "mirrored-by" or "" (unmarked)
    mirror: str = ""

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(REPO_ROOT)}:{self.line}"


def blocks_of(page: Path) -> list[Block]:
    text = page.read_text()
    found = []
    for m in FENCE.finditer(text):
        language, info, code = m.group(1), m.group(2).split(), m.group(3)
        if language not in RUNNABLE:
            continue
        block = Block(page, language, code, text.count("\n", 0, m.start()) + 1, "")
        if info == ["test"]:
            block.mode = "test"
        elif len(info) == 1 and info[0].startswith("mirrored-by="):
            block.mode, block.mirror = "mirrored-by", info[0].split("=", 1)[1]
        found.append(block)
    return found

"""One-line errors for the training CLI (``ser-zoo fit/validate/test/predict``).

jsonargparse answers a wrong key or value with the whole usage (over a hundred lines) and a multi-line report
of every Union subtype it tried. ``OneLineErrorParser`` says the same in one line, with the nearest keys for a
misspelt one (``did you mean 'trainer.max_epochs'?``). ``JSONARGPARSE_DEBUG=true`` still gives
jsonargparse's full report.
"""

from __future__ import annotations

import os
import re
import sys
from typing import NoReturn, Optional

from lightning.pytorch.cli import LightningArgumentParser

from ..suggest import hint

#: Lines of jsonargparse's Union report that say how it searched, not what is wrong.
_NOISE = ("Does not validate against any of the Union subtypes", "Subtypes:", "Errors:", "Given value type:")
#: Where a message quotes the key it could not place: ``option 'x.y'``, ``key 'x.y'``, ``--x.y``.
_QUOTED_KEY = re.compile(r"(?:option|key)s? '([\w.]+)'|--([\w.]+)")


def one_line(message: str) -> str:
    """jsonargparse's (possibly multi-line) message as one line: its lines joined by ``; `` (a space after
    a colon), list dashes and repeated lines dropped, the search report's bookkeeping lines left out."""
    parts: list[str] = []
    for line in str(message).splitlines():
        line = line.strip().lstrip("- ").strip()
        if line and not line.startswith(_NOISE) and line not in parts:
            parts.append(line)
    text = parts[0] if parts else "invalid arguments"
    for before, part in zip(parts, parts[1:]):
        text += (" " if before.endswith(":") else "; ") + part
    return text


def parser_keys(parser) -> list[str]:
    """Every key a parser accepts (``trainer.max_epochs``, ``model.lr``, ``ckpt_path``, ...)."""
    return sorted({a.dest for a in parser._actions if a.dest and a.dest not in ("help", "==SUPPRESS==")})


def unknown_key(message: str, keys: list[str]) -> Optional[str]:
    """The first key ``message`` quotes that the parser does not accept (``None``: it names none)."""
    found = [a or b for a, b in _QUOTED_KEY.findall(message)]
    return next((k for k in found if k not in keys), None)


class OneLineErrorParser(LightningArgumentParser):
    """LightningArgumentParser whose errors are one line on stderr (exit code 2, as argparse's)."""

    def error(self, message: str, ex: Optional[Exception] = None) -> NoReturn:
        if not self.exit_on_error or os.environ.get("JSONARGPARSE_DEBUG"):  # jsonargparse's own way
            super().error(message, ex)
        parser = getattr(ex, "subcommand_parser", None) or self
        prog = parser.prog.replace(" [options]", "")
        keys = parser_keys(parser)
        near = hint(unknown_key(message, keys), keys, cutoff=0.75, quote=True)
        sys.stderr.write(f"{prog}: error: {one_line(message)}; {near}{prog} --help lists every key\n")
        self.exit(2)

"""A tiny document model rendered to both Markdown and self-contained HTML.

The report is built once as a list of blocks so that ``report.md`` and ``report.html`` always say
the same thing; the HTML embeds every PNG as a base64 data URI (no external assets).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Table:
    header: Sequence[str]
    rows: Sequence[Sequence[str]]


@dataclass(frozen=True)
class Image:
    """A PNG at ``path`` relative to the report folder."""

    path: str
    alt: str


@dataclass(frozen=True)
class Link:
    """A link to a file at ``path`` relative to the report folder (e.g. a CSV table)."""

    path: str
    text: str


Block = Heading | Para | Code | Table | Image | Link


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(blocks: Sequence[Block]) -> str:
    """GitHub-flavoured Markdown of ``blocks`` (images are linked by relative path)."""
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f"{'#' * b.level} {b.text}")
        elif isinstance(b, Para):
            out.append(b.text)
        elif isinstance(b, Code):
            out.append(f"```\n{b.text}\n```")
        elif isinstance(b, Table):
            lines = ["| " + " | ".join(_md_cell(h) for h in b.header) + " |",
                     "|" + "|".join("---" for _ in b.header) + "|"]  # fmt: skip
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
            out.append("\n".join(lines))
        elif isinstance(b, Image):
            out.append(f"![{b.alt}]({b.path})")
        elif isinstance(b, Link):
            out.append(f"[{b.text}]({b.path})")
        else:
            raise TypeError(f"unknown block {type(b).__name__}; valid: {Block}")
    return "\n\n".join(out) + "\n"


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
th { background: #f3f3f3; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; }
img { max-width: 100%; }
"""


def to_html(blocks: Sequence[Block], base_dir: Path, title: str) -> str:
    """A single self-contained HTML page; images under ``base_dir`` are inlined as data URIs."""
    esc = html.escape
    body: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            body.append(f"<h{b.level}>{esc(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            body.append(f"<p>{esc(b.text)}</p>")
        elif isinstance(b, Code):
            body.append(f"<pre><code>{esc(b.text)}</code></pre>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{esc(h)}</th>" for h in b.header)
            rows = "".join(
                "<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in b.rows
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif isinstance(b, Image):
            data = base64.b64encode((base_dir / b.path).read_bytes()).decode("ascii")
            body.append(f'<p><img alt="{esc(b.alt)}" src="data:image/png;base64,{data}"></p>')
        elif isinstance(b, Link):  # the file sits beside the report, not inlined
            body.append(f'<p><a href="{esc(b.path)}">{esc(b.text)}</a></p>')
        else:
            raise TypeError(f"unknown block {type(b).__name__}; valid: {Block}")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )

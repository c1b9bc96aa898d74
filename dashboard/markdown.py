"""Text shown through Streamlit's Markdown exactly as written (names, titles and other data values)."""

from __future__ import annotations

import re

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$&:])")


def plain(text: str) -> str:
    """Text that Streamlit's Markdown shows as written: every character Markdown or HTML would read is escaped, so a
    name like `**x** [a](http://…)` or `<img src=…>` is shown, never rendered or fetched. Markdown also turns a bare
    `http://…`, `www.…` or e-mail address into a link whatever is escaped: an invisible break keeps those text."""
    text = _MARKDOWN.sub(r"\\\1", text)
    text = re.sub(r"(?i)\\:(//)", r"\\:&#8203;\1", text)
    text = re.sub(r"(?i)\b(www)\\\.", r"\1&#8203;\\.", text)
    return text.replace("@", "&#64;")

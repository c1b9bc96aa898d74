"""Your office's name and logo, shown in the dashboard's sidebar and on the outcomes report.

Set by `MIO_OFFICE_NAME` (text, shown as text) and `MIO_OFFICE_LOGO` (a PNG, JPEG or SVG file on the server, at most
1 MB). The logo is embedded in the report itself, so the file still opens offline.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}
MAX_LOGO_BYTES = 1_000_000


@dataclass(frozen=True)
class Office:
    name: str | None
    logo: Path | None

    def logo_data_uri(self) -> str | None:
        """The logo as a data: URI (for the self-contained report), or None."""
        if self.logo is None:
            return None
        encoded = base64.b64encode(self.logo.read_bytes()).decode()
        return f"data:{LOGO_TYPES[self.logo.suffix.lower()]};base64,{encoded}"


def office() -> Office:
    """The settings as they are now; a logo that is missing, too large or of another type is left out."""
    name = (os.environ.get("MIO_OFFICE_NAME") or "").strip() or None
    logo = None
    if given := os.environ.get("MIO_OFFICE_LOGO"):
        path = Path(given)
        if path.suffix.lower() in LOGO_TYPES and path.is_file() and path.stat().st_size <= MAX_LOGO_BYTES:
            logo = path
    return Office(name, logo)

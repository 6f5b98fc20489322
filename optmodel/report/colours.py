"""Deterministic colours: the same node, market or stage has the same colour everywhere.

Names are hashed (SHA-1, not Python's salted ``hash``), so a node keeps its
colour across charts, runs, machines and the side-by-side compare report.
"""

from __future__ import annotations

import colorsys
import hashlib

STAGE_NAMES = {
    0: "ore",
    1: "concentrate",
    2: "mixed compounds",
    3: "separated oxides",
    4: "metals/alloys",
    5: "magnets",
}
# Sequential: brown ore → olive → orange → teal → blue → purple magnets.
STAGE_COLOURS = {
    0: "#8c564b",
    1: "#a89c1f",
    2: "#ff7f0e",
    3: "#17becf",
    4: "#1f77b4",
    5: "#9467bd",
}
UNKNOWN_STAGE_COLOUR = "#7f7f7f"


def colour_for(name: str) -> str:
    """A stable, mid-saturation colour (``#rrggbb``) for a node or market name."""
    digest = hashlib.sha1(str(name).encode("utf-8")).digest()
    hue = int.from_bytes(digest[:2], "big") / 65536.0
    saturation = 0.50 + digest[2] / 255.0 * 0.35
    lightness = 0.36 + digest[3] / 255.0 * 0.20
    r, g, b = colorsys.hls_to_rgb(hue, lightness, saturation)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def stage_colour(stage: int | None) -> str:
    """Colour of a product stage (0 ore … 5 magnet); grey when unknown."""
    if stage is None:
        return UNKNOWN_STAGE_COLOUR
    return STAGE_COLOURS.get(int(stage), UNKNOWN_STAGE_COLOUR)


def stage_label(stage: int | None) -> str:
    """``"stage 3 separated oxides"``; ``"stage ?"`` when unknown."""
    if stage is None:
        return "stage ?"
    name = STAGE_NAMES.get(int(stage))
    return f"stage {int(stage)} {name}" if name else f"stage {int(stage)}"


def with_alpha(hex_colour: str, alpha: float) -> str:
    """``#rrggbb`` → ``rgba(r,g,b,alpha)``."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"

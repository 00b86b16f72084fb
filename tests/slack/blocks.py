"""Reading Block Kit in the render and view tests: texts, buttons, and a sample result."""

from __future__ import annotations

from bot.core.replies import Button, Section


def texts(blocks: list[dict]) -> list[str]:
    """Every mrkdwn text in a list of blocks (sections and context elements)."""
    found = []
    for block in blocks:
        if block["type"] == "section":
            found.append(block["text"]["text"])
        elif block["type"] == "context":
            found += [element["text"] for element in block["elements"]]
    return found


def buttons(blocks: list[dict]) -> list[dict]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def item(n: int, **overrides) -> Section:
    values = {
        "heading": f"Call {n}",
        "url": f"https://funder.example/calls/{n}",
        "lines": [f"Funding call · MRC · number {n}", "Closes 1 April 2025"],
        "buttons": [
            Button("Remind me", action=f"remind:{n}"),
            Button("Not relevant", action=f"dismiss:{n}"),
            Button("Open call", url=f"https://funder.example/calls/{n}"),
        ],
        "note": "co-PI: a senior member of the research team",
    }
    values.update(overrides)
    return Section(**values)


# --------------------------------------------------------------------------- escaping

"""Documentation generated from the code: the per-provider capability table for README.md."""

from __future__ import annotations

from tablegraph.model import Capability
from tablegraph.providers import available_kinds, provider_class


def capability_table() -> str:
    """A Markdown table: one row per capability, one column per implemented provider."""
    classes = [provider_class(k) for k in available_kinds()]
    head = "| capability | " + " | ".join(f"`{c.kind}`" for c in classes) + " |"
    rule = "|---|" + "---|" * len(classes)
    rows = [
        f"| {cap.value} | "
        + " | ".join("yes" if cap in c.capabilities else "—" for c in classes)
        + " |"
        for cap in Capability
    ]
    return "\n".join([head, rule, *rows])

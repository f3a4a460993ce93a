"""schema.graphql at the repository root is the exported SDL of the live schema."""

from pathlib import Path

from tablegraph.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_committed_sdl_matches_live_schema(capsys) -> None:
    assert main(["export-schema"]) == 0
    exported = capsys.readouterr().out
    assert (ROOT / "schema.graphql").read_text(encoding="utf-8") == exported, (
        "schema.graphql is stale: run `tablegraph export-schema > schema.graphql`"
    )

"""README.md keeps a current capability table and a runnable test command."""

from pathlib import Path

from tablegraph.docs import capability_table

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_capability_table_is_generated_from_the_adapters() -> None:
    start = README.index("<!-- capabilities -->") + len("<!-- capabilities -->")
    end = README.index("<!-- /capabilities -->")
    assert README[start:end].strip() == capability_table(), (
        "README capability table is stale: paste `tablegraph capabilities`"
    )


def test_readme_has_one_test_command_that_runs_pytest() -> None:
    block = README.split("<!-- test-command -->")[1].split("<!-- /test-command -->")[0]
    lines = [line for line in block.splitlines() if line and not line.startswith("```")]
    assert len(lines) == 1 and "pytest" in lines[0]

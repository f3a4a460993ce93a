"""The command line: configuration errors name what is wrong; simulators list themselves."""

from __future__ import annotations

from pathlib import Path

from tablegraph.cli import main


def test_serve_with_a_missing_variable_names_it(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("TG_TEST_VARDVIK_KEY", raising=False)
    config = tmp_path / "gateway.toml"
    config.write_text(
        '[[upstreams]]\nname = "v"\nkind = "vardvik"\nbase_url = "http://127.0.0.1:9/api/v1"\n'
        'credentials = { api_key = "TG_TEST_VARDVIK_KEY" }\n'
        'options = { restaurant_ids = ["rst_1"] }\n'
    )
    assert main(["serve", "--config", str(config)]) == 2
    assert "TG_TEST_VARDVIK_KEY" in capsys.readouterr().err


def test_serve_with_an_unknown_key_names_it(tmp_path: Path, capsys) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text("[gateway]\nprot = 8080\n")
    assert main(["serve", "--config", str(config)]) == 2
    assert "prot" in capsys.readouterr().err


def test_simulate_an_unknown_kind(capsys) -> None:
    assert main(["simulate", "opentable", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "opentable" in err and "vardvik" in err


def test_serve_with_an_unknown_security_key_names_it(tmp_path: Path, capsys) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text("[security]\nproduction = false\ngraphql = true\n")
    assert main(["serve", "--config", str(config)]) == 2
    assert "security.graphql: unknown key" in capsys.readouterr().err


def test_documents_refuses_an_operation_the_schema_does_not_have(tmp_path: Path, capsys) -> None:
    (tmp_path / "bad.graphql").write_text("query Bad { secrets }\n")
    assert main(["documents", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Bad" in err and "secrets" in err

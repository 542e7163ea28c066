"""The README stays true: its settings table is the generated one, its commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from service.cli import app
from service.cli.settings_cmd import END, START, reference_table, with_reference

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_settings_table_is_the_generated_one() -> None:
    text = README.read_text()
    assert with_reference(text) == text, "run `make docs` to regenerate the settings table"
    table = text.split(START)[1].split(END)[0]
    assert "`STAYCURRENT_DATABASE_URL`" in table
    assert table.strip() == reference_table()


def _command_words(span: str) -> list[str]:
    """``staycurrent sources check [FILE]`` -> ["sources", "check"]: words before any argument."""
    words = []
    for word in span.split()[1:]:
        if not re.fullmatch(r"[a-z][a-z-]*", word):
            break
        words.append(word)
    return words


def test_every_staycurrent_command_in_the_readme_exists() -> None:
    runner = CliRunner()
    spans = re.findall(r"`(staycurrent [^`]+)`", README.read_text())
    commands = {tuple(_command_words(span)) for span in spans} - {()}
    assert len(commands) >= 8
    for words in sorted(commands):
        result = runner.invoke(app, [*words, "--help"])
        assert result.exit_code == 0, f"staycurrent {' '.join(words)}: {result.output}"

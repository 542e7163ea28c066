"""The API tour (docs/api-tour.md) runs as a user runs it: with bash, curl and jq, line after
line, against ``staycurrent serve`` on a non-default port, after the README's CLI examples (which
already made a profile called ``ada``), and a second time in a row (a rerun must not trip on
what the first one created). A line that ends with ``# -> STATUS`` expects that error.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from userkit import Session, newcomer

ROOT = Path(__file__).resolve().parent.parent
TOUR = ROOT / "docs" / "api-tour.md"
MARKER = "<!-- api-tour -->"
_STATUS = re.compile(r"\s+#\s*->\s*(\d{3})\s*$")
CHECKS = """
echo  # the tour's last answer ends without a newline
echo "TOUR-VARIABLES $(jq -cn --arg item "$ITEM" --arg source "$SOURCE" --arg token "$TOKEN" \\
  --arg next "$NEXT" --arg name "$NAME" \\
  '{item: $item, source: $source, token: $token, next: $next, name: $name}')"
"""


def tour_block(text: str) -> str:
    """The bash block after the marker, as written."""
    return text.split(MARKER, 1)[1].split("```bash", 1)[1].split("```", 1)[0]


def tour_lines(text: str) -> list[str]:
    """The lines of the tour, without blank lines and comments."""
    return [
        line.strip()
        for line in tour_block(text).splitlines()
        if line.strip() and not line.startswith("#")
    ]


def expected_errors(text: str) -> list[int]:
    return [int(m.group(1)) for line in tour_lines(text) if (m := _STATUS.search(line))]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    for tool in ("bash", "curl", "jq"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is needed to run the tour as a user would (.ci/run installs it)")
    if not (ROOT.parent / "shared" / "corpus").is_dir():
        pytest.skip("the README's Quick start ingests ../shared/corpus, which is absent")
    with newcomer(tmp_path_factory.mktemp("first-hour")) as running:
        yield running


def _run_tour(session: Session) -> tuple[dict[str, str], str]:
    done = session.bash(tour_block(TOUR.read_text()) + CHECKS)
    assert done.returncode == 0, f"the tour stopped:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    marker = next(line for line in done.stdout.splitlines() if line.startswith("TOUR-VARIABLES"))
    return json.loads(marker.removeprefix("TOUR-VARIABLES ")), done.stdout


def test_the_api_tour_runs_twice_after_the_readme_cli_lines(session: Session) -> None:
    text = TOUR.read_text()
    assert len(tour_lines(text)) >= 25
    first, output = _run_tour(session)
    assert first["item"].isdigit() and first["source"].isdigit()
    assert len(first["token"]) > 20 and first["next"] not in ("", "null")
    assert '"items":[{' in output  # the personal feed answered with items
    for status in expected_errors(text):  # each error line met the error it announces
        written = re.search(rf"(?:^|[}}\n]){status}\n", output)  # curl -w '%{{http_code}}\n'
        assert f'"status":{status}' in output or written, status
    second, _ = _run_tour(session)
    assert second["token"] not in ("", "null", first["token"]) and second["name"] != first["name"]


def test_the_tour_talks_to_the_port_it_is_served_on(session: Session) -> None:
    done = session.bash(tour_block(TOUR.read_text()).split("\n# Alive")[0] + 'echo "$API"')
    assert done.stdout.strip().splitlines()[-1] == session.api  # STAYCURRENT_PORT, not 8000


def test_the_readme_tour_is_the_tested_one() -> None:
    """Every curl line of the README that calls the API is a line of the tested tour."""
    tour = set(tour_lines(TOUR.read_text()))
    readme = (ROOT / "README.md").read_text()
    for line in readme.splitlines():
        if "curl" in line and "$API/" in line:
            assert line.strip() in tour, line

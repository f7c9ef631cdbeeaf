"""Running the ``leadgate`` command inside a test, as a shell would."""

from __future__ import annotations

import pytest

from leadgate.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the command like a shell would; return (exit status, stdout, stderr)."""
    try:
        main(list(argv))
        status = 0
    except SystemExit as exc:
        status = int(exc.code or 0)
    captured = capsys.readouterr()
    return status, captured.out, captured.err

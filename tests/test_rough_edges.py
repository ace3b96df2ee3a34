"""Rough edges found trying every command: narrow terminals, help texts, plain output, clear
errors for an unknown image type and for a session store that does not exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from letdown_detect.cli import main

RECORDINGS = Path(__file__).parent.parent / "recordings"


def test_evaluate_tables_fit_80_columns_without_cutting_numbers(monkeypatch, capsys) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["evaluate", str(RECORDINGS), "-j", "1"]) == 0
    out = capsys.readouterr().out
    assert all(len(line) <= 80 for line in out.splitlines())
    assert "…" not in out
    for header in ("F1", "err s", "lat s", "FA/h", "P", "R", "p95 s"):
        assert header in out
    assert "1.00" in out


def test_help_texts(capsys) -> None:
    for command in ("evaluate", "plot"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
    out = capsys.readouterr().out
    assert "DESIGN.md" not in out and "%%" not in out and "80% of volume" in out


def test_simulate_names_its_channels_as_text(tmp_path, capsys) -> None:
    assert main(["simulate", str(tmp_path / "s.csv"), "--duration", "60"]) == 0
    err = capsys.readouterr().err
    assert "weight_g)" in err and "('" not in err


def test_plot_to_an_unknown_image_type_is_one_clear_error(tmp_path, capsys) -> None:
    out = tmp_path / "out.jpg2"
    assert main(["plot", str(RECORDINGS / "flow_single.csv"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"letdown: {out}: cannot write an image of type '.jpg2'")
    assert ".png" in err and not out.exists()


@pytest.mark.parametrize(
    "argv",
    [["dmer"], ["mood", "prompts"], ["mood", "add", "--score", "3", "--at", "60"], ["history"]],
    ids=["dmer", "mood-prompts", "mood-add", "history"],
)
def test_a_database_that_does_not_exist_is_refused_not_created(tmp_path, capsys, argv) -> None:
    typo = tmp_path / "typo.db"
    assert main([*argv, "--db", str(typo)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"letdown: {typo}: no session store there") and not typo.exists()


@pytest.mark.parametrize("command", ["evaluate", "report"])
@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf"])
def test_a_tolerance_that_is_not_a_positive_number_is_refused(command, value, capsys) -> None:
    target = RECORDINGS if command == "evaluate" else RECORDINGS / "flow_single.csv"
    assert main([command, str(target), "--tolerance", value]) == 2
    assert "--tolerance must be a positive number of seconds" in capsys.readouterr().err


def test_history_after_import_shows_the_imported_session(tmp_path, capsys) -> None:
    db = tmp_path / "h.db"
    assert main(["import", str(RECORDINGS / "flow_single.csv"), "--db", str(db)]) == 0
    assert main(["history", "--db", str(db), "-o", str(tmp_path / "h.png")]) == 0
    assert "2026-01-05 07:30" in capsys.readouterr().out

import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from ikbt import factories
from ikbt.programs.actions import ProgramError, data_from_version, program_import, version_publish
from ikbt.programs.models import Module, ProgramVersion
from ikbt.programs.package import read_package, render_files, write_package

EXAMPLE = Path(__file__).resolve().parents[1] / "packages" / "exempel"


def files_of(path: Path) -> dict[str, bytes]:
    return {
        str(f.relative_to(path)): f.read_bytes() for f in sorted(path.rglob("*")) if f.is_file()
    }


@pytest.fixture
def example(db) -> ProgramVersion:
    data, problems = read_package(EXAMPLE)
    assert problems == []
    return version_publish(program_import(data, factories.region("05")), None)


def test_example_uses_every_block_unlock_rule_and_time_point(example):
    data = data_from_version(example)
    sources = "\n".join(page.source for module in data.modules for page in module.pages)
    for kind in ("image", "audio", "video", "worksheet", "quiz", "questionnaire"):
        assert f"::: {kind} " in sources
    assert {module.unlock for module in data.modules} == set(Module.Unlock.values)
    assert len(data.measurement) == 7
    kinds = {field["kind"] for sheet in data.worksheets.values() for field in sheet["fields"]}
    assert kinds == {"text", "scale", "list", "table"}


def test_round_trip_export_import_export_is_equal(example, tmp_path):
    first = tmp_path / "first"
    call_command("program", "export", "exempel-angest", str(first))
    assert files_of(first) == files_of(EXAMPLE)

    call_command("program", "import", str(first), "--region", "05")
    second = tmp_path / "second"
    call_command("program", "export", "exempel-angest", str(second))  # the new v2
    assert files_of(second) == files_of(first)


def test_zip_round_trip(example, tmp_path):
    archive = tmp_path / "exempel.zip"
    write_package(data_from_version(example), archive)
    data, problems = read_package(archive)
    assert problems == []
    assert render_files(data) == render_files(data_from_version(example))


def test_importing_an_existing_slug_adds_a_version_and_keeps_the_published(example):
    data, _ = read_package(EXAMPLE)
    data.modules[0].title = "Ändrad titel"
    second = program_import(data, factories.region("05"))
    assert (second.number, second.status) == (2, "draft")
    example.refresh_from_db()
    assert example.modules.get(key="valkommen").title == "Välkommen"
    assert example.is_published


def test_another_region_cannot_import_over_a_program(example):
    data, _ = read_package(EXAMPLE)
    with pytest.raises(ProgramError, match="fork it"):
        program_import(data, factories.region("18"))


def broken_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "broken"
    shutil.copytree(EXAMPLE, copy)
    page = copy / "pages" / "andning" / "andas-lugnt.md"
    page.write_text(
        page.read_text().replace("::: worksheet andningslogg", "::: worksheet finns-inte")
        + "\n::: image saknas.png\n::: dans foo\n"
    )
    (copy / "worksheets" / "veckoreflektion.toml").write_text('title = "Tom"\ninstructions = ""\n')
    manifest = copy / "program.toml"
    manifest.write_text(
        manifest.read_text()
        .replace('"PHQ-9"', '"PHQ-99"')
        .replace('primary_instrument = "GAD-7"', 'primary_instrument = "ISI"')
    )
    return copy


def test_validation_names_file_and_line(db, tmp_path):
    _, problems = read_package(broken_copy(tmp_path))
    messages = sorted(map(str, problems))
    assert "pages/andning/andas-lugnt.md:10: the worksheet 'finns-inte' does not exist" in messages
    assert "pages/andning/andas-lugnt.md:12: the media file 'saknas.png' is missing" in messages
    assert (
        "pages/andning/andas-lugnt.md:12: an image needs a description for screen readers "
        "after '|'" in messages
    )
    assert (
        "pages/andning/andas-lugnt.md:13: unknown block 'dans' "
        "(use image, audio, video, worksheet, quiz, questionnaire)" in messages
    )
    assert "worksheets/veckoreflektion.toml: The worksheet has no fields." in messages
    assert any(m.startswith("program.toml:") and "'PHQ-99' does not exist" in m for m in messages)
    assert (
        "program.toml:6: the primary questionnaire 'ISI' must be measured before start (pre) "
        "and at the end (post)" in messages
    )


def test_validation_speaks_the_authors_language(db, tmp_path):
    with translation.override("sv"):
        _, problems = read_package(broken_copy(tmp_path))
    messages = sorted(map(str, problems))
    assert "pages/andning/andas-lugnt.md:10: arbetsbladet ”finns-inte” finns inte" in messages
    assert "worksheets/veckoreflektion.toml: Arbetsbladet har inga fält." in messages


def test_validate_command_exits_2_with_the_problems(db, tmp_path, capsys):
    with pytest.raises(CommandError) as error:
        call_command("program", "validate", str(broken_copy(tmp_path)))
    assert error.value.returncode == 2
    assert "andas-lugnt.md:10" in capsys.readouterr().err
    call_command("program", "validate", str(EXAMPLE))
    assert "is valid (4 modules)" in capsys.readouterr().out


def test_list_json(example, capsys):
    import json

    call_command("program", "list", "--json")
    assert json.loads(capsys.readouterr().out) == [
        {
            "slug": "exempel-angest",
            "title": "Exempel: hantera ångest",
            "condition": "anxiety",
            "target_group": "adults",
            "weeks": 12,
            "primary_instrument": "GAD-7",
            "modules": 4,
            "version": 1,
            "status": "published",
            "owner_region": "05",
        }
    ]

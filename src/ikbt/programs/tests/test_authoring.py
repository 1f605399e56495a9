"""An author writes a program from nothing in the browser; another region adopts and forks it."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ikbt import factories
from ikbt.conftest import form_as_sent, verified_client
from ikbt.organisations.models import StaffRole
from ikbt.programs.models import Adoption, Program, ProgramVersion


@pytest.fixture
def author(unit):
    return factories.staff_member(unit, StaffRole.PROGRAM_AUTHOR, username="forfattare")


@pytest.fixture
def author_client(author):
    return verified_client(author)


@pytest.fixture
def orebro_client(other_region_unit):
    return verified_client(
        factories.staff_member(other_region_unit, StaffRole.PROGRAM_AUTHOR, username="orebro")
    )


def url(name: str, *args) -> str:
    return reverse(f"programs:{name}", args=args)


def write_program(client) -> ProgramVersion:
    response = client.post(
        url("list"),
        {
            "slug": "somn",
            "title_sv": "Bättre sömn",
            "condition": "insomnia",
            "target_group": "adults",
        },
    )
    version = ProgramVersion.objects.get(program__slug="somn")
    assert response.url == url("version", "somn", 1)

    client.post(url("version_action", "somn", 1, "add-module"), {"key": "start", "title": "Start"})
    client.post(
        url("module", "somn", 1, "start"),
        {"add_page": "1", "page-key": "om", "page-title": "Om sömn"},
    )
    client.post(
        url("version_action", "somn", 1, "add-worksheet"), {"key": "dagbok", "title": "Sömndagbok"}
    )
    client.post(
        url("worksheet", "somn", 1, "dagbok"),
        {
            "title": "Sömndagbok",
            "instructions": "Fyll i varje morgon.",
            "field-TOTAL_FORMS": "2",
            "field-INITIAL_FORMS": "0",
            "field-0-key": "natter",
            "field-0-label": "Mina nätter",
            "field-0-kind": "table",
            "field-0-columns": "Datum, Somnade, Vaknade",
        },
    )
    client.post(
        url("version_action", "somn", 1, "upload"),
        {"file": SimpleUploadedFile("natt.png", b"\x89PNG\r\n\x1a\nexample", "image/png")},
    )
    client.post(
        url("page", "somn", 1, "start", "om"),
        {
            "save": "1",
            "title": "Om sömn",
            "source": (
                "Sömn är **viktigt**.\n\n::: image natt.png | En stjärnhimmel\n\n"
                "::: worksheet dagbok\n"
            ),
        },
    )
    client.post(
        url("version_action", "somn", 1, "plan"),
        {"plan-weekly": ["PHQ-9"], "plan-pre": ["PHQ-9"], "plan-post": ["PHQ-9"]},
    )
    settings = form_as_sent(client.get(url("version", "somn", 1)).text, "primary_instrument")
    client.post(url("version", "somn", 1), {**settings, "primary_instrument": "PHQ-9"})
    version.refresh_from_db()
    assert version.primary_instrument == "PHQ-9"
    return version


def test_author_writes_previews_and_publishes_a_program(author_client):
    version = write_program(author_client)

    sheet = version.worksheets.get()
    assert sheet.fields == [
        {
            "key": "natter",
            "label": "Mina nätter",
            "kind": "table",
            "columns": ["Datum", "Somnade", "Vaknade"],
        }
    ]
    assert set(version.measurement_plan.values_list("when", "instrument_code")) == {
        ("weekly", "PHQ-9"),
        ("pre", "PHQ-9"),
        ("post", "PHQ-9"),
    }
    preview = author_client.get(url("preview", "somn", 1))
    assert f'<a href="{url("version", "somn", 1)}">← somn v1</a>' in preview.text
    assert "<strong>viktigt</strong>" in preview.text
    assert 'alt="En stjärnhimmel"' in preview.text
    assert '<th scope="col">Somnade</th>' in preview.text
    # The worksheet as the patient sees it, to look at: a card per row on a phone, with
    # empty rows to write in.
    assert '<table class="cards">' in preview.text
    assert (
        '<td data-label="Vaknade"><input type="text" id="ws-dagbok-natter-1-2" name="natter__1__2"'
        in (preview.text)
    )
    assert 'aria-label="Vaknade, row 2" disabled>' in preview.text
    assert "<form" not in preview.text.split('class="block worksheet card"', 1)[1]
    editor = author_client.get(url("worksheet", "somn", 1, "dagbok")).text
    assert (
        '<td data-label="Somnade"><input type="text" id="ws-dagbok-natter-0-1" name="natter__0__1"'
        in editor
    )

    # Publishing cannot be undone: the button first opens what it means.
    page = author_client.get(url("version", "somn", 1)).text
    asked = page.split('<details class="confirm"><summary>Publish</summary>')[1].split(
        "</details>"
    )[0]
    assert "A published version does not change" in asked
    assert '<button type="submit">Publish somn v1</button>' in asked
    author_client.post(url("version_action", "somn", 1, "publish"))
    version.refresh_from_db()
    assert version.is_published


def test_saving_a_worksheet_keeps_the_fields_not_touched_and_skips_the_blank_rows(
    author_client,
):
    version = write_program(author_client)
    editor = url("worksheet", "somn", 1, "dagbok")
    natter = version.worksheets.get().fields[0]

    # Only the title changed: the field stays, the two blank rows are no error.
    data = form_as_sent(author_client.get(editor).text, "field-TOTAL_FORMS")
    assert data["field-TOTAL_FORMS"] == ["3"] and data["field-1-kind"] == ["text"]
    data["title"] = ["Sömndagbok (ny)"]
    page = author_client.post(editor, data, follow=True)
    assert "Saved." in page.text
    sheet = version.worksheets.get()
    assert (sheet.title, sheet.fields) == ("Sömndagbok (ny)", [natter])

    # A blank row filled in is added after it; a row marked for removal goes.
    data = form_as_sent(author_client.get(editor).text, "field-TOTAL_FORMS")
    data |= {"field-1-key": ["kvall"], "field-1-label": ["Hur var kvällen?"]}
    author_client.post(editor, data)
    assert [field["key"] for field in version.worksheets.get().fields] == ["natter", "kvall"]
    data = form_as_sent(author_client.get(editor).text, "field-TOTAL_FORMS")
    data["field-0-DELETE"] = ["on"]
    author_client.post(editor, data)
    assert [field["key"] for field in version.worksheets.get().fields] == ["kvall"]


def test_a_worksheet_that_could_not_be_shown_is_refused_beside_its_fields(author_client):
    version = write_program(author_client)
    editor = url("worksheet", "somn", 1, "dagbok")
    before = version.worksheets.get().fields
    data = form_as_sent(author_client.get(editor).text, "field-TOTAL_FORMS")
    data |= {
        "field-0-columns": [" , "],  # a table with no columns
        "field-1-key": ["natter"],  # the first field's key again
        "field-1-label": ["Hur mycket?"],
        "field-1-kind": ["scale"],
        "field-1-min": ["10"],
        "field-1-max": ["0"],
    }
    page = author_client.post(editor, data)
    assert page.status_code == 200 and "Saved." not in page.text
    assert "A table needs columns: write their names, separated by commas." in page.text
    assert "The highest must be above the lowest." in page.text
    assert "Another field has this key: give each its own." in page.text
    assert 'value="Hur mycket?"' in page.text  # what was typed stays
    assert version.worksheets.get().fields == before


def test_saving_a_quiz_keeps_the_questions_not_touched(author_client):
    write_program(author_client)
    author_client.post(
        url("version_action", "somn", 1, "add-quiz"), {"key": "koll", "title": "Kolla"}
    )
    editor = url("quiz", "somn", 1, "koll")
    data = form_as_sent(author_client.get(editor).text, "question-TOTAL_FORMS")
    data |= {
        "question-0-text": ["Hur länge bör man ligga vaken?"],
        "question-0-options": ["Hela natten\nUngefär 20 minuter"],
        "question-0-correct": ["2"],
    }
    author_client.post(editor, data)
    quiz = ProgramVersion.objects.get(program__slug="somn").quizzes.get()
    asked = quiz.questions
    assert [question["text"] for question in asked] == ["Hur länge bör man ligga vaken?"]

    data = form_as_sent(author_client.get(editor).text, "question-TOTAL_FORMS")
    data["title"] = ["Kolla vad du minns"]
    assert "Saved." in author_client.post(editor, data, follow=True).text
    quiz.refresh_from_db()
    assert (quiz.title, quiz.questions) == ("Kolla vad du minns", asked)


def test_refused_settings_are_not_listed_as_the_versions_problems(author_client):
    write_program(author_client)
    settings = form_as_sent(author_client.get(url("version", "somn", 1)).text, "planned_weeks")
    page = author_client.post(url("version", "somn", 1), {**settings, "planned_weeks": "0"})
    assert page.context["form"].errors == {"planned_weeks": ["A treatment lasts at least a week."]}
    assert "the planned length must be" not in page.text
    assert page.context["problems"] == []
    # The primary questionnaire is one of those there are.
    page = author_client.post(url("version", "somn", 1), {**settings, "primary_instrument": "FOO"})
    assert "primary_instrument" in page.context["form"].errors
    assert ProgramVersion.objects.get(program__slug="somn").primary_instrument == "PHQ-9"


def test_publish_is_refused_with_the_problems_listed(author_client):
    author_client.post(
        url("list"),
        {"slug": "tom", "title_sv": "Tom", "condition": "stress", "target_group": "adults"},
    )
    page = author_client.get(url("version", "tom", 1))
    assert "the program has no modules" in page.text
    assert "the program needs a primary outcome questionnaire" in page.text
    author_client.post(url("version_action", "tom", 1, "publish"))
    assert not ProgramVersion.objects.get(program__slug="tom").is_published


def live_preview(client, source: str, **headers):
    """The phone-sized preview of the page 'om' as the author types ``source`` (htmx)."""
    return client.post(
        url("page", "somn", 1, "start", "om"),
        {"source": source},
        headers={"HX-Request": "true", **headers},
    )


def test_live_preview_sanitises_what_the_author_types(author_client):
    write_program(author_client)
    fragment = live_preview(author_client, "Hej <script>alert(1)</script>\n\n::: worksheet dagbok")
    assert "<script" not in fragment.text
    assert "Sömndagbok" in fragment.text


def test_a_block_is_added_at_the_end_of_the_text_as_typed(author_client):
    version = write_program(author_client)
    editor = url("page", "somn", 1, "start", "om")
    data = form_as_sent(author_client.get(editor).text, "source")
    data["source"] = [data["source"][0] + "\n\nSkriv i dagboken varje morgon."]
    data |= {"insert": ["1"], "block-kind": ["questionnaire"], "block-argument": ["PHQ-9"]}
    page = author_client.post(editor, data, follow=True)
    assert "The block is at the end of the page, and it is saved." in page.text
    saved = version.modules.get(key="start").pages.get(key="om")
    assert saved.source.endswith(
        "::: worksheet dagbok\n\nSkriv i dagboken varje morgon.\n\n::: questionnaire PHQ-9\n"
    )


def test_a_refused_block_leaves_the_page_and_what_was_typed_as_they_were(author_client):
    version = write_program(author_client)
    editor = url("page", "somn", 1, "start", "om")
    before = version.modules.get(key="start").pages.get(key="om").source
    data = form_as_sent(author_client.get(editor).text, "source")
    data["source"] = ["Ny text, inte sparad."]
    data["insert"] = ["1"]  # no file, key or code given
    page = author_client.post(editor, data)
    assert page.status_code == 200
    assert page.context["block_form"].errors == {"argument": ["This field is required."]}
    assert not page.context["form"].errors
    assert "Ny text, inte sparad.</textarea>" in page.text
    assert 'value="Om sömn"' in page.text
    assert version.modules.get(key="start").pages.get(key="om").source == before


def test_parts_of_a_draft_are_removed_after_asking(author_client):
    version = write_program(author_client)
    author_client.post(
        url("module", "somn", 1, "start"),
        {"add_page": "1", "page-key": "tom", "page-title": "Tom sida"},
    )
    module_page = author_client.get(url("module", "somn", 1, "start")).text
    assert "The module and its 2 pages leave this draft." in module_page
    assert "Remove “Start”" in module_page

    # A page added by mistake goes, and the module's page says so.
    done = author_client.post(url("page", "somn", 1, "start", "tom"), {"remove": "1"}, follow=True)
    assert "The page “Tom sida” is removed." in done.text
    assert list(version.modules.get().pages.values_list("key", flat=True)) == ["om"]
    # A worksheet a page shows: the page's problem says so.
    author_client.post(url("worksheet", "somn", 1, "dagbok"), {"remove": "1"})
    assert not version.worksheets.exists()
    problems = author_client.get(url("version", "somn", 1)).context["problems"]
    assert [problem["message"] for problem in problems] == [
        "the worksheet 'dagbok' does not exist"
    ]
    author_client.post(url("module", "somn", 1, "start"), {"remove": "1"})
    assert not version.modules.exists()

    # Once published, nothing is removed.
    author_client.post(
        url("version_action", "somn", 1, "add-quiz"), {"key": "koll", "title": "Kolla"}
    )
    version.status = ProgramVersion.Status.PUBLISHED
    version.save(update_fields=["status"])
    author_client.post(url("quiz", "somn", 1, "koll"), {"remove": "1"})
    assert version.quizzes.filter(key="koll").exists()


def test_reordering_modules(author_client):
    write_program(author_client)
    author_client.post(
        url("version_action", "somn", 1, "add-module"), {"key": "slut", "title": "Slut"}
    )
    author_client.post(url("module", "somn", 1, "slut"), {"move": "-1"})
    version = ProgramVersion.objects.get(program__slug="somn")
    assert list(version.modules.order_by("position").values_list("key", flat=True)) == [
        "slut",
        "start",
    ]


def test_published_version_cannot_be_edited_in_the_browser(author_client):
    version = write_program(author_client)
    author_client.post(url("version_action", "somn", 1, "publish"))
    author_client.post(
        url("page", "somn", 1, "start", "om"), {"save": "1", "title": "X", "source": "Ändrat"}
    )
    assert version.modules.get().pages.get().title == "Om sömn"
    # What a published version says is shown in fields that cannot be typed in.
    for page in (url("version", "somn", 1), url("page", "somn", 1, "start", "om")):
        form = author_client.get(page).context["form"]
        assert all(field.disabled for field in form.fields.values()), page


def test_the_author_chooses_blocks_and_field_kinds_by_name_in_swedish(author_client):
    write_program(author_client)
    page = author_client.get(url("page", "somn", 1, "start", "om"), HTTP_ACCEPT_LANGUAGE="sv")
    assert '<option value="image">Bild</option>' in page.text
    assert '<option value="questionnaire">Formulär</option>' in page.text


def test_another_region_adopts_and_forks(author_client, orebro_client):
    write_program(author_client)
    author_client.post(url("version_action", "somn", 1, "publish"))
    assert "Bättre sömn" not in orebro_client.get(url("list")).text  # not shared yet

    author_client.post(url("version_action", "somn", 1, "share"), {"shared": "1"})
    assert "Bättre sömn" in orebro_client.get(url("list")).text
    orebro_client.post(url("adopt", "somn", 1))
    assert Adoption.objects.get().region.code == "18"

    response = orebro_client.post(url("fork", "somn", 1), {"slug": "somn-orebro"})
    fork = Program.objects.get(slug="somn-orebro")
    assert response.url == url("version", "somn-orebro", 1)
    assert (fork.owner_region.code, fork.forked_from.program.slug) == ("18", "somn")
    # The variant's page says whose it came from and under which licence, for its sharing.
    variant = orebro_client.get(url("version", "somn-orebro", 1)).text
    assert "shared under the licence CC BY-SA 4.0." in variant
    assert "A variant of somn v1 by Region Östergötland: name it as the source" in variant
    assert orebro_client.get(url("version", "somn", 1)).status_code == 404  # not theirs to edit


def test_the_owner_sees_who_adopted_and_stopping_sharing_leaves_them_their_program(
    author_client, orebro_client
):
    write_program(author_client)
    author_client.post(url("version_action", "somn", 1, "publish"))
    author_client.post(url("version_action", "somn", 1, "share"), {"shared": "1"})
    orebro_client.post(url("adopt", "somn", 1))
    page = author_client.get(url("version", "somn", 1)).text
    assert "Adopted as it is by: Region Örebro län" in page
    # Stopping is confirmed, and says what it does to those who adopted.
    assert '<details class="confirm"><summary>Stop sharing</summary>' in page
    assert "Regions that adopted it keep it" in page
    author_client.post(url("version_action", "somn", 1, "share"), {"shared": "0"})
    assert not Program.objects.get(slug="somn").shared
    listing = orebro_client.get(url("list")).text
    assert "Bättre sömn" in listing and "Adopted by your region" in listing
    assert "No longer shared" in listing and url("fork", "somn", 1) not in listing
    assert orebro_client.get(url("preview", "somn", 1)).status_code == 200  # still readable


def test_a_refused_fork_comes_back_beside_its_program_with_the_short_name_typed(
    author_client, orebro_client
):
    write_program(author_client)
    author_client.post(url("version_action", "somn", 1, "publish"))
    author_client.post(url("version_action", "somn", 1, "share"), {"shared": "1"})
    program = Program.objects.get(slug="somn")
    for typed, reason in [
        ("somn", "The short name &#x27;somn&#x27; is taken."),
        ("sömn orebro", "Use only letters, digits and hyphens"),
    ]:
        page = orebro_client.post(url("fork", "somn", 1), {"slug": typed})
        assert page.status_code == 200
        assert reason in page.text
        assert f'id="fork-{program.pk}" name="slug"' in page.text
        assert f'value="{typed}" aria-invalid="true" autofocus>' in page.text
    assert Program.objects.count() == 1


def test_a_version_is_downloaded_as_a_package_that_reads_back_the_same(
    author_client, orebro_client, tmp_path
):
    from ikbt.programs.actions import data_from_version
    from ikbt.programs.package import read_package, render_files

    version = write_program(author_client)
    answer = author_client.get(url("package", "somn", 1))
    assert answer["Content-Type"] == "application/zip"
    assert answer["Content-Disposition"] == 'attachment; filename="somn-v1.zip"'
    saved = tmp_path / "somn-v1.zip"
    saved.write_bytes(answer.content)
    data, problems = read_package(saved)
    assert problems == []
    assert render_files(data) == render_files(data_from_version(version))
    assert [module.key for module in data.modules] == ["start"]
    # Another region's author gets it once it is published and shared, not before.
    assert orebro_client.get(url("package", "somn", 1)).status_code == 404
    author_client.post(url("version_action", "somn", 1, "publish"))
    author_client.post(url("version_action", "somn", 1, "share"), {"shared": "1"})
    assert orebro_client.get(url("package", "somn", 1)).status_code == 200


def test_a_package_is_imported_in_the_browser_as_a_new_draft(author_client, orebro_client):
    version = write_program(author_client)
    author_client.post(url("version_action", "somn", 1, "publish"))
    package = author_client.get(url("package", "somn", 1)).content

    def upload(client, content: bytes, name: str = "somn.zip"):
        return client.post(
            url("list"),
            {"import": "1", "package": SimpleUploadedFile(name, content, "application/zip")},
            follow=True,
        )

    page = upload(author_client, package)
    assert "The package is imported as a draft." in page.text
    draft = ProgramVersion.objects.get(program__slug="somn", number=2)
    assert not draft.is_published and draft.modules.count() == version.modules.count()
    assert page.redirect_chain[-1][0] == url("version", "somn", 2)
    # Not a zip, a package with problems, another region's program: said, nothing made.
    refused = upload(author_client, b"not a zip", "somn.txt")
    assert refused.context["import_form"].errors["package"] == [
        "That is not a zip file. Choose the package's .zip."
    ]
    assert "belongs to Region Östergötland" in upload(orebro_client, package).text
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("somn/program.toml", 'slug = "somn"\ntitle = { sv = "" }\n')
    problems = upload(author_client, broken.getvalue()).context["import_form"].errors["package"]
    assert any("the program needs a Swedish title" in problem for problem in problems)
    assert ProgramVersion.objects.filter(program__slug="somn").count() == 2


def test_staff_who_are_not_authors_get_404(therapist_client, author_client):
    write_program(author_client)
    assert therapist_client.get(url("list")).status_code == 404
    assert therapist_client.get(url("version", "somn", 1)).status_code == 404


def _second_version(client, **changes) -> ProgramVersion:
    """Version 1 published, version 2 a draft marked as safe to move its patients to."""
    write_program(client)
    client.post(url("version_action", "somn", 1, "publish"))
    client.post(url("version_action", "somn", 1, "new-version"))
    settings = form_as_sent(client.get(url("version", "somn", 2)).text, "planned_weeks")
    client.post(url("version", "somn", 2), {**settings, "safe_to_move_from_previous": "on"})
    return ProgramVersion.objects.get(program__slug="somn", number=2)


def test_author_moves_patients_to_a_safe_new_version_after_confirming(
    author_client, author, patient, unit, other_region_unit
):
    from ikbt.audit.models import AccessLogEntry
    from ikbt.treatment.models import Enrollment

    _second_version(author_client)
    author_client.post(url("version_action", "somn", 2, "publish"))
    version = ProgramVersion.objects.get(program__slug="somn", number=1)
    # Two treatments here, one in another region that offers the program; one ended stays.
    moving = [
        Enrollment.objects.create(patient=patient, unit=unit, program_version=version),
        Enrollment.objects.create(
            patient=factories.PatientFactory(), unit=unit, program_version=version
        ),
        Enrollment.objects.create(
            patient=factories.PatientFactory(), unit=other_region_unit, program_version=version
        ),
    ]
    ended = Enrollment.objects.create(
        patient=factories.PatientFactory(),
        unit=unit,
        program_version=version,
        status=Enrollment.Status.ENDED,
    )

    page = author_client.get(url("version", "somn", 2))
    assert "3 patients are on version 1." in page.text
    confirm = url("move_patients", "somn", 2)
    assert f'<a class="button" href="{confirm}">' in page.text
    # The button no longer moves anyone by itself.
    assert author_client.post(url("version_action", "somn", 2, "move-patients")).status_code == 404

    asked = author_client.get(confirm)
    # By region and unit, in the order of their names.
    assert asked.context["places"] == [
        {
            "unit__region__name": "Region Örebro län",
            "unit__name": "Vårdcentralen Varberga",
            "count": 1,
        },
        {
            "unit__region__name": "Region Östergötland",
            "unit__name": "Vårdcentralen Ekholmen",
            "count": 2,
        },
    ]
    assert "3 treatments on version 1 move here, with their progress and answers:" in asked.text
    assert f'<th scope="row">{other_region_unit.name}</th><td>1</td>' in asked.text
    assert '<button type="submit">Move 3 treatments</button>' in asked.text
    assert {e.program_version.number for e in Enrollment.objects.all()} == {1}  # not yet

    done = author_client.post(confirm, follow=True)
    assert done.redirect_chain[-1][0] == url("version", "somn", 2)
    assert "3 treatments moved to this version." in done.text
    assert [
        Enrollment.objects.get(pk=enrollment.pk).program_version.number for enrollment in moving
    ] == [2, 2, 2]
    ended.refresh_from_db()
    assert ended.program_version.number == 1
    logged = AccessLogEntry.objects.filter(detail="moved to program version 2")
    assert sorted((row.patient_id, row.unit_id, row.actor_id, row.action) for row in logged) == (
        sorted(
            (enrollment.patient_id, enrollment.unit_id, author.pk, "change")
            for enrollment in moving
        )
    )


def test_a_move_that_would_lose_answers_is_refused_on_the_confirmation_page(
    author_client, patient, unit
):
    from ikbt.treatment.models import Enrollment

    _second_version(author_client)
    version = ProgramVersion.objects.get(program__slug="somn", number=1)
    enrollment = Enrollment.objects.create(patient=patient, unit=unit, program_version=version)
    # Published as safe, then its worksheet's field renamed where no check runs.
    ProgramVersion.objects.filter(number=2).update(status=ProgramVersion.Status.PUBLISHED)
    sheet = ProgramVersion.objects.get(number=2).worksheets.get()
    sheet.fields[0]["key"] = "natt"
    sheet.save(update_fields=["fields"])
    refusal = (
        "Patients cannot be moved to version 2: their progress and answers are kept by keys "
        "it does not have: the field 'natter' of the worksheet 'dagbok'."
    )
    confirm = url("move_patients", "somn", 2)
    asked = author_client.get(confirm)
    assert f'<p class="errorlist">{refusal}</p>' in asked.text.replace("&#x27;", "'")
    assert "<button" not in asked.text.split("<h1>", 1)[1]
    refused = author_client.post(confirm, follow=True)
    assert refused.redirect_chain[-1][0] == confirm
    assert refusal in [str(message) for message in refused.context["messages"]]
    enrollment.refresh_from_db()
    assert enrollment.program_version == version


def test_the_first_version_has_no_patients_to_move_here(author_client, patient, unit):
    write_program(author_client)
    author_client.post(url("version_action", "somn", 1, "publish"))
    confirm = url("move_patients", "somn", 1)
    asked = author_client.get(confirm)
    no_previous = "There is no earlier published version to move patients from."
    assert f'<p class="errorlist">{no_previous}</p>' in asked.text
    refused = author_client.post(confirm, follow=True)
    assert refused.redirect_chain == [(confirm, 302)]
    assert [str(message) for message in refused.context["messages"]] == [no_previous]


def test_a_safe_draft_lists_each_key_its_patients_answers_would_lose(author_client):
    """Renaming a worksheet's field in a draft marked as safe to move to is a problem, linked
    to the worksheet's editor; publishing is refused until it is back."""
    _second_version(author_client)
    editor = url("worksheet", "somn", 2, "dagbok")
    data = form_as_sent(author_client.get(editor).text, "field-TOTAL_FORMS")
    author_client.post(editor, {**data, "field-0-key": ["natt"]})
    author_client.post(
        url("version_action", "somn", 2, "add-module"), {"key": "mer", "title": "Mer"}
    )
    module = url("module", "somn", 2, "start")
    author_client.post(module, {"remove": "1"})

    detail = author_client.get(url("version", "somn", 2))
    missing = [p for p in detail.context["problems"] if "of version 1 is missing" in p["message"]]
    assert [(p["where"], p["url"], p["message"].split(",")[0]) for p in missing] == [
        ("About the program", "#settings-heading", "the module 'start' of version 1 is missing"),
        (
            "worksheet 'dagbok'",
            editor,
            "the field 'natter' of the worksheet 'dagbok' of version 1 is missing",
        ),
    ]
    author_client.post(url("version_action", "somn", 2, "publish"))
    assert not ProgramVersion.objects.get(number=2).is_published


def test_a_page_or_module_that_does_not_exist_is_404(author_client):
    write_program(author_client)
    assert author_client.get(url("page", "somn", 1, "finnsinte", "om")).status_code == 404
    assert author_client.get(url("page", "somn", 1, "start", "finnsinte")).status_code == 404
    assert author_client.get(url("module", "somn", 1, "finnsinte")).status_code == 404
    assert author_client.get(url("page", "somn", 1, "start", "om")).status_code == 200


def test_saving_the_module_binds_only_its_own_form_and_keeps_the_new_page_typed(author_client):
    version = write_program(author_client)
    editor = url("module", "somn", 1, "start")
    # The module saved without a title, a new page's key and title typed below (unsent.js).
    data = form_as_sent(author_client.get(editor).text, "unlock")
    page = author_client.post(
        editor,
        {
            **data,
            "title": "",
            "save": "1",
            "unsent:id_page-key": "kvall",
            "unsent:id_page-title": "Kvällsrutiner",
        },
    )
    assert page.status_code == 200
    assert page.context["form"].errors == {"title": ["This field is required."]}
    assert not page.context["page_form"].is_bound
    assert page.text.count("This field is required.") == 1
    assert 'value="kvall"' in page.text and 'value="Kvällsrutiner"' in page.text
    assert "<h1>Start</h1>" in page.text  # the refused title is not shown as the module's
    assert version.modules.get().title == "Start"

    # A page refused: the module's boxes hold what was typed in them, not its errors.
    page = author_client.post(
        editor,
        {
            "add_page": "1",
            "page-key": "Kväll",
            "page-title": "",
            "unsent:id_title": "Starten",
        },
    )
    assert set(page.context["page_form"].errors) == {"key", "title"}
    assert not page.context["form"].is_bound
    assert 'value="Starten"' in page.text
    assert list(version.modules.get().pages.values_list("key", flat=True)) == ["om"]


def test_a_worksheet_fields_key_is_refused_in_plain_words(author_client):
    write_program(author_client)
    editor = url("worksheet", "somn", 1, "dagbok")
    data = form_as_sent(author_client.get(editor).text, "field-TOTAL_FORMS")
    page = author_client.post(
        editor,
        {**data, "field-1-key": ["sömn-tid"], "field-1-label": ["Hur länge sov du?"]},
        HTTP_ACCEPT_LANGUAGE="sv",
    )
    assert page.status_code == 200
    assert page.context["fields"][1].errors["key"] == [
        "Använd bara bokstäver, siffror och bindestreck, utan mellanslag, som somn-dagbok."
    ]
    assert "Små bokstäver, siffror och bindestreck." in page.text
    assert 'value="sömn-tid"' in page.text and 'value="Hur länge sov du?"' in page.text
    assert [f["key"] for f in ProgramVersion.objects.get().worksheets.get().fields] == ["natter"]


def test_a_module_or_worksheet_that_cannot_be_added_is_explained_and_kept(author_client):
    """The page comes back with the reason beside the key and what was typed, in Swedish."""
    write_program(author_client)
    page = author_client.post(
        url("version_action", "somn", 1, "add-module"),
        {"key": "Ny Modul", "title": "Sömndagbok"},
        HTTP_ACCEPT_LANGUAGE="sv",
    )
    assert page.status_code == 200
    assert page.context["module_form"].errors["key"] == [
        "Använd bara bokstäver, siffror och bindestreck, utan mellanslag, som somn-dagbok."
    ]
    assert 'value="Sömndagbok"' in page.text and 'value="Ny Modul"' in page.text
    taken = author_client.post(
        url("version_action", "somn", 1, "add-module"),
        {"key": "start", "title": "Början"},
        HTTP_ACCEPT_LANGUAGE="sv",
    )
    assert taken.status_code == 200  # a key the version has: the page again, not a redirect
    assert taken.context["module_form"].errors["key"] == [
        "Det finns redan en modul med nyckeln ”start”."
    ]
    assert 'value="Början"' in taken.text
    assert 'id="module_key"' in taken.text and 'id="item_key"' in taken.text
    # The settings on the page still go to the version, not to the button's address.
    assert f'action="{url("version", "somn", 1)}"' in page.text
    sheet = author_client.post(
        url("version_action", "somn", 1, "add-worksheet"), {"key": "", "title": "Dagbok"}
    )
    assert sheet.status_code == 200 and 'value="Dagbok"' in sheet.text


def test_each_problem_links_to_where_it_is_fixed_in_the_authors_language(author_client):
    version = write_program(author_client)
    page = version.modules.get(key="start").pages.get(key="om")
    page.source += "\n::: worksheet finnsinte\n"
    page.save(update_fields=["source"])
    version.primary_instrument = "PHQ9"
    version.save(update_fields=["primary_instrument"])

    detail = author_client.get(url("version", "somn", 1), HTTP_ACCEPT_LANGUAGE="sv")
    editor = url("page", "somn", 1, "start", "om")
    problems = {problem["message"]: problem for problem in detail.context["problems"]}
    on_page = problems["arbetsbladet ”finnsinte” finns inte"]
    assert (on_page["where"], on_page["url"]) == ("sidan ”Om sömn”", editor)
    assert on_page["line"]
    assert f'<a href="{editor}">Sidan ”Om sömn”</a>, rad {on_page["line"]}:' in (detail.text)
    # The program's own settings, in words, and a code that is not a questionnaire said so.
    settings = problems["formuläret ”PHQ9” finns inte"]
    assert (settings["where"], settings["url"], settings["line"]) == (
        "Om programmet",
        "#settings-heading",
        None,
    )
    assert "program.toml" not in detail.text
    # The page's own editor lists its problem (it matched only in English before).
    assert (
        "arbetsbladet ”finnsinte” finns inte"
        in author_client.get(editor, HTTP_ACCEPT_LANGUAGE="sv").text
    )


def test_the_preview_says_what_a_block_names_that_the_version_does_not_have(author_client):
    write_program(author_client)
    fragment = live_preview(
        author_client,
        "::: worksheet finnsinte\n\n::: image saknas.png | En bild\n\n::: questionnaire PHQ9",
        **{"Accept-Language": "sv"},
    )
    assert 'Rad 1: "finnsinte" finns inte i den här versionen.' in fragment.text
    assert "saknas.png" in fragment.text and "<img" not in fragment.text
    assert 'Rad 5: "PHQ9" finns inte i den här versionen.' in fragment.text


def test_a_drafts_media_only_for_its_authors_a_published_versions_for_all_staff(
    author_client, orebro_client, therapist_client
):
    version = write_program(author_client)
    image = reverse("programs:media", args=[version.media.get().pk])
    assert author_client.get(image).status_code == 200
    assert orebro_client.get(image).status_code == 404  # another region's author
    assert therapist_client.get(image).status_code == 404
    author_client.post(url("version_action", "somn", 1, "publish"))
    for client in (author_client, orebro_client, therapist_client):
        assert client.get(image).status_code == 200


def test_the_preview_of_a_worksheet_without_fields_says_it_cannot_be_published(author_client):
    write_program(author_client)
    author_client.post(
        url("version_action", "somn", 1, "add-worksheet"), {"key": "tom", "title": "Tom"}
    )
    fragment = live_preview(author_client, "::: worksheet tom")
    assert (
        "The worksheet has no fields yet. The version cannot be published until it has at "
        "least one." in fragment.text
    )
    assert "The patient writes here" not in fragment.text


def test_a_planned_length_under_a_week_is_refused_on_the_field_and_the_typing_kept(
    author_client,
):
    version = write_program(author_client)
    page = author_client.post(
        url("version", "somn", 1),
        {"title_sv": "Sömn på nytt", "planned_weeks": 0, "description": "Åtta veckor."},
    )
    assert page.status_code == 200
    assert page.context["form"].errors["planned_weeks"] == ["A treatment lasts at least a week."]
    assert "Sömn på nytt" in page.text and "Åtta veckor." in page.text
    version.refresh_from_db()
    assert version.planned_weeks == 12

import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from babel.messages.pofile import read_po

from marketplace.i18n import format_date, format_datetime
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "marketplace" / "translations"


def test_thai_dates_use_the_buddhist_era():
    assert format_date(date(2026, 11, 21), language="th") == "21 พ.ย. 2569"
    assert format_date(date(2026, 11, 21), "long", language="th") == "21 พฤศจิกายน 2569"
    assert format_date(date(2026, 3, 5), "short", language="th") == "05/03/2569"
    assert format_date(date(2026, 11, 21), language="en") == "21 Nov 2026"


def test_dates_people_see_are_in_bangkok_time():
    # 31 March 20:30 UTC is already 1 April in Bangkok (UTC+7).
    moment = datetime(2026, 3, 31, 20, 30, tzinfo=UTC)
    assert format_date(moment, language="en") == "1 Apr 2026"
    assert format_datetime(moment, language="th") == "1 เม.ย. 2569 03:30 น."


def test_thai_is_the_default_and_english_a_switch_away(client):
    thai = client.get("/").get_data(as_text=True)
    assert '<html lang="th">' in thai and "ตลาดชุมชน" in thai

    client.post("/language/en?next=/about", data={"csrf_token": client.csrf_token()})

    english = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in english and "Talat Chumchon" in english


def test_a_signed_in_users_language_is_remembered(client, db):
    user = UserFactory(email="en@example.com", language="en")
    db.session.commit()

    client.login("en@example.com")
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)

    client.post("/language/th", data={"csrf_token": client.csrf_token()})
    db.session.refresh(user)
    assert user.language == "th"


def test_language_switch_ignores_unknown_languages_and_foreign_next(client):
    response = client.post(
        "/language/fr?next=https://evil.example/", data={"csrf_token": client.csrf_token()}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert '<html lang="th">' in client.get("/").get_data(as_text=True)


def test_every_message_has_a_thai_translation():
    with open(TRANSLATIONS / "th" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = read_po(handle, locale="th")
    untranslated = [
        m.id
        for m in catalog
        if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)))
    ]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == []
    assert fuzzy == []


def test_catalogues_hold_every_marked_string(tmp_path):
    """`make messages` was run: the code marks nothing the catalogues do not hold."""
    pot = tmp_path / "fresh.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "--quiet",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    with open(pot, "rb") as handle:
        marked = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    for language in ("th", "en"):
        with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
            held = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
        assert sorted(marked - held) == [], f"{language} catalogue is missing messages"

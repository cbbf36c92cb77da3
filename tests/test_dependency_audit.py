"""The offline dependency audit (scripts/audit_dependencies.py, ``make audit``).

It must report known-vulnerable pins, prove it loaded a non-empty database and checked the
real pins, and refuse to pass when it audited nothing. Without the database (requirements-audit.txt,
installed by ``make audit`` and ``make test``) these tests skip on a developer machine and fail
with ``CI=true``.
"""

import importlib.util
import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "audit_dependencies.py"
VULNERABLE = ROOT / "tests" / "fixtures" / "requirements-vulnerable.txt"
IN_CI = os.environ.get("CI", "").lower() == "true"

_spec = importlib.util.spec_from_file_location("audit_dependencies", SCRIPT)
audit_dependencies = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit_dependencies)


@pytest.fixture
def installed_database():
    """The packaged database: skip without it on a developer machine, fail in CI."""
    try:
        metadata.distribution(audit_dependencies.DATABASE_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        message = "the vulnerability database is not installed (make audit installs it)"
        if IN_CI:
            pytest.fail(f"{message} and CI=true", pytrace=False)
        pytest.skip(message)


def run_audit(*arguments):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, arguments)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def counts(output):
    advisories = re.search(r"(\d+) advisories \(\d+ affected ranges\) for (\d+) packages", output)
    checked = re.search(r"checked (\d+) pinned packages", output)
    assert advisories and checked, output
    return int(advisories.group(1)), int(checked.group(1))


def pinned_lines(*files):
    """``name==version`` lines in the files themselves, counted apart from the audit."""
    names = set()
    for file in files:
        for line in (ROOT / file).read_text().splitlines():
            match = re.match(r"([A-Za-z0-9._-]+)==", line.strip())
            if match:
                names.add(re.sub(r"[-_.]+", "-", match.group(1)).lower())
    return names


def test_known_vulnerable_pins_are_reported(installed_database):
    status, output = run_audit(VULNERABLE)

    assert status == 1, output
    # Flask 2.2.4: the missing Vary: Cookie (fixed in 2.2.5); Jinja2 3.1.2: xmlattr injection
    # (3.1.3); Werkzeug 2.2.2: multipart resource exhaustion (2.2.3).
    for pin, advisory, cve in [
        ("flask==2.2.4", "GHSA-m2qf-hxjv-5gpq", "CVE-2023-30861"),
        ("jinja2==3.1.2", "GHSA-h5c8-rqwp-cp95", "CVE-2024-22195"),
        ("werkzeug==2.2.2", "GHSA-xg9f-g7g7-2323", "CVE-2023-25577"),
    ]:
        line = next((x for x in output.splitlines() if advisory in x), "")
        assert "VULNERABLE" in line and pin in line and cve in line, output
    assert "FAILED" in output
    advisories, checked = counts(output)
    assert advisories > 1000 and checked == 3


def test_real_pins_are_checked_against_a_non_empty_database(installed_database):
    status, output = run_audit("requirements.txt", "requirements-dev.txt")

    advisories, checked = counts(output)
    assert advisories > 0, output
    assert checked == len(pinned_lines("requirements.txt", "requirements-dev.txt")) > 0, output
    assert re.search(r"database built \d{4}-\d{2}-\d{2}, \d+ days old", output), output
    assert status == 0, f"known vulnerabilities in the pins (or no audit):\n{output}"


def test_a_fixed_version_is_not_reported(installed_database, tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("Flask==2.2.5\nJinja2==3.1.6\n")

    status, output = run_audit(requirements)

    assert "GHSA-m2qf-hxjv-5gpq" not in output  # fixed in 2.2.5
    assert "VULNERABLE jinja2" not in output  # 3.1.6 fixes the last one in this database
    assert "VULNERABLE flask==2.2.5" in output  # still below 3.1.3 (GHSA-68rp-wp8r-4726)
    assert status == 1


def test_ignored_advisories_are_shown_and_do_not_fail(installed_database, tmp_path, monkeypatch):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("Flask==2.2.5\n")
    monkeypatch.setattr(
        audit_dependencies,
        "IGNORED_ADVISORIES",
        {"CVE-2026-27205": "test reason", "GHSA-0000-0000-0000": "stale entry"},
    )
    lines = []

    status = audit_dependencies.run([requirements], out=lines.append)

    output = "\n".join(lines)
    assert status == 0, output
    assert "ignored flask==2.2.5" in output and "test reason" in output
    assert "GHSA-0000-0000-0000 matches no pin any more" in output


def write_database(path, entries):
    path.write_text(json.dumps(entries))
    return path


def test_an_empty_database_is_an_error(tmp_path):
    database = write_database(tmp_path / "db.json", {"$meta": {}})

    status, output = run_audit("--database", database, VULNERABLE)

    assert status == 2 and "holds no advisories" in output, output


def test_unpinned_requirements_cannot_pass(tmp_path):
    database = write_database(
        tmp_path / "db.json", {"flask": [{"id": "GHSA-test", "v": "<1.0", "fixed_in": "1.0"}]}
    )
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("Flask>=2.0\n")

    status, output = run_audit("--database", database, requirements)

    assert status == 2 and "not pinned" in output, output


def test_matching_follows_ranges_and_normalised_names(tmp_path):
    database = write_database(
        tmp_path / "db.json",
        {
            "Some_Package": [
                {"id": "GHSA-aaaa", "v": ">=1.0,<1.5", "fixed_in": "1.5"},
                {"id": "GHSA-bbbb", "v": "<=0.9", "fixed_in": "> 0.9"},
            ]
        },
    )
    included = tmp_path / "base.txt"
    included.write_text("some.package==1.4.2  # a comment\nother==1.0\n")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"-r {included.name}\n")

    status, output = run_audit("--database", database, requirements)

    assert status == 1, output
    assert "VULNERABLE some-package==1.4.2" in output and "GHSA-aaaa" in output
    assert "GHSA-bbbb" not in output
    assert "checked 2 pinned packages" in output

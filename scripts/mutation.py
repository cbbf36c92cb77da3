"""``make mutation``: mutation testing (mutmut) of the money code.

mutmut changes one small thing at a time in a module (``+`` to ``-``, ``<`` to ``<=``, a
number plus one, an argument dropped…) and runs the tests that reach the changed function;
a change no test notices (a *survivor*) is code the tests do not pin down. Each scope names
the modules changed and the tests run against them (SQLite only: the PostgreSQL variants of
the same tests add time, not assertions)::

    python scripts/mutation.py [money|arithmetic] [PATTERN…]   (default: money)

PATTERNs (mutmut's, e.g. ``'marketplace.payouts.services*'``) run only the mutants they
name; the figures then count only those.

It works in ``.mutation/<scope>/`` (links to the project, plus a pyproject.toml carrying
the scope's ``[tool.mutmut]`` table), from scratch each time, and prints::

    mutation_killed=…
    mutation_total=…
    mutation_score=…
    survivor marketplace.levies.routing.x__accrue__mutmut_12
    …

then the diff of each survivor. Exit status 1 when the score is under ``BUDGET``. Survivors
that are equivalent (no behaviour can tell them from the original) are listed in README with
why; every other one wants a test.

What keeps the run short (see tests/conftest.py): ``TEST_SQLITE_TEMPLATE`` (the suite
migrates SQLite once and copies the file for each mutant's run, and keeps its apps in the
process between runs), a warm fork server (mutmut's fork server runs the tests once, through
tests/mutation_warmup.py, before it forks a process per mutant: each starts with the apps
built and their SQL compiled) and ``TEST_DURATIONS`` (each mutant's tests run, until the
first failure, in this order: those that failed on other mutants of the same function, in
this run or the last full one (``tests/mutation_killers.json``, rewritten by each full run),
then the tests written for the module (``OWN_TESTS``), then those that failed on any
mutant, each by failures per second, then the quickest; Hypothesis does not shrink a failing
example). Survivors cost the most (each reruns every test that
reaches its function): equivalent ones are removed at their source or marked
``# pragma: no mutate`` with the reason, and README lists both.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
BUDGET = 0.95
#: What a mutant run needs of the project, linked into the work directory.
LINKED = (
    "marketplace",
    "tests",
    "config.py",
    "wsgi.py",
    "templates",
    "static",
    "migrations",
    "tasks",
    "babel.cfg",
)
#: Pure integer arithmetic, and the tests of it that need no database (CI runs this one).
ARITHMETIC_MODULES = [
    "marketplace/levies/arithmetic.py",
    "marketplace/payouts/arithmetic.py",
    "marketplace/grouporders/shares.py",
]
ARITHMETIC_TESTS = [
    "tests/test_levy_arithmetic.py",
    "tests/test_shares.py",
    "tests/test_payouts.py::test_fee_arithmetic_rounds_once_half_up",
    "tests/test_payouts.py::test_released_money_settles_what_is_owed_first_and_never_goes_negative",
    "tests/test_payouts.py::test_the_fee_never_takes_more_than_the_levies_leave",
]
#: What the money scope adds: posting orders, levies, fees and refunds to the ledger (and
#: the fund receivable), fees, sellers' proceeds (pending, released, owed), refunds, and the
#: ledger itself (posting, the hash chains, balances, day totals, remittances).
MONEY_MODULES = [
    "marketplace/levies/routing.py",
    "marketplace/payouts/fees.py",
    "marketplace/payouts/proceeds.py",
    "marketplace/orders/refunds.py",
    "marketplace/ledger/services.py",
    "marketplace/ledger/verify.py",
    "marketplace/payouts/services.py",
    "marketplace/payouts/verify.py",
]
MONEY_TESTS = [
    "tests/test_levies.py",
    "tests/test_payouts.py",
    "tests/test_refunds.py",
    "tests/test_ledger_export.py",
    "tests/test_ledger_properties.py",
    "tests/test_ledger_verify.py",
]
#: The tests written for a module, run first on its mutants until some test has killed one
#: (then the tests that killed its function's other mutants go first).
OWN_TESTS = {
    "marketplace.levies.arithmetic": ["tests/test_levy_arithmetic.py"],
    "marketplace.payouts.arithmetic": ["tests/test_payouts.py"],
    "marketplace.grouporders.shares": ["tests/test_shares.py"],
    "marketplace.levies.routing": ["tests/test_levies.py"],
    "marketplace.payouts.fees": ["tests/test_payouts.py"],
    "marketplace.payouts.proceeds": ["tests/test_payouts.py"],
    "marketplace.orders.refunds": ["tests/test_refunds.py"],
    "marketplace.ledger.services": ["tests/test_levies.py", "tests/test_ledger_properties.py"],
    "marketplace.ledger.verify": ["tests/test_ledger_verify.py"],
    "marketplace.payouts.verify": ["tests/test_ledger_verify.py"],
    "marketplace.payouts.services": ["tests/test_payouts.py"],
}
#: What killed each function's mutants in the last full run (its three best killers), so
#: that a run starts with them first (tests/conftest.py); rewritten after each full run.
KILLERS_SEED = ROOT / "tests" / "mutation_killers.json"
KILLERS_KEPT = 3
SCOPES = {
    "arithmetic": (ARITHMETIC_MODULES, ARITHMETIC_TESTS),
    "money": (ARITHMETIC_MODULES + MONEY_MODULES, ARITHMETIC_TESTS + MONEY_TESTS),
}
#: Lines never mutated: what the money code says (messages, logs, docs), not what it does,
#: and the session's bookkeeping after a bulk UPDATE (what it reloads: the next read sees
#: the database whatever these say). A changed message is caught by the tests that read it
#: elsewhere; here it would only be noise among the survivors, each costing a rerun of
#: every test that reaches its function.
NOT_MUTATED = [
    r"report\.problem\(",
    r"_l\(",
    r"logger\.",
    r"raise (LedgerError|ValueError|TypeError)\(",
    r"synchronize_session=",
    r"db\.session\.expire\(",
    # A join's ON clause is the foreign key between the two tables: without it SQLAlchemy
    # infers the same one (an equivalent mutant), and any other join changes every row the
    # query reads (which each test of the query notices).
    r"\.(out)?join\(\w+, [\w.]+ == [\w.]+\)",
]
#: pytest arguments of every run: SQLite only; plain asserts (whether a test fails is the
#: same; rewriting them costs each mutant's run a scan of every installed package).
PYTEST_ARGS = ["-p", "no:cacheprovider", "--assert=plain", "-k", "not postgresql"]
#: mutmut's fork server imports the modules this file names before it forks a process per
#: mutant: tests/mutation_warmup.py runs the scope's tests once there (see tests/conftest.py).
PRELOAD = "preload_modules.txt"
#: A mutant's tests may use this many times the CPU time they took unchanged (mutmut's
#: limit: (their seconds + 1) × this × 2; its default 15). A mutant that makes a loop never
#: end (the journal walk re-reading its last entry) then counts as killed after about 40 s
#: of CPU instead of two minutes; a mutant's whole run forks warm and takes at most a few
#: times its tests' own time, and the limit is CPU time, so a busy machine does not reach it.
TIMEOUT_MULTIPLIER = 5
#: mutmut's exit codes for a mutant that the tests noticed (a timeout is SIGXCPU: 24, 152).
KILLED = {1, 3, 36, 37, -24, 24, 152, 255}
#: Never run (no selected test reaches the function): counted, as a survivor.
NO_TESTS = {5, 33}
SKIPPED = {34}


def toml_list(values):
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def mutmut_table(modules, tests):
    return "\n".join(
        [
            "[tool.mutmut]",
            'source_paths = ["marketplace/"]',
            f"only_mutate = {toml_list(modules)}",
            f"also_copy = {toml_list([n for n in LINKED if n not in ('marketplace', 'tests')])}",
            f"pytest_add_cli_args_test_selection = {toml_list(tests)}",
            f"pytest_add_cli_args = {toml_list(PYTEST_ARGS)}",
            'forkserver_warmup = "import"',
            f'preload_modules_file = "{PRELOAD}"',
            f"do_not_mutate_patterns = {toml_list(NOT_MUTATED)}",
            "use_git_change_detection = false",
            f"timeout_multiplier = {TIMEOUT_MULTIPLIER}",
            "",
        ]
    )


def prepare(work, modules, tests):
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    for name in LINKED:
        (work / name).symlink_to(ROOT / name)
    (work / PRELOAD).write_text("tests.mutation_warmup\n", encoding="utf-8")
    project = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (work / "pyproject.toml").write_text(
        project.rstrip("\n") + "\n\n" + mutmut_table(modules, tests), encoding="utf-8"
    )


def results(work):
    """``{mutant name: exit code}`` from mutmut's files."""
    found = {}
    for meta in sorted((work / "mutants").rglob("*.py.meta")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        found.update(data["exit_code_by_key"])
    return found


def save_killers(work):
    """Keep the best killers of each function this run met (by how many of its mutants they
    killed) in ``KILLERS_SEED``, beside those of functions it did not."""
    counts = {}
    live = work / "mutants" / "killers.jsonl"
    if not live.exists():
        return
    for line in live.read_text(encoding="utf-8").splitlines():
        seen = json.loads(line)
        tests = counts.setdefault(seen["function"], {})
        tests[seen["test"]] = tests.get(seen["test"], 0) + 1
    kept = json.loads(KILLERS_SEED.read_text(encoding="utf-8")) if KILLERS_SEED.exists() else {}
    for function, tests in counts.items():
        best = sorted(tests.items(), key=lambda item: (-item[1], item[0]))[:KILLERS_KEPT]
        kept[function] = dict(best)
    KILLERS_SEED.write_text(json.dumps(kept, indent=0, sort_keys=True) + "\n", encoding="utf-8")


def diff_of(work, name, env):
    shown = subprocess.run(  # noqa: S603 (mutmut, with a mutant name it printed)
        [str(BIN / "mutmut"), "show", name],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return shown.stdout.strip()


def main(argv):
    scope = argv[1] if len(argv) > 1 else "money"
    if scope not in SCOPES:
        sys.exit(f"usage: mutation.py [{'|'.join(SCOPES)}] [PATTERN…]")
    patterns = argv[2:]
    modules, tests = SCOPES[scope]
    work = ROOT / ".mutation" / scope
    prepare(work, modules, tests)
    env = {
        **os.environ,
        "TEST_SQLITE_TEMPLATE": str(work / "template.sqlite3"),
        "TEST_DURATIONS": str(work / "mutants" / "mutmut-stats.json"),
        "MUTATION_OWN_TESTS": json.dumps(OWN_TESTS),
        "MUTATION_KILLERS_SEED": str(KILLERS_SEED),
        # mutmut runs the tests in its own processes; a pytest-xdist setting from the
        # environment would start more.
        "PYTEST_ADDOPTS": "",
        # The warm-up run in mutmut's fork server: the tests as mutmut runs them, all of them.
        "MUTATION_WARM_UP": json.dumps(
            ["--rootdir=.", "--tb=native", "-q", "-p", "no:randomly", *tests, *PYTEST_ARGS]
        ),
    }
    children = os.environ.get("MUTATION_CHILDREN") or str(os.cpu_count() or 1)
    started = time.monotonic()
    log = work / "mutmut.log"
    with log.open("w", encoding="utf-8") as out:
        run = subprocess.run(  # noqa: S603 (mutmut, from this virtualenv)
            [str(BIN / "mutmut"), "run", "--max-children", children, *patterns],
            cwd=work,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    seconds = time.monotonic() - started
    found = results(work)
    if run.returncode != 0 or not found:
        tail = log.read_text(encoding="utf-8", errors="replace")[-4000:]
        sys.exit(f"mutmut failed (exit {run.returncode}); the end of {log}:\n{tail}")
    # Not run: skipped by mutmut, or left out by the patterns.
    counted = {
        name: code for name, code in found.items() if code is not None and code not in SKIPPED
    }
    if not patterns:
        save_killers(work)
    killed = sorted(name for name, code in counted.items() if code in KILLED)
    survivors = sorted(name for name in counted if name not in set(killed))
    total = len(counted)
    score = len(killed) / total if total else 0.0
    print(f"mutation_scope={scope}")
    print(f"mutation_modules={len(modules)}")
    print(f"mutation_killed={len(killed)}")
    print(f"mutation_total={total}")
    print(f"mutation_score={score:.3f}")
    print(f"mutation_seconds={seconds:.0f}")
    for name in survivors:
        code = counted[name]
        how = "no test reaches it" if code in NO_TESTS else f"survived (exit {code})"
        print(f"survivor {name}  {how}")
    for name in survivors:
        print()
        print(re.sub(r"\n{3,}", "\n\n", diff_of(work, name, env)))
    if score < BUDGET:
        print(f"mutation_score {score:.3f} is under the budget {BUDGET}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""``make mutation``: run the scope's tests once in mutmut's fork server, before it forks a
process per mutant.

mutmut imports the modules its ``preload_modules_file`` names in the fork server, so that
each mutant's process starts with them loaded. Importing this one runs the tests themselves
(every mutant off): the apps ``tests/conftest.py`` keeps under ``TEST_SQLITE_TEMPLATE``, the
SQL their engines compiled and the test modules are then in memory, and each mutant's run
only runs its tests. ``MUTATION_WARM_UP`` holds the pytest arguments (JSON), as
scripts/mutation.py sets it; mutmut runs the tests from its ``mutants`` folder.

Then the tests run once more, with no mutant, in a process forked from this warm one, as
each mutant's run will be: they must all pass there, or a test that only fails in a warm
process would count as killing every mutant it runs for.
"""

import gc
import json
import os

import pytest


def _run(arguments):
    here = os.getcwd()
    os.chdir("mutants")
    try:
        return int(pytest.main(arguments))
    finally:
        os.chdir(here)


def _run_forked(arguments):
    child = os.fork()
    if child == 0:
        os._exit(_run(arguments))
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status)


_arguments = json.loads(os.environ["MUTATION_WARM_UP"])
_run(_arguments)
# What the warm-up built stays as it is: the garbage collections of each mutant's run (pytest
# forces some at its end) then skip it.
gc.freeze()
_status = _run_forked(_arguments)
if _status != 0:
    raise RuntimeError(
        f"with no mutant, the tests fail (exit {_status}) in a process forked from the warm "
        "fork server: a mutant's run would count that as a kill"
    )

"""A test hook for crash tests: the process kills itself (SIGKILL) at a named step of a commit.

`LVO_KILL_AT=STEP@N` kills the process when it reaches STEP while committing generation N of an index (numbered
from 1 in a fresh one), `LVO_KILL_AT=STEP` at the first swap step of that name. Only
tests/index/test_crash_safety.py sets it; unset, `kill_point` only reads the variable. The steps, in order:

- commit of generation N (index/folder.py, index/indexer.py): `vectors-written` (temporary file written and
  flushed), `vectors-renamed` (renamed to vectors-N.faiss), `catalog-written` (all catalog rows written, the
  SQLite transaction not yet committed), `catalog-committed` (committed, old vector files not yet deleted);
- rebuild swap (index/folder.py `swap_in`): `swap-marked` (fresh index marked complete), `swap-retired` (old index
  renamed to DIR.old), `swap-renamed` (fresh index renamed to DIR, DIR.old not yet deleted).

A database index (index/pg/) commits in one transaction: `vectors-written` and `catalog-written` happen inside it,
`catalog-committed` after it; its swap is one transaction too, with `swap-dropped` (old schema dropped, the fresh
one not yet renamed, nothing committed) inside.
"""

from __future__ import annotations

import os
import signal

KILL_AT = "LVO_KILL_AT"
COMMIT_STEPS = ("vectors-written", "vectors-renamed", "catalog-written", "catalog-committed")
SWAP_STEPS = ("swap-marked", "swap-retired", "swap-renamed")
DATABASE_COMMIT_STEPS = ("vectors-written", "catalog-written", "catalog-committed")
DATABASE_SWAP_STEPS = ("swap-dropped",)


def kill_point(step: str, generation: int | None = None) -> None:
    """SIGKILL the own process if `LVO_KILL_AT` names this step (and generation)."""
    wanted = os.environ.get(KILL_AT)
    if wanted and wanted == (step if generation is None else f"{step}@{generation}"):
        os.kill(os.getpid(), signal.SIGKILL)

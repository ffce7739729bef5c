"""The score and survivors of one `scripts/mutate.sh` run, from mutmut's cache and the sources it mutated.

    python scripts/mutate_report.py MODULE PATHS SECONDS     (run in the folder that holds .mutmut-cache)

Each survivor is shown as the line it changed, before -> after (mutmut's own mutation, re-applied in memory).
"""

from __future__ import annotations

import sqlite3
import sys

KILLED = ("ok_killed", "ok_suspicious", "bad_timeout")  # suspicious: the tests failed, only slowly


def mutated_line(filename: str, line: str, index: int, line_number: int) -> str:
    from mutmut import Context, RelativeMutationID, mutate

    with open(filename) as handle:
        source = handle.read()
    context = Context(source=source, mutation_id=RelativeMutationID(line, index, line_number), filename=filename)
    mutated, _ = mutate(context)
    return mutated.split("\n")[line_number].strip()


def main(module: str, paths: str, seconds: str) -> None:
    db = sqlite3.connect(".mutmut-cache")
    rows = db.execute('select m.id, m.status, m."index", l.line_number, l.line, s.filename from mutant m '
                      "join line l on m.line = l.id join sourcefile s on l.sourcefile = s.id "
                      "order by s.filename, l.line_number, m.\"index\"").fetchall()
    counts: dict[str, int] = {}
    for row in rows:
        counts[row[1]] = counts.get(row[1], 0) + 1
    killed = sum(counts.get(status, 0) for status in KILLED)
    survived = counts.get("bad_survived", 0)
    tested = killed + survived
    score = f", score {killed / tested:.0%}" if tested else ""
    print(f"module {module}: {paths}")
    print(f"{tested} of {len(rows)} mutants tested in {seconds} s: {killed} killed, {survived} survived{score}; "
          f"{counts.get('untested', 0)} not reached")
    for mutant_id, status, index, line_number, line, filename in rows:
        if status == "bad_survived":
            try:
                after = mutated_line(filename, line, index, line_number)
            except Exception as error:  # noqa: BLE001 - the report still lists the survivor
                after = f"? ({type(error).__name__})"
            print(f"survived #{mutant_id} {filename}:{line_number + 1}: {line.strip()}  ->  {after}")


if __name__ == "__main__":
    main(*sys.argv[1:4])

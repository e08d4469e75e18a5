"""Rewriting bench/RESULTS.md and the README's block together, or neither.

Both are rendered, and the README's markers checked, before either file is written; a file whose
bytes would not change is left alone, so ``--render-only`` on unchanged results touches nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from bench import harness as h
from bench.report.readme_block import MarkerError, render_headline, replace_block
from bench.report.results_md import render_results
from bench.report.store import RESULTS_DIR, Stored, missing

RESULTS_MD = h.REPO / "bench" / "RESULTS.md"
README = h.REPO / "README.md"


class IncompleteResults(RuntimeError):
    """Some benchmarks have nothing stored: rendering now would drop their figures."""

    def __init__(self, names: Sequence[str], directory: Path, *, everything: bool) -> None:
        self.names = list(names)
        command = "python -m bench.run_all" + ("" if everything else " --only " + " ".join(self.names))
        super().__init__(
            f"no stored result for {', '.join(self.names)} in {directory}: rewriting RESULTS.md and"
            f" the README now would drop their figures, so both were left as they are; measure them"
            f" first ({command})")


def write_reports(stored: Mapping[str, Stored], names: Sequence[str], *, directory: Path = RESULTS_DIR,
                  results_md: Path = RESULTS_MD, readme: Path = README) -> list[Path]:
    """Rewrite RESULTS.md and the README block from ``stored``; the files that changed.

    Everything is rendered and the README's markers checked before either file is written, so
    a refusal (:class:`IncompleteResults`, :class:`MarkerError`) leaves both as they were."""
    gaps = missing(stored, names)
    if gaps:
        raise IncompleteResults(gaps, directory, everything=len(gaps) == len(names))
    try:
        new_readme = replace_block(readme.read_bytes().decode("utf-8"), render_headline(stored, names))
    except MarkerError as e:
        raise MarkerError(f"{readme}: {e}") from None
    updates = [(results_md, render_results(stored, names)), (readme, new_readme)]
    written = []
    for path, text in updates:
        data = text.encode("utf-8")
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
            written.append(path)
    return written

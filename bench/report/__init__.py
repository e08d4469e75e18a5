"""Stored benchmark results, and bench/RESULTS.md and the README's headline table rendered from them.

``bench.run_all`` runs benchmarks; this package keeps what they measured and turns it into text.
Each benchmark's ``--json`` output is stored in ``bench/results/<name>.json`` together with when,
where and how it was measured (:mod:`.store`), and both reports are rendered from *all* stored
results rather than from one run's. That is what lets ``run_all --only NAME`` rerun one benchmark
without dropping every other benchmark's figures, and lets ``--render-only`` redo the text after a
change to the rendering without an hour of measuring. Because the figures can then come from
different dates, commits or machines, both reports say when each one was measured
(:mod:`.provenance`).

Rendering is a pure function of the stored results (no "rendered at" time), so re-rendering
unchanged results changes nothing in git. The README is only touched between the
``<!-- bench:headline -->`` and ``<!-- /bench:headline -->`` lines (:mod:`.readme_block`);
everything around them stays byte for byte as written by hand.

Where each part of the text comes from:

- :mod:`.results_md`: RESULTS.md in order, from the ``*_tables`` modules (each benchmark group's
  rows in the figure table and its own per-run or per-step tables: :mod:`.live_latency_tables`,
  :mod:`.capacity_tables`, :mod:`.edge_tables`, :mod:`.chat_tables`, :mod:`.vod_tables`,
  :mod:`.catalog_tables`) and :mod:`.how_measured`;
- :mod:`.headline_rows`: the README's rows; :mod:`.readme_block`: the block around them;
- :mod:`.rewrite`: writing both files, or neither.

Only what ``bench.run_all`` and the tests use is exported here.
"""

from bench.report.headline_rows import HEADLINES
from bench.report.readme_block import (HEADLINE_END, HEADLINE_START, MarkerError, render_headline,
                                       replace_block)
from bench.report.results_md import render_results
from bench.report.rewrite import README, IncompleteResults, write_reports
from bench.report.store import (RESULTS_DIR, Attempt, Stored, load, load_all, missing, result_path,
                                store_failure, store_success)

__all__ = [
    "HEADLINES", "HEADLINE_END", "HEADLINE_START", "README", "RESULTS_DIR", "Attempt", "IncompleteResults",
    "MarkerError", "Stored", "load", "load_all", "missing", "render_headline", "render_results",
    "replace_block", "result_path", "store_failure", "store_success", "write_reports",
]

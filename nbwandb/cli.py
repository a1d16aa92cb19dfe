"""The ``nbwandb`` command: local runs from a terminal.

    nbwandb runs [DIR]                         the runs table (like W&B's Runs page)
    nbwandb show PATH... [-o report.html]      a self-contained HTML dashboard
    nbwandb sync [DIR|RUN...] [--timeout S] [--jobs N] [--force]
                                               upload offline runs, and online runs whose
                                               upload did not complete, with `wandb sync`
    nbwandb demo [--out DIR] [--notebook NB]   a small offline run end to end + its report

>>> main(["runs", str(wandb_dir)])
<BLANKLINE>
...example...
0
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from nbwandb.errors import NbwandbError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nbwandb", description="Notebook-first helpers for Weights & Biases: local runs."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    runs = sub.add_parser("runs", help="print the table of local runs")
    runs.add_argument(
        "dir", nargs="?", default=None, help="wandb folder (default: $WANDB_DIR/wandb or ./wandb)"
    )
    runs.add_argument(
        "--all-columns",
        action="store_true",
        help="print every config/summary column (needs pandas)",
    )

    show = sub.add_parser("show", help="write an HTML dashboard of one or more runs")
    show.add_argument(
        "paths", nargs="+", help="run folders, .wandb files or a wandb folder (its latest run)"
    )
    show.add_argument(
        "-o", "--output", default="report.html", help="HTML file to write (default: report.html)"
    )
    show.add_argument("--smoothing", type=float, default=0.0, help="EMA smoothing weight in [0, 1)")
    show.add_argument(
        "--keys", nargs="*", default=None, help="metrics: names, sections (train) or globs (val/*)"
    )

    sync = sub.add_parser(
        "sync",
        help="upload offline runs (and online runs whose upload did not complete) "
        "with `wandb sync`, in parallel, with a timeout",
    )
    sync.add_argument("paths", nargs="*", help="wandb folder or run folders (default: ./wandb)")
    sync.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds per run before it is killed (default 120)",
    )
    sync.add_argument(
        "--jobs", type=int, default=2, help="runs synced at the same time (default 2)"
    )
    sync.add_argument(
        "--no-check", action="store_true", help="skip the key/network check before syncing"
    )
    sync.add_argument(
        "--force", action="store_true", help="upload runs again that were already uploaded"
    )

    demo = sub.add_parser("demo", help="run a small offline example and write its report")
    demo.add_argument(
        "--out",
        default="nbwandb-demo",
        help="folder for the run and report.html (default: nbwandb-demo)",
    )
    demo.add_argument(
        "--steps",
        type=int,
        default=None,
        help="run the built-in example for this many steps (default 50) instead of a notebook",
    )
    demo.add_argument(
        "--notebook",
        default=None,
        help="execute this notebook offline (default: notebooks/01_quickstart.ipynb when present)",
    )
    return parser


def _cmd_runs(args: argparse.Namespace, out: TextIO) -> int:
    from nbwandb.local import list_runs

    table = list_runs(args.dir)
    if args.all_columns:
        frame = table.to_dataframe()
        print(
            frame.drop(columns=["path"]).to_string(index=False) if len(frame) else "no runs",
            file=out,
        )
    else:
        print(table, file=out)
    return 0


def _cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    from nbwandb.views.dashboard import show

    dash = show(args.paths, smoothing=args.smoothing, keys=args.keys)
    path = dash.save(args.output)
    print(repr(dash), file=out)
    print(f"report written to {path}", file=out)
    return 0


def _cmd_sync(args: argparse.Namespace, out: TextIO) -> int:
    from tqdm import tqdm

    from nbwandb.local.sync import offline_run_dirs, sync_runs

    paths = args.paths or None
    total = len(offline_run_dirs(paths if paths is None or len(paths) != 1 else paths[0]))
    with tqdm(total=total, desc="wandb sync", unit="run", file=sys.stderr, leave=True) as bar:
        results = sync_runs(
            paths,
            timeout=args.timeout,
            jobs=args.jobs,
            check_network=not args.no_check,
            on_done=lambda _result: bar.update(1),
            force=args.force,
        )
    for result in results:
        print(result, file=out)
    failed = [r for r in results if not r.ok]
    skipped = [r for r in results if r.skipped]
    line = f"{len(results) - len(failed) - len(skipped)} synced, {len(failed)} failed"
    print(line + (f", {len(skipped)} skipped (nothing to upload)" if skipped else ""), file=out)
    return 1 if failed else 0


def _cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from nbwandb.demo import default_notebook, run_demo, run_notebook_demo

    notebook = args.notebook or (default_notebook() if args.steps is None else None)
    if notebook:
        executed = run_notebook_demo(notebook, args.out)
        print(executed, file=out)
        return 0 if executed.run_dirs else 1
    result = run_demo(args.out, steps=50 if args.steps is None else args.steps)
    print(result, file=out)
    return 0 if result.state == "finished" else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nbwandb`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    handlers = {"runs": _cmd_runs, "show": _cmd_show, "sync": _cmd_sync, "demo": _cmd_demo}
    try:
        return handlers[args.command](args, sys.stdout)
    except (NbwandbError, ValueError, TypeError) as exc:
        print(f"nbwandb {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

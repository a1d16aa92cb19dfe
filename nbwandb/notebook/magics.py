"""IPython magics for nbwandb: ``%load_ext nbwandb``.

Each magic is a thin parser over a public function (``nbwandb.login``, ``nbwandb.init``,
``nbwandb.checks.doctor.run_checks``, ...) plus a panel to show the outcome. The names avoid
``%wandb``/``%%wandb``, which wandb itself registers.

>>> %load_ext nbwandb                                    # doctest: +SKIP
>>> %wandb_init -p demo --mode offline --tags a,b        # doctest: +SKIP
>>> %%wandb_run -p demo                                  # doctest: +SKIP
... run.log({"loss": 0.1})
"""

from __future__ import annotations

import ast
import sys
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

from nbwandb.checks.doctor import check_save_hook, run_checks
from nbwandb.connection.auth import login
from nbwandb.connection.modes import MODES
from nbwandb.connection.network import AUTO_TIMEOUT
from nbwandb.errors import NbwandbError
from nbwandb.notebook.environment import detect_environment, widgets_can_render
from nbwandb.notebook.history_scrub import scrub_history, scrub_text

# The panels (and ipywidgets, slow to import) are imported by the magics that show them,
# not here: %load_ext stays quick, and the preload imports them in the background meanwhile.
from nbwandb.run import finish, session
from nbwandb.start.init import init

_LOGIN_FLAGS = ("--relogin", "--no-verify", "-h", "--help")


def _init_options(func: Any) -> Any:
    """The options %wandb_init and %%wandb_run share (the parameters of ``nbwandb.init``)."""
    for decorator in reversed(
        [
            argument("-p", "--project", help="W&B project"),
            argument("-e", "--entity", help="W&B entity (user or team)"),
            argument(
                "--mode",
                choices=MODES,
                default="auto",
                help="auto (default), online, offline or disabled",
            ),
            argument("-n", "--name", help="run name"),
            argument("-g", "--group", help="run group"),
            argument("--tags", help="comma-separated tags, e.g. a,b"),
            argument(
                "--config",
                metavar="VAR",
                help="a dict, dataclass or ConfigForm variable to use as config",
            ),
            argument(
                "--var",
                default="run",
                help="the notebook variable the run is bound to (default: run)",
            ),
            argument(
                "--resume",
                nargs="?",
                const="auto",
                default=None,
                metavar="RUN",
                help="continue a crashed run: the newest of the project (no value), a run id or a run folder",
            ),
            argument(
                "--network-timeout",
                type=float,
                default=None,
                metavar="S",
                help="seconds to wait for the W&B host (default 5 in auto mode, then offline; 10 online)",
            ),
        ]
    ):
        func = decorator(func)
    return func


def init_kwargs_from_args(args: Any, user_ns: dict[str, Any]) -> dict[str, Any]:
    """``nbwandb.init`` keyword arguments from parsed magic options."""
    kwargs: dict[str, Any] = {"mode": args.mode}
    for name in ("project", "entity", "name", "group"):
        value = getattr(args, name)
        if value is not None:
            kwargs[name] = value
    if args.tags is not None:
        kwargs["tags"] = [t.strip() for t in args.tags.split(",") if t.strip()]
    if args.config is not None:
        kwargs["config"] = _config_from_ns(args.config, user_ns)
    if getattr(args, "network_timeout", None) is not None:
        kwargs["network_timeout"] = args.network_timeout
    if getattr(args, "resume", None) is not None:
        kwargs["resume"] = args.resume
    return kwargs


def _config_from_ns(name: str, user_ns: dict[str, Any]) -> Any:
    if name not in user_ns:
        raise UsageError(
            f"--config {name}: there is no variable {name!r} in the notebook; "
            "pass the name of a dict, dataclass or ConfigForm variable"
        )
    value = user_ns[name]
    if type(value).__name__ == "ConfigForm" and hasattr(value, "value"):
        try:
            return value.value
        except ValueError as exc:
            raise UsageError(f"--config {name}: {exc}") from exc
    return value


def _is_seconds(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _secret_tokens(line: str) -> list[str]:
    """Tokens on a %wandb_login line that are not its options (e.g. a pasted key)."""
    tokens = line.split()
    suspicious: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token in _LOGIN_FLAGS or token.startswith(("--host=", "--timeout=")):
            i += 1
        elif token == "--host" or (
            token == "--timeout" and i + 1 < len(tokens) and _is_seconds(tokens[i + 1])
        ):
            i += 2
        else:
            suspicious.append(token.strip("'\""))
            suspicious.append(token)
            i += 1
    return suspicious


def _show(obj: Any) -> None:
    display(obj)


@magics_class
class NbwandbMagics(Magics):
    """The ``%wandb_*`` magics; ``load_ipython_extension`` registers them."""

    shell: Any  # set by IPython; typed loosely so each magic need not check for None

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        # Secrets waiting to be removed from the cell's ExecutionInfo once the cell ends.
        self._pending_scrub: list[str] = []
        self._finishing: Any = None  # the run %wandb_finish left finishing in the background
        self._last_finished: Any = None  # the run %wandb_finish ended last: %wandb_status shows it

    # -- login ------------------------------------------------------------------------------
    @magic_arguments()
    @argument("--host", help="W&B server (default: WANDB_BASE_URL or https://api.wandb.ai)")
    @argument(
        "--relogin", action="store_true", help="show the login panel even when a key is found"
    )
    @argument(
        "--no-verify", action="store_true", help="do not ask the server whether it knows the key"
    )
    @argument(
        "--timeout", type=float, default=None, help="seconds to wait for the server (default 5)"
    )
    @line_magic
    def wandb_login(self, line: str) -> Any:
        """Find W&B credentials (env, Colab secret, netrc); without any, show the login panel.

        A key on the magic line is refused: it would be saved in the notebook file and
        in IPython's history. It is not stored, and it is removed from this session's history.
        """
        secrets = _secret_tokens(line)
        if secrets:
            scrub_history(self.shell, secrets)
            self._pending_scrub.extend(secrets)
            raise UsageError(
                "%wandb_login takes no key on the magic line: the notebook file and IPython's history would "
                "keep it. It was not stored, and it was removed from this session's IPython history; delete it "
                "from the cell too (the notebook saves the cell's text), and if it was a real key, consider "
                "rotating it at https://wandb.ai/authorize. Run %wandb_login alone and paste the key into the "
                "masked field, or set WANDB_API_KEY / a Colab secret, or run `wandb login` in a terminal."
            )
        if {"-h", "--help"} & set(line.split()):
            print(self.wandb_login.parser.format_help())
            return None
        args = parse_argstring(self.wandb_login, line)

        # A found key is checked with the server (bounded): "verified", "rejected" or "not verified".
        try:
            result = login(
                host=args.host,
                relogin=False,
                verify=not args.no_verify,
                timeout=args.timeout or AUTO_TIMEOUT,
            )
        except NbwandbError as exc:  # a rejected key: say so, offer the panel below
            if args.relogin or not widgets_can_render():
                raise UsageError(str(exc)) from None
            print(exc)
            result = login(host=args.host, relogin=False)
            args.relogin = True
        if result.logged_in and not args.relogin:
            print(result.message)
            return None
        if not widgets_can_render():
            print(
                result.message
                + "\nTo log in here, set WANDB_API_KEY or run `wandb login` in a terminal."
            )
            return None

        from nbwandb.notebook.login_panel import LoginPanel

        panel = LoginPanel(host=args.host)
        _show(panel)
        return None

    # -- runs -------------------------------------------------------------------------------
    @magic_arguments()
    @_init_options
    @line_magic
    def wandb_init(self, line: str) -> None:
        """Start a run with ``nbwandb.init`` (re-running the cell finishes the previous run) and show it."""
        args = parse_argstring(self.wandb_init, line)
        self._start(args)

    def _start(self, args: Any) -> Any:
        try:
            run = init(**init_kwargs_from_args(args, self.shell.user_ns))
        except (NbwandbError, ValueError, TypeError) as exc:
            # A one-line message in the cell (it names the value and what is accepted), not a traceback.
            raise UsageError(f"{exc}") from exc
        self.shell.user_ns[args.var] = run
        from nbwandb.notebook.run_panel import RunPanel

        _show(RunPanel(run))
        return run

    @magic_arguments()
    @argument(
        "var", nargs="?", help="a dict or dataclass variable (default: the active run's config)"
    )
    @argument("-p", "--project", help="project of the run the form starts")
    @argument("--mode", choices=MODES, default="auto", help="mode of the run the form starts")
    @line_magic
    def wandb_config(self, line: str) -> Any:
        """Show a ConfigForm for a dict/dataclass variable, or for the active run's config."""
        args = parse_argstring(self.wandb_config, line)
        from nbwandb.notebook.config_form import ConfigForm

        if args.var is not None:
            config = _config_from_ns(args.var, self.shell.user_ns)
            kwargs: dict[str, Any] = {"mode": args.mode}
            if args.project:
                kwargs["project"] = args.project
            try:
                return ConfigForm(config, **kwargs)
            except (ValueError, TypeError) as exc:
                raise UsageError(f"%wandb_config {args.var}: {exc}") from exc
        run = session.active_run()
        if run is None:
            raise UsageError(
                "%wandb_config: no active run; pass a variable, e.g. %wandb_config config"
            )
        return ConfigForm(run.config, run=run)

    @line_magic
    def wandb_status(self, line: str = "") -> None:
        """Show the active run's panel; else that of the run ``%wandb_finish`` ended last (its
        state: finishing in the background, then finished or failed); else say there is none."""
        run = session.active_run()
        if run is None:
            run = self._last_finished
        if run is None:
            print("nbwandb: no active run (start one with %wandb_init or nbwandb.init)")
            return
        from nbwandb.notebook.run_panel import RunPanel

        _show(RunPanel(run))

    @magic_arguments()
    @argument("--exit-code", type=int, default=0, help="exit code to record (default 0)")
    @argument(
        "--wait",
        action="store_true",
        help="wait until the run file is complete (by default its last rows go on in the background)",
    )
    @line_magic
    def wandb_finish(self, line: str) -> None:
        """Finish the active run (everything logged is written first, in the background)."""
        args = parse_argstring(self.wandb_finish, line)

        run = finish.finish_active(exit_code=args.exit_code, wait=True if args.wait else None)
        if run is None and args.wait and self._finishing is not None:
            run = self._finishing  # the run this magic left finishing: wait for it now
            run.finish(wait=True)
        if run is None:
            print("nbwandb: no active run to finish")
            return
        self._last_finished = run
        outcome = run.finish_outcome
        # "finishing": the run takes no more rows; its file is completed meanwhile
        # (%wandb_status shows it, and --wait later waits for it).
        self._finishing = run if outcome.what == "finishing" else None
        print(outcome.message())

    @magic_arguments()
    @_init_options
    @cell_magic
    def wandb_run(self, line: str, cell: str) -> None:
        """A run for one cell: start it, run the cell, finish it (exit code 1 if the cell raised).

        The error (or KeyboardInterrupt) still shows and fails the cell. The run is bound
        to ``run`` (or ``--var NAME``). Top-level ``await`` is not supported in such a cell.
        """
        __tracebackhide__ = True  # noqa: F841 - IPython hides this frame in tracebacks
        args = parse_argstring(self.wandb_run, line)
        run = self._start(args)
        try:
            run_cell_body(self.shell, cell)
        except BaseException:
            # Interrupted or failed: the run records it, then the error shows as usual.
            run.finish(exit_code=1)
            raise
        run.finish(exit_code=0)

    # -- diagnosis --------------------------------------------------------------------------
    @magic_arguments()
    @argument("--no-service", action="store_true", help="skip starting wandb's service (faster)")
    @line_magic
    def wandb_doctor(self, line: str) -> None:
        """Check versions, mode, credentials, wandb's service, disk and widgets; say how to fix problems."""
        args = parse_argstring(self.wandb_doctor, line)
        from nbwandb.notebook.doctor_report import DoctorReport

        _show(
            DoctorReport(run_checks(environment=detect_environment(), service=not args.no_service))
        )

    # -- cell hooks -------------------------------------------------------------------------
    def post_run_cell(self, *args: Any, **kwargs: Any) -> None:
        """After every cell: drop secrets from the cell's record, write the active run's rows.

        Accepts any arguments (IPython changed this hook's signature before). It never
        raises: IPython would print its arguments, which hold the cell's text.
        """
        try:
            if self._pending_scrub:
                secrets, self._pending_scrub = self._pending_scrub, []
                for result in [
                    *args,
                    *kwargs.values(),
                    getattr(self.shell, "last_execution_result", None),
                ]:
                    info = getattr(result, "info", None)
                    if info is not None and hasattr(info, "raw_cell"):
                        info.raw_cell = scrub_text(info.raw_cell, secrets)
                scrub_history(self.shell, secrets)
            flush_active_run()
        except Exception as exc:  # noqa: BLE001
            print(f"nbwandb: after the cell: {type(exc).__name__}: {exc}", file=sys.stderr)


def flush_active_run(timeout: float = finish.FLUSH_TIMEOUT) -> bool:
    """Write the active run's logged rows now (``nbwandb.run.finish.flush_active``); say so
    on stderr when they take longer than ``timeout`` (later cells then wait only briefly)."""
    flushed = finish.flush_active(timeout)
    message = flushed.message()
    if message is not None:
        print(message, file=sys.stderr)
    return flushed.done


def run_cell_body(shell: Any, cell: str) -> None:
    """Run a cell's code in the notebook namespace; its last expression is displayed as usual."""
    __tracebackhide__ = True  # noqa: F841
    source = shell.transform_cell(cell)
    filename = shell.compile.cache(source, shell.execution_count, raw_code=cell)
    tree = shell.compile.ast_parse(source, filename=filename)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Interactive(body=[tree.body.pop()])
    exec(shell.compile(tree, filename, "exec"), shell.user_global_ns, shell.user_ns)  # noqa: S102
    if last is not None:
        # "single" mode sends the value to IPython's displayhook, as a normal cell does.
        exec(shell.compile(last, filename, "single"), shell.user_global_ns, shell.user_ns)  # noqa: S102


_loaded: dict[int, NbwandbMagics] = {}


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics and the post-cell hook (loading twice is harmless)."""
    import os

    # wandb's own banners and progress lines stay out of cells; nbwandb prints one line.
    os.environ.setdefault("WANDB_SILENT", "true")
    if id(ipython) in _loaded:
        return
    from nbwandb.run import startup

    _hint_if_server_lacks_save_hook()  # quick: two small files looked up
    _hint_if_modules_replaced()
    # wandb's import and service start (the slow part of a first init; benchmarks/bench_init.py)
    # happen now, in the background, not in %wandb_init.
    # (and the panels, which this module imports only when a magic shows one)
    startup.start_preload(
        extra_modules=(
            "nbwandb.notebook.run_panel",
            "nbwandb.notebook.config_form",
            "nbwandb.notebook.login_panel",
        )
    )
    # ... and an offline %wandb_init returns before wandb has created the run (it waits for nothing).
    startup.set_background_init(True)
    magics = NbwandbMagics(ipython)
    ipython.register_magics(magics)
    ipython.events.register("post_run_cell", magics.post_run_cell)
    _loaded[id(ipython)] = magics


def _hint_if_server_lacks_save_hook() -> None:
    # nbwandb installed in the kernel's environment only: the Jupyter server never loads
    # the hook that saves live panels as HTML, and the user would find out on reopening.
    from nbwandb.server_hook.presence import hook_state

    if detect_environment() == "jupyter" and hook_state() == "missing":
        # The doctor's row names the cause (hook not enabled, or no nbwandb where Jupyter runs).
        check = check_save_hook("jupyter", in_kernel=True)
        print(
            "nbwandb: this Jupyter server does not have nbwandb's save hook, so a notebook saved "
            f"while a run is live reopens with 'model not found'. Fix: {check.fix}."
        )


def _hint_if_modules_replaced() -> None:
    # A %pip install that upgraded ipywidgets or wandb under this kernel: the old copy stays
    # loaded (or a mix of old and new modules), and only a restart loads the new one.
    from nbwandb.checks.loaded_versions import mismatches, restart_hint

    for found in mismatches():
        print(f"nbwandb: {found.describe()}: {restart_hint(detect_environment())} to load it.")


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the post-cell hook and the magics."""
    magics = _loaded.pop(id(ipython), None)
    if magics is None:
        return
    if not _loaded:
        from nbwandb.run import startup

        startup.set_background_init(False)
    try:
        ipython.events.unregister("post_run_cell", magics.post_run_cell)
    except ValueError:
        pass
    for kind, names in magics.magics.items():
        for name in names:
            ipython.magics_manager.magics[kind].pop(name, None)


__all__ = [
    "NbwandbMagics",
    "flush_active_run",
    "init_kwargs_from_args",
    "load_ipython_extension",
    "run_cell_body",
    "unload_ipython_extension",
]

"""``run_checks``: what a notebook needs for W&B, checked one by one, with a fix for each problem.

The core only returns results; ``%wandb_doctor`` (or a script) decides how to show them.
The API key itself is never read into a result, only where it came from.

>>> checks = run_checks(service=False)
>>> [check.name for check in checks][:3]
['python', 'wandb', 'ipywidgets']
>>> all(check.fix for check in checks if check.ok is False)   # every problem comes with its fix
True
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from nbwandb.checks.loaded_versions import (
    IPYWIDGETS_SPEC,
    ipywidgets_supported,
    mismatch,
    restart_hint,
)
from nbwandb.connection.credentials import find_key, key_problem
from nbwandb.connection.modes import resolve_mode
from nbwandb.connection.network import AUTO_TIMEOUT, probe_host
from nbwandb.run import session
from nbwandb.run.disk_space import check_run_dir
from nbwandb.server_hook.presence import (
    ENABLE_COMMAND,
    ServerEnvironment,
    hook_state,
    server_environment,
)

MIN_PYTHON = (3, 9)
SERVICE_TIMEOUT = 60.0
HOST_TIMEOUT = 3.0  # seconds the doctor waits for the W&B host
WIDGET_FRONTENDS = ("colab", "vscode", "jupyter")
# The frontends nbwandb's browser tests show each ipywidgets major version on (tests/browser/);
# README's "Tested environments" table says the same. Nothing else is claimed as tested.
TESTED_FRONTENDS = {
    7: "classic Notebook 6.5.7 with widgetsnbextension 3.6.10",
    8: "JupyterLab 4 and Notebook 7",
}


@dataclass(frozen=True)
class CheckResult:
    """One check: ``ok`` is True (fine), False (a problem, see ``fix``) or None (for information)."""

    name: str
    ok: bool | None
    detail: str
    fix: str = ""


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def check_python() -> CheckResult:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] < MIN_PYTHON:
        return CheckResult(
            "python",
            False,
            f"Python {version}",
            f"use Python {'.'.join(map(str, MIN_PYTHON))} or newer",
        )
    return CheckResult("python", True, f"Python {version} ({sys.executable})")


def check_package(
    dist: str, install: str, minimum_major: int | None = None, environment: str | None = None
) -> CheckResult:
    """Whether ``dist`` is installed, new enough, and the copy this process runs."""
    version = _version(dist)
    if version is None:
        return CheckResult(dist, False, "not installed", f"pip install '{install}'")
    replaced = mismatch(dist)
    if replaced is not None:
        # pip cannot fix a module loaded before a pip install replaced it; a restart can.
        return CheckResult(dist, False, replaced.describe(), restart_hint(environment))
    major = int(version.split(".")[0]) if version.split(".")[0].isdigit() else 0
    if minimum_major is not None and major < minimum_major:
        return CheckResult(dist, False, f"{version} (too old)", f"pip install -U '{install}'")
    return CheckResult(dist, True, version)


def check_ipywidgets(environment: str | None = None) -> CheckResult:
    """ipywidgets: installed, in the supported range (7.7 to 8), and the copy that is loaded."""
    result = check_package("ipywidgets", IPYWIDGETS_SPEC, environment=environment)
    if result.ok and not ipywidgets_supported(result.detail):
        return CheckResult(
            "ipywidgets",
            False,
            f"{result.detail} (the panels need {IPYWIDGETS_SPEC})",
            f"pip install '{IPYWIDGETS_SPEC}', then {restart_hint(environment)}",
        )
    return result


def check_frontend(environment: str | None) -> CheckResult:
    parts = [f"environment: {environment or 'unknown'}"]
    for dist in ("jupyterlab", "notebook", "jupyterlab_widgets", "ipykernel"):
        version = _version(dist)
        if version:
            parts.append(f"{dist} {version}")
    return CheckResult("frontend", None, ", ".join(parts))


def check_mode() -> CheckResult:
    try:
        decision = resolve_mode("auto")
    except ValueError as exc:
        return CheckResult("mode", False, str(exc), "fix or unset WANDB_MODE")
    return CheckResult("mode", True, f"mode='auto' gives {decision.mode!r}: {decision.reason}")


def check_credentials() -> CheckResult:
    info, secret = find_key()
    if secret is None:
        return CheckResult(
            "credentials",
            None,
            f"none found for {info.host}: runs are offline",
            "to go online: %wandb_login, or set WANDB_API_KEY, or `wandb login` in a terminal",
        )
    problem = key_problem(secret.reveal())
    del secret
    where = {"env": "WANDB_API_KEY", "colab": "Colab secret WANDB_API_KEY", "netrc": "netrc"}.get(
        info.source or ""
    )
    if problem:
        return CheckResult(
            "credentials",
            False,
            f"the key from {where} is malformed: {problem}",
            "get a new key at https://wandb.ai/authorize and run %wandb_login --relogin",
        )
    return CheckResult(
        "credentials", True, f"a key from {where} for {info.host} (the key is not shown)"
    )


def check_host(timeout: float = HOST_TIMEOUT) -> CheckResult:
    """Ask the W&B host whether it answers and knows the key (bounded: ``timeout`` seconds)."""
    info, secret = find_key()
    if secret is None:
        return CheckResult(
            "W&B host", None, f"{info.host} not asked (no credentials: runs are offline)"
        )
    probe = probe_host(info.host, secret, timeout=timeout)
    del secret
    if probe.kind == "ok":
        who = f" (key of {probe.user})" if probe.user else ""
        return CheckResult("W&B host", True, f"{probe.describe()}{who}")
    if probe.kind == "tls":
        return CheckResult(
            "W&B host",
            None,
            probe.describe(),
            "if your network uses its own CA, point REQUESTS_CA_BUNDLE or SSL_CERT_FILE at it",
        )
    if probe.key_accepted is False:
        return CheckResult(
            "W&B host",
            False,
            probe.describe(),
            "get a new key at https://wandb.ai/authorize and run %wandb_login --relogin",
        )
    return CheckResult(
        "W&B host",
        False,
        f"{probe.describe()} (after {probe.seconds:.1f}s)",
        f"runs with mode='auto' fall back to offline within {AUTO_TIMEOUT:g}s; check the "
        "network or WANDB_BASE_URL; upload later with `nbwandb sync`",
    )


def check_service(timeout: float = SERVICE_TIMEOUT) -> CheckResult:
    """Start wandb's service process in a child process (so a hang cannot block this one)."""
    run = session.active_run()
    if run is not None and getattr(run, "enabled", False) and not run.finished:
        return CheckResult("wandb service", True, f"running (active run {run.id})")
    code = "import wandb; wandb.setup().ensure_service(); wandb.teardown(); print('ok')"
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "WANDB_SILENT": "true"},
        )
    except subprocess.TimeoutExpired:
        return CheckResult(
            "wandb service",
            False,
            f"did not start within {timeout:g}s",
            "check `wandb-core` can run here (e.g. `python -m wandb --version`); restart the kernel",
        )
    if proc.returncode == 0 and "ok" in proc.stdout:
        return CheckResult("wandb service", True, "starts and stops")
    last = (proc.stderr.strip().splitlines() or ["no error output"])[-1]
    return CheckResult(
        "wandb service",
        False,
        f"failed to start: {last}",
        "reinstall wandb (`pip install -U wandb`) and restart the kernel",
    )


def check_disk(directory: str | os.PathLike[str] | None = None) -> CheckResult:
    """Can ``nbwandb.init`` write runs there: the check init makes, as a row with a fix."""
    path = Path(directory or os.environ.get("WANDB_DIR") or os.getcwd())
    check = check_run_dir(path)
    if not check.writable:
        return CheckResult("disk", False, check.problem or "", "set WANDB_DIR to a writable folder")
    detail = f"{check.free_mib} MiB free under {path}"
    if not check.room:
        return CheckResult(
            "disk", False, detail, "free some space or set WANDB_DIR to another disk"
        )
    return CheckResult("disk", True, detail)


def check_widgets(environment: str | None) -> CheckResult:
    """What this frontend shows of the panels with the running ipywidgets, and what is tested."""
    version = _version("ipywidgets")
    if version is None:
        return CheckResult(
            "widgets",
            False,
            "ipywidgets is not installed (panels show as text)",
            f"pip install '{IPYWIDGETS_SPEC}'",
        )
    loaded = sys.modules.get("ipywidgets")
    version = getattr(loaded, "__version__", version)  # what the kernel runs, not what pip left
    major = int(version.split(".")[0]) if version.split(".")[0].isdigit() else 0
    tested = TESTED_FRONTENDS.get(major)
    if environment is None:
        return CheckResult("widgets", None, "unknown frontend")
    if environment not in WIDGET_FRONTENDS:
        return CheckResult(
            "widgets",
            False,
            f"{environment}: widgets cannot render here (panels show as text)",
            "open the notebook in JupyterLab, Notebook 7, VS Code or Colab",
        )
    core = f"ipywidgets {version} core widgets, no custom widget manager"
    if environment == "colab":
        if major == 7:
            return CheckResult(
                "widgets",
                True,
                f"colab: {core}; tested on a stand-in of Colab's pinned frontend ({tested}), "
                "not on Colab itself",
            )
        # tests/browser: on Colab's pinned frontend packages, ipywidgets 8's HTML, Text and
        # Checkbox models fail to load and the frontend shows neither them nor the text form.
        return CheckResult(
            "widgets",
            False,
            f"colab: ipywidgets {version} is not Colab's own (7.7.1); on a stand-in of Colab's "
            "pinned frontend, nbwandb's panels stay blank with it (ipywidgets 8's HTML, Text "
            "and Checkbox models do not load there)",
            f"Colab's ipywidgets 7.7.1 is the tested one: pip install 'ipywidgets==7.7.1', then "
            f"{restart_hint(environment)}",
        )
    if environment == "vscode":
        return CheckResult(
            "widgets", None, f"vscode: {core}; not tested (the panels also carry text/html)"
        )
    if _version("jupyterlab_widgets") is None and _version("widgetsnbextension") is None:
        return CheckResult(
            "widgets",
            False,
            "neither jupyterlab_widgets nor widgetsnbextension is installed: Jupyter shows no "
            "widgets",
            "pip install jupyterlab_widgets where Jupyter runs, then reload the page",
        )
    where = f"tested on {tested}" if tested else "not tested with this ipywidgets"
    return CheckResult("widgets", True, f"jupyter: {core}; {where}")


def check_save_hook(
    environment: str | None = None,
    in_kernel: bool | None = None,
    *,
    server_pid: int | None = None,
    runtime_dir: str | os.PathLike[str] | None = None,
) -> CheckResult:
    """Whether the Jupyter server running this kernel saves live panels as HTML; when it does
    not, the real cause (hook not enabled, or nbwandb missing from the server's environment)
    and the one command that fixes it, first.

    ``server_pid`` and ``runtime_dir`` default to this kernel's parent and Jupyter's runtime folder.
    """
    if in_kernel is None:
        in_kernel = "ipykernel" in sys.modules
    if not in_kernel:
        return CheckResult("save hook", None, "not in a notebook kernel")
    if environment in ("colab", "vscode"):
        return CheckResult(
            "save hook",
            None,
            f"{environment} saves notebooks itself, not through a Jupyter server: finish runs "
            "before saving, and panels are saved as HTML",
        )
    pid = os.getppid() if server_pid is None else server_pid
    state = hook_state(server_pid=pid, runtime_dir=runtime_dir)
    server = f"the Jupyter server (pid {pid})"
    if state == "active":
        return CheckResult("save hook", True, f"{server} saves live panels as HTML")
    if state == "missing":
        return _missing_hook(server, server_environment(pid))
    return CheckResult(
        "save hook",
        None,
        "not started by a local Jupyter server (VS Code, Colab or a gateway): finish runs "
        "before saving, and panels are saved as HTML",
    )


def _missing_hook(server: str, env: ServerEnvironment) -> CheckResult:
    """The save-hook row for a server without the hook: what its environment says is wrong."""
    effect = "a notebook saved while a run is live reopens with 'model not found'"
    until = "; until then, finish runs before saving"
    if env.has_nbwandb is False:
        where = f" ({env.prefix})" if env.prefix else ""
        return CheckResult(
            "save hook",
            False,
            f"{server} runs in another environment{where}, and nbwandb is not installed in its "
            f"environment: {effect}",
            f"{env.python} -m pip install nbwandb, then restart the server{until}",
        )
    # nbwandb is there (or we cannot tell): the extension is not enabled, as after `pip install -e .`
    jupyter = ENABLE_COMMAND
    if env.same_as_kernel is False and env.python:
        jupyter = f"{Path(env.python).parent / 'jupyter'}{ENABLE_COMMAND[len('jupyter') :]}"
    cause = (
        "has nbwandb, but its save hook is not enabled there"
        if env.has_nbwandb
        else "runs without nbwandb's save hook enabled"
    )
    return CheckResult(
        "save hook",
        False,
        f"{server} {cause}: {effect}",
        f"{jupyter}, then restart the server{until}"
        + (
            ""
            if env.has_nbwandb
            else " (if nbwandb is not installed where Jupyter runs, install it there first)"
        ),
    )


def run_checks(
    *,
    environment: str | None = None,
    run_dir: str | os.PathLike[str] | None = None,
    service: bool = True,
) -> list[CheckResult]:
    """Run every check; ``environment`` is the frontend the notebook layer detected.

    ``service=False`` skips starting wandb's service (it takes a few seconds).
    """
    results = [
        check_python(),
        check_package("wandb", "wandb", environment=environment),
        check_ipywidgets(environment),
        check_frontend(environment),
        check_mode(),
        check_credentials(),
        check_host(),
    ]
    if service:
        results.append(check_service())
    results += [check_disk(run_dir), check_widgets(environment), check_save_hook(environment)]
    return results

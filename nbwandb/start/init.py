"""``nbwandb.init``: start a run early, offline by default, never prompting, never duplicating.

>>> run = init(project="demo", config={"lr": 1e-3}, mode="offline")
nbwandb: offline run ... in .../wandb/offline-run-... [mode='offline' was asked for]; upload later with `nbwandb sync ...`
>>> run.finish()
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbwandb.connection.modes import ModeDecision, resolve_mode
from nbwandb.errors import NbwandbError
from nbwandb.run import session
from nbwandb.run.disk_space import check_run_dir
from nbwandb.run.finish import finish_active
from nbwandb.run.kernel import in_kernel
from nbwandb.run.outcomes import Resumed, StartOutcome
from nbwandb.run.run import NoOpRun, Run
from nbwandb.run.upload_state import mark as mark_upload
from nbwandb.values.config import merge_config, to_config_dict

if TYPE_CHECKING:  # pragma: no cover - network (http.client, ssl) is imported by online runs only
    from nbwandb.connection.network import HostProbe, ProbeThread

TRANSACTION_LOG_FLUSH_S = 0.1
DISTRIBUTED_STRATEGIES = ("main", "group")


def _check_run_dir(directory: Path) -> None:
    """Fail at init, clearly, when runs cannot be written (not with a crash later)."""
    check = check_run_dir(directory)
    if check.problem is not None:
        fix = (
            "free space or pass dir= elsewhere"
            if check.writable
            else "pass dir= a writable folder or set WANDB_DIR"
        )
        raise NbwandbError(f"cannot write runs under {directory}: {check.problem}; {fix}")


def _disabled(run: NoOpRun) -> NoOpRun:
    """A handle that writes nothing: its start outcome says so, and nothing is printed."""
    run.start_outcome = StartOutcome("disabled", None, "NoOpRun", run.mode, run.mode_reason)
    return run


def _start_probe(
    decision: ModeDecision, settings: dict[str, Any], network_timeout: float | None
) -> ProbeThread | None:
    """For an online run, start asking the host whether it answers (in the background)."""
    if decision.mode != "online":
        return None
    from nbwandb.connection.credentials import find_key, resolve_host
    from nbwandb.connection.network import AUTO_TIMEOUT, ONLINE_TIMEOUT, ProbeThread

    host = resolve_host(settings.get("base_url"))
    timeout = (
        network_timeout
        if network_timeout is not None
        else (AUTO_TIMEOUT if decision.fallback else ONLINE_TIMEOUT)
    )
    return ProbeThread(host, find_key(host)[1], timeout=timeout)


def _after_probe(decision: ModeDecision, probe: HostProbe) -> ModeDecision:
    """Offline (mode "auto") or an error (mode "online") when the host did not answer."""
    if probe.reachable and probe.key_accepted is not False:
        return decision
    if decision.fallback:
        return ModeDecision("offline", f"{probe.describe()}; this run is offline")
    if probe.key_accepted is False:
        from nbwandb.errors import LoginError

        raise LoginError(
            f"mode='online': {probe.describe()}; log in again with nbwandb.login(key=...) "
            "or %wandb_login, or use mode='offline'"
        )
    raise NbwandbError(
        f"mode='online': {probe.describe()} (waited {probe.seconds:.1f}s of network_timeout={probe.timeout:g}s). "
        "Check the network and WANDB_BASE_URL, pass a larger network_timeout=, or use mode='auto' "
        "to fall back to an offline run"
    )


def _start_service(wandb: Any) -> None:
    from nbwandb.wandb_compat.setup import setup_in_thread

    try:
        setup_in_thread(wandb).ensure_service()
    except Exception:  # noqa: BLE001 - wandb.init reports the same failure, with its context
        pass


def _release_stream(wandb: Any, run_id: str, wait: float = 0.2) -> None:
    from nbwandb.wandb_compat.service import release_stream

    try:
        if not release_stream(wandb, run_id):
            return
    except Exception:  # noqa: BLE001 - the retried wandb.init reports what is wrong
        return
    time.sleep(wait)  # wandb-core closes the stream asynchronously


# wandb.init arguments that choose the run's id (or need wandb to find an earlier run first).
_OWN_ID_ARGS = ("id", "resume", "resume_from", "fork_from")


def _can_start_in_background(
    decision: ModeDecision,
    make_run: Any,
    settings: dict[str, Any],
    wandb_init_kwargs: dict[str, Any],
    defaults: dict[str, Any],
) -> bool:
    """After ``%load_ext nbwandb``: an offline run whose id nbwandb may choose starts in the background."""
    from nbwandb.run.startup import background_init_enabled

    return (
        background_init_enabled()
        and decision.mode == "offline"
        and make_run is Run
        and not defaults  # a sweep trial: its agent decides the run
        and not any(wandb_init_kwargs.get(k) for k in _OWN_ID_ARGS)
        and not settings.get("run_id")
        and not any(os.environ.get(k) for k in ("WANDB_RUN_ID", "WANDB_RESUME", "WANDB_SWEEP_ID"))
    )


@dataclass(frozen=True)
class RunIdentity:
    """What a run started in the background shows before wandb has created it."""

    name: str | None
    config: dict[str, Any]
    root: Path


def _start_in_background(
    wandb: Any,
    start: Any,
    decision: ModeDecision,
    settings: dict[str, Any],
    wandb_init_kwargs: dict[str, Any],
    step_metric: str,
    identity: RunIdentity,
) -> Any:
    """A ``RunStart`` for ``Run``: its wandb run is created by ``start`` in a thread (``nbwandb.run.startup``)."""
    import inspect

    from nbwandb.run.finish import install_exit_hook
    from nbwandb.run.recovery import reset_dead_service
    from nbwandb.run.startup import RunStart, new_run_id, wait_in_wandb_globals

    # What can be checked here fails here, in the cell that called init, not later.
    wandb.Settings(**settings)
    try:
        inspect.signature(wandb.init).bind(**wandb_init_kwargs)
    except TypeError as exc:
        raise TypeError(f"nbwandb.init: {exc} (the argument goes on to wandb.init)") from None
    run_id = wandb_init_kwargs["id"] = new_run_id()

    def create() -> Any:
        try:
            wandb_run = start(decision.mode)
        except Exception:
            if not reset_dead_service(wandb):  # wandb-core died since the preload: once more
                raise
            wandb_run = start(decision.mode)
        wandb_run.define_metric(step_metric)
        wandb_run.define_metric("*", step_metric=step_metric)
        install_exit_hook()  # after wandb.init added its own exit hook: ours must run first
        return wandb_run

    wait_in_wandb_globals(wandb)
    return RunStart(
        create, run_id=run_id, name=identity.name, config=identity.config, root=identity.root
    )


def _start_now(
    start: Any, decision: ModeDecision, host: str, step_metric: str
) -> tuple[Any, ModeDecision]:
    """``wandb.init`` in this thread: the wandb run, and the mode it got (auto falls back offline)."""
    try:
        wandb_run = start(decision.mode)
    except Exception as exc:
        if decision.mode != "online":
            raise
        # The host answered the probe, then wandb's own start-up failed or timed out.
        why = f"wandb could not start the run on {host} ({_service_error_line(exc)})"
        if not decision.fallback:
            raise NbwandbError(
                f"mode='online': {why}; use mode='auto' to fall back to an offline run"
            ) from None
        decision = ModeDecision("offline", f"{why}; this run is offline")
        wandb_run = start("offline")
    # The guide's fix for x-axis mismatch: every metric is plotted against the step metric.
    wandb_run.define_metric(step_metric)
    wandb_run.define_metric("*", step_metric=step_metric)
    return wandb_run, decision


def _service_error_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip()


def init(
    project: str | None = None,
    *,
    entity: str | None = None,
    config: Any = None,
    mode: str = "auto",
    use_wandb: bool = True,
    name: str | None = None,
    group: str | None = None,
    tags: Sequence[str] | None = None,
    step_metric: str = "global_step",
    dir: str | os.PathLike[str] | None = None,
    job_type: str | None = None,
    distributed: str | None = None,
    queue_size: int = 1000,
    quiet: bool = False,
    network_timeout: float | None = None,
    resume: bool | str | os.PathLike[str] | None = None,
    **wandb_init_kwargs: Any,
) -> Run | NoOpRun:
    """Start a run and return its handle; a previous active run is finished first.

    ``mode``: "auto" (online with credentials, else offline; ``WANDB_MODE`` wins),
    "online", "offline" or "disabled". ``use_wandb=False`` or "disabled" returns a
    ``NoOpRun``. ``step_metric`` is the x-axis of every metric (``define_metric``).
    ``distributed``: "main" (only rank 0 logs) or "group" (one run per rank in one group);
    "main" is chosen when a world size > 1 is found.
    ``network_timeout``: seconds to wait for the W&B host before an online run gives up
    (default 5 with mode "auto", which then starts an offline run; 10 with "online", which
    then raises ``NbwandbError``). No network call of ``init`` waits longer than a bound.
    ``resume``: ``"auto"``/``True`` continue the newest run of this project under ``dir``
    that crashed or failed (a new run when there is none); a run id or run folder continues
    that run. The resumed run keeps its id, name, group and tags, gets its config back
    (merged with ``config``) and goes on from the step after its last one.
    What this call did is ``run.start_outcome`` (a ``StartOutcome``: started, starting in the
    background, resumed or disabled; mode, folder, the command to upload); its ``message()``
    is printed unless ``quiet=True``.

    Raises:
        ValueError, TypeError: an argument is not accepted (``mode``, ``step_metric``,
            ``queue_size``, ``distributed``, ``tags``, an argument wandb.init refuses).
        NbwandbError: a config value cannot be stored; with ``mode="online"``, the host
            cannot be reached within ``network_timeout``; wandb could not start the run.
        LoginError: the key found in the environment or netrc is malformed or refused.
        ResumeError: the run named by ``resume`` cannot be found or continued.
        WandbMissingError: wandb is not installed (pass ``use_wandb=False`` to go on without).
    """
    defaults = session.current_defaults()
    if not isinstance(step_metric, str) or not step_metric:
        raise ValueError(f"step_metric={step_metric!r} is not accepted; use a non-empty string")
    if not isinstance(queue_size, int) or isinstance(queue_size, bool) or queue_size < 1:
        raise ValueError(f"queue_size={queue_size!r} is not accepted; use an int >= 1")
    config_dict = to_config_dict(config)
    config_dict.update(to_config_dict(defaults.get("config")))
    project = project or defaults.get("project")
    group = group or defaults.get("group")
    name = name or defaults.get("name")
    tags = list(tags) if tags is not None else defaults.get("tags")
    job_type = job_type or defaults.get("job_type")
    if tags is not None and not all(isinstance(t, str) for t in tags):
        raise TypeError(f"tags={tags!r} is not accepted; use a list of strings")

    if not use_wandb:
        finish_active()
        return _disabled(NoOpRun("use_wandb=False", step_metric=step_metric, config=config_dict))
    decision = resolve_mode(mode)
    if decision.mode == "disabled":
        finish_active()
        return _disabled(NoOpRun(decision.reason, step_metric=step_metric, config=config_dict))

    from nbwandb.distributed import rank_info

    ranks = rank_info()
    if distributed is not None and distributed not in DISTRIBUTED_STRATEGIES:
        raise ValueError(
            f"distributed={distributed!r} is not accepted; use 'main', 'group' or None"
        )
    make_run: Any = Run
    if ranks.world_size > 1:
        from nbwandb import distributed as ddp

        strategy = distributed or "main"
        if strategy == "main" and not ranks.is_main:
            # Never touches wandb; its log(reduce=...) joins rank 0's reduction.
            return _disabled(ddp.FollowerRun(ranks, step_metric=step_metric, config=config_dict))
        if strategy == "group":
            group, name, job_type = ddp.group_identity(
                ranks, group=group, name=name, job_type=job_type
            )
        make_run = functools.partial(ddp.DistributedRun, ranks=ranks, strategy=strategy)

    user_settings: Any = wandb_init_kwargs.pop("settings", None) or {}
    if hasattr(user_settings, "model_fields_set"):  # a wandb.Settings: keep only what the user set
        fields = type(user_settings).model_fields
        user_settings = {
            k: getattr(user_settings, k) for k in user_settings.model_fields_set if k in fields
        }
    settings = dict(user_settings)
    # Ask the host now: the answer comes while wandb is imported and its service starts.
    probe = _start_probe(decision, settings, network_timeout)

    from nbwandb.run.startup import before_init
    from nbwandb.wandb_compat import import_wandb

    before_init()  # %load_ext nbwandb set wandb up in the background: wait for it, never race it
    wandb = import_wandb("nbwandb.init")
    # Absolute: wandb resolves a relative dir against the folder of its first setup, not ours.
    run_root = Path(dir or os.environ.get("WANDB_DIR") or os.getcwd()).absolute()
    _check_run_dir(run_root)
    run_root.mkdir(parents=True, exist_ok=True)

    # A re-run cell: finish our previous run first, so there is never a second active one.
    # A broken previous run or a dead wandb-core gives a warning here, never a failed init.
    from nbwandb.run.finish import finish_previous, wait_all

    wait_all()  # a run finishing in the background: wandb's run and its files done first
    previous = finish_previous(wandb)

    point = None
    notes: list[str] = []
    if resume in ("allow", "must", "never"):  # wandb's own spellings, passed through as before
        wandb_init_kwargs["resume"] = resume
    elif resume is not None and resume is not False:
        from nbwandb.start.resume import changed_config, find_resume_point, wait_for_new_folder_name

        point = find_resume_point(
            resume, project=project, run_root=run_root, step_metric=step_metric, notes=notes
        )
    config_changes: list[str] = []
    if point is not None:
        # The run keeps what it was started with, unless this call names something new.
        project = project or point.project
        name = name or point.name or None
        group = group or point.group or None
        tags = tags if tags is not None else (list(point.tags) or None)
        job_type = job_type or point.job_type or None
        config_changes = changed_config(point.config, config_dict)
        config_dict = merge_config(merge_config({}, point.config), config_dict)
        wandb_init_kwargs["id"] = point.run_id
        wait_for_new_folder_name(point)

    settings.setdefault("silent", True)
    # wandb-core keeps the last (up to 32 KiB) records of the .wandb file in memory: a
    # killed kernel lost them. Write within 0.1 s where this wandb has the setting (0.29+;
    # older ones refuse the name and write only full blocks: Run.flush pushes one there).
    # Panels show rows from the run's memory either way (Run.recent_rows).
    from nbwandb.wandb_compat.settings import set_file_flush_interval

    set_file_flush_interval(settings, TRANSACTION_LOG_FLUSH_S)
    host = ""
    if probe is not None:
        host = probe.host
        _start_service(wandb)  # overlaps the probe: needed online or offline
        decision = _after_probe(decision, probe.result())
        # wandb keeps the settings of its first setup: name the host we asked, so wandb talks to it.
        settings.setdefault("base_url", host)
        # The host answered; wandb's own calls (upsertBucket, ...) get a bound too, not 90 s.
        settings.setdefault("init_timeout", max(30.0, 3 * probe.timeout))

    def start(mode: str) -> Any:
        if point is None:
            return _wandb_init(mode)
        from nbwandb.wandb_compat.starting_step import wandb_starting_step

        # "allow": where the server holds the run, wandb resumes it there (as "must" would);
        # where it does not (it never got the crashed part), it starts it under the same id
        # and `nbwandb sync` sends the earlier segments. A failed "must" would leave wandb
        # unable to start a run again in this process. The files say where _step goes on:
        # wandb offline would start again at 0, and so would a server without the rows.
        wandb_init_kwargs["resume"] = "allow"
        with wandb_starting_step(point.next_wandb_step):
            return _init_taking_over_stream(mode)

    def _init_taking_over_stream(mode: str) -> Any:
        for attempt in range(2):
            try:
                return _wandb_init(mode)
            except Exception as exc:
                if "is in use" not in str(exc):
                    raise
                # A process that logged through this kernel's wandb service (a child that
                # inherited WANDB_SERVICE) died with the run open there, or a failed start left
                # it open. Its writer is gone (checked when the run was found): close that
                # stream, as finishing it would, and start again.
                assert point is not None
                _release_stream(wandb, point.run_id, wait=0.2 * (attempt + 1))
        return _wandb_init(mode)  # a third time; what fails now is raised

    def _wandb_init(mode: str) -> Any:
        return wandb.init(
            project=project,
            entity=entity,
            config=config_dict,
            mode=mode,
            name=name,
            group=group,
            tags=tags,
            job_type=job_type,
            dir=str(run_root),
            reinit="finish_previous",
            settings=wandb.Settings(**settings),
            **wandb_init_kwargs,
        )

    background = _can_start_in_background(decision, make_run, settings, wandb_init_kwargs, defaults)
    if background:
        # wandb.init runs in a thread; the Run takes rows at once (nbwandb.run.startup).
        wandb_run = _start_in_background(
            wandb,
            start,
            decision,
            settings,
            wandb_init_kwargs,
            step_metric,
            RunIdentity(name=name, config=config_dict, root=run_root),
        )
    else:
        wandb_run, decision = _start_now(start, decision, host, step_metric)
    run = make_run(
        wandb_run,
        mode=decision.mode,
        mode_reason=decision.reason,
        step_metric=step_metric,
        queue_size=queue_size,
    )
    resumed = None
    if point is not None:
        run._continue_from(point)
        resumed = Resumed(
            start_step=run.start_step,
            rows=point.rows,
            segments=len(point.segments),
            last_state=point.state,
            config_changes=tuple(config_changes),
        )
    if decision.mode == "online":
        mark_upload(run.run_dir, "uploading", host=host)
    session.set_active(run)
    if not background:  # (a background start installs it once wandb.init has added its own)
        from nbwandb.run.finish import install_exit_hook

        install_exit_hook()  # rows still queued when Python exits reach wandb before it finishes the run
    if in_kernel() and run.enabled:
        # between cells, the kernel reads the run file on into its cache (the first show of
        # a long run then costs what is drawn); in a script the first read builds it
        from nbwandb.local.keeper import keep_in_kernel

        keep_in_kernel(run, sys.modules["IPython"].get_ipython())
    run.start_outcome = StartOutcome.of(
        run, resumed=resumed, replaced=getattr(previous, "id", None), notes=tuple(notes)
    )
    if not quiet:
        print(run.start_outcome.message())
        sys.stdout.flush()
    return run

"""A fake but well-formed API key, planted through every path, must appear nowhere.

Paths: ``WANDB_API_KEY``, netrc, a Colab secret (a stub ``google.colab.userdata``), the
LoginPanel's masked field, a key typed on the ``%wandb_login`` line, and
``nbwandb.login(key=...)``. Scanned: every cell output of the executed notebooks, their
saved widget state, IPython's history database, the run directories (config, console
log, metadata, code, debug logs), wandb's config/cache/data folders, exception messages
and the ``repr()`` of the public objects. Every run is forced offline: with a key,
``mode="auto"`` would go online, and there is no network here.
"""

from __future__ import annotations

import copy
import json
import os
import stat
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook
from relkit import REPO, fake_api_key, files_containing, kernel_environment, record

import nbwandb
from nbwandb.connection.credentials import find_key
from nbwandb.errors import LoginError

REPRS = """
from nbwandb.notebook.run_panel import RunPanel
from nbwandb.notebook.config_form import ConfigForm
objects = [nbwandb.login(), nbwandb.find_credentials(), find_key()[0], find_key()[1], run, RunPanel(run),
           ConfigForm({"lr": 0.1}), nbwandb.init(use_wandb=False)]
for obj in objects:
    print(type(obj).__name__, repr(obj), str(obj))
    display(obj)
"""


def _env(root: Path) -> dict[str, str]:
    """Every folder wandb or IPython writes to, inside ``root/scan`` (netrc lives outside it)."""
    scan = root / "scan"
    for sub in ("ipython", "config-wandb", "cache-wandb", "data-wandb"):
        (scan / sub).mkdir(parents=True, exist_ok=True)
    (root / "store").mkdir(exist_ok=True)
    env = {
        "IPYTHONDIR": str(scan / "ipython"),
        "WANDB_DIR": str(scan),
        "WANDB_MODE": "offline",
        "WANDB_CONFIG_DIR": str(scan / "config-wandb"),
        "WANDB_CACHE_DIR": str(scan / "cache-wandb"),
        "WANDB_DATA_DIR": str(scan / "data-wandb"),
        "NETRC": str(root / "store" / "netrc"),
        "PYTHONPATH": str(REPO),
        # Every host check stays on loopback: nothing listens on the discard port (refused at once).
        "WANDB_BASE_URL": "http://127.0.0.1:9",
    }
    os.environ.pop("WANDB_API_KEY", None)  # only the paths under test carry a key
    return env


def _execute(cells: list[str], cwd: Path, env: dict[str, str]) -> nbformat.NotebookNode:
    nb = new_notebook(cells=[new_code_cell(src) for src in cells])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    # nbclient keeps IPython's history in memory by default; a notebook server keeps it on disk.
    history = Path(env["IPYTHONDIR"]) / "profile_default" / "history.sqlite"
    client = NotebookClient(
        nb,
        timeout=180,
        kernel_name="python3",
        allow_errors=True,
        store_widget_state=True,
        resources={"metadata": {"path": str(cwd)}},
        ipython_hist_file=str(history),
    )
    client.execute(env=kernel_environment(env))
    nbformat.write(
        nb, cwd.parent / "executed.ipynb"
    )  # outside the scanned folder: cells hold typed keys
    return nb


def _errors(nb: nbformat.NotebookNode) -> dict[int, str]:
    return {
        i: f"{o.ename}: {o.evalue}"
        for i, c in enumerate(nb.cells)
        for o in c.get("outputs", [])
        if o.output_type == "error"
    }


def _outputs_and_state(nb: nbformat.NotebookNode) -> str:
    """The notebook as saved, minus the cell sources (a key the user typed stays in its cell)."""
    bare = copy.deepcopy(nb)
    for cell in bare.cells:
        cell.source = ""
    return json.dumps(bare)


def _leaks(
    keys: dict[str, str], nb: nbformat.NotebookNode, scan_root: Path
) -> dict[str, list[str]]:
    saved = _outputs_and_state(nb)
    found: dict[str, list[str]] = {}
    for path_name, key in keys.items():
        hits = files_containing(scan_root, key)
        if key in saved:
            hits.append("notebook outputs/widget state")
        if hits:
            found[path_name] = hits
    return found


def test_key_from_env_appears_nowhere(tmp_path: Path):
    key = fake_api_key()
    env = {**_env(tmp_path), "WANDB_API_KEY": key}
    cwd = tmp_path / "scan"
    nb = _execute(
        [
            "%load_ext nbwandb",
            "import nbwandb\nfrom nbwandb.connection.credentials import find_key\nr = nbwandb.login()\nprint(r.source)\nr",
            "%wandb_login",
            "%wandb_doctor --no-service",
            "r = nbwandb.login(verify=True, timeout=1)\nprint(r)",  # no network: 'not verified', no key
            "run = nbwandb.init(project='secrets', mode='offline', config={'lr': 0.1})\n"
            "run.log({'x': 1.0})\nprint(run)\nrun",
            "%wandb_status",
            REPRS,
            "import os\nprint(sorted(k for k in os.environ if 'WANDB' in k))",
            "run.finish()\n%wandb_finish",
            "%wandb_login --relogin",
            "try:\n    nbwandb.init(mode='bogus')\nexcept ValueError as exc:\n    print(repr(exc))",
            "nbwandb.login(key='not-a-key')  # a traceback in the output, with the real key in the env",
            "%history -g -n",
        ],
        cwd,
        env,
    )
    errors = _errors(nb)
    assert [e.split(":")[0] for e in errors.values()] == ["LoginError"], (
        errors
    )  # only the bad key's cell
    assert "env" in "".join(o.get("text", "") for o in nb.cells[1].outputs)
    leaks = _leaks({"env": key}, nb, cwd)
    assert leaks == {}, leaks
    assert list((cwd / "wandb").glob("offline-run-*/run-*.wandb")), "the run was not written"
    record("secret_env_key", leaks=0, scanned_files=sum(1 for p in cwd.rglob("*") if p.is_file()))


def test_keys_from_netrc_colab_panel_and_magic_line_appear_nowhere(tmp_path: Path):
    keys = {
        "netrc": fake_api_key(),
        "colab": fake_api_key(),
        "panel": fake_api_key(),
        "magic": fake_api_key(),
    }
    env = _env(tmp_path)
    cwd = tmp_path / "scan"
    store = tmp_path / "store"
    netrc = store / "netrc"
    netrc.write_text(
        f"machine 127.0.0.1\n  login user\n  password {keys['netrc']}\n"
    )  # WANDB_BASE_URL's host
    netrc.chmod(0o600)
    (store / "colab").write_text(keys["colab"])
    (store / "panel").write_text(keys["panel"])
    colab_stub = (
        "import sys, types, google\n"
        "colab, userdata = types.ModuleType('google.colab'), types.ModuleType('google.colab.userdata')\n"
        f"userdata.get = lambda name: open({str(store / 'colab')!r}).read() if name == 'WANDB_API_KEY' else None\n"
        "colab.userdata = userdata; google.colab = colab\n"
        "sys.modules.update({'google.colab': colab, 'google.colab.userdata': userdata})"
    )
    nb = _execute(
        [
            "%load_ext nbwandb",
            colab_stub,
            "import nbwandb\nfrom nbwandb.connection.credentials import find_key\nr = nbwandb.login()\nprint(r.source)\nr",
            "run = nbwandb.init(project='secrets', mode='offline')\nrun.log({'x': 1.0})\nprint(run)",
            REPRS,
            "run.finish()\ndel sys.modules['google.colab'], sys.modules['google.colab.userdata'], google.colab\n"
            "r = nbwandb.login()\nprint(r.source)\nr",
            "from nbwandb.notebook.login_panel import LoginPanel\n"
            "panel = LoginPanel(verify=False)\ndisplay(panel)\n"
            f"panel.key_field.value = open({str(store / 'panel')!r}).read()\n"
            "panel.login_button.click()\nassert panel.wait(30)\n"
            "print(panel.result, repr(panel), panel.key_field.value == '')\npanel",
            f"import os, stat\nprint(oct(stat.S_IMODE(os.stat({str(netrc)!r}).st_mode)))",
            f"%wandb_login {keys['magic']}",
            "%wandb_login",
            "%wandb_init -p secrets --mode offline",
            "%wandb_finish",
            "print(In)\nprint(_ih[-5:])",
            "%history -g -n",
        ],
        cwd,
        env,
    )
    assert _errors(nb) == {}, _errors(nb)
    text = ["".join(o.get("text", "") for o in c.get("outputs", [])) for c in nb.cells]
    assert text[8].startswith("UsageError: %wandb_login takes no key"), text[
        8
    ]  # refused, not stored
    assert text[2].splitlines()[0] == "colab" and text[5].splitlines()[0] == "netrc", (
        text[2],
        text[5],
    )
    assert text[6].rstrip().endswith("True"), text[6]  # the key field was emptied
    assert text[7].strip() == "0o600", text[7]
    assert keys["panel"] in netrc.read_text(), "the panel's key was not stored in netrc"
    assert stat.S_IMODE(netrc.stat().st_mode) == 0o600
    leaks = _leaks(keys, nb, cwd)
    assert leaks == {}, leaks
    history_db = cwd / "ipython" / "profile_default" / "history.sqlite"
    assert history_db.is_file() and b"wandb_login" in history_db.read_bytes(), (
        "history was not on disk"
    )
    record(
        "secret_netrc_colab_panel_magic",
        leaks=0,
        paths=sorted(keys),
        scanned_files=sum(1 for p in cwd.rglob("*") if p.is_file()),
        netrc_mode="0600",
    )


def test_key_passed_to_login_is_stored_0600_and_never_shown(tmp_path: Path, monkeypatch):
    key = fake_api_key()
    shown: list[str] = []
    result = nbwandb.login(key)
    netrc = Path(os.environ["NETRC"])
    assert stat.S_IMODE(netrc.stat().st_mode) == 0o600 and key in netrc.read_text()
    shown += [repr(result), str(result), repr(nbwandb.find_credentials()), repr(find_key()[1])]
    for bad in (key + "!", key[:20], " " + key[:39] + " x"):
        try:
            nbwandb.login(bad)
        except LoginError as exc:
            shown.append(str(exc))
            shown.append(repr(exc))
        else:
            raise AssertionError("a malformed key was accepted")
    monkeypatch.setenv("WANDB_API_KEY", key)
    with nbwandb.init(project="secrets", mode="offline", quiet=True) as run:
        run.log({"x": 1.0})
        shown += [repr(run), str(run), repr(run.config)]
    for text in shown:
        assert key not in text and key[:20] not in text, text
    leaks = files_containing(Path(run.run_dir), key)
    assert leaks == [], leaks
    record("secret_login_argument", leaks=0, netrc_mode="0600", texts_checked=len(shown))

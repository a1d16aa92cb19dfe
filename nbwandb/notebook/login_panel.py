"""``LoginPanel``: a masked key field for notebooks, where ``getpass`` prompts do not belong.

The key is taken out of the field the moment "Log in" is clicked, so it never stays in
the widget state that a saved notebook keeps. Checking it with the server happens in
a thread with a timeout: the kernel stays free, and no network just means "not verified".

>>> panel = LoginPanel()       # no key here: the panel asks for one (masked)
>>> type(panel).__name__
'LoginPanel'
"""

from __future__ import annotations

import os
import threading
from typing import Any

from nbwandb.connection.auth import login
from nbwandb.connection.credentials import key_problem
from nbwandb.errors import NbwandbError
from nbwandb.notebook._html import with_code
from nbwandb.notebook._widgets import TextForms, widgets
from nbwandb.run import session
from nbwandb.run.handle import run_title


class LoginPanel(TextForms, widgets.VBox):
    """Password field, "Log in" and "Continue offline" buttons and a status line.

    After a click, ``result`` holds the ``nbwandb.LoginResult`` (never the key) and
    ``wait()`` returns once the check is done.
    """

    def __init__(
        self, *, host: str | None = None, timeout: float = 10.0, verify: bool = True, **kwargs: Any
    ) -> None:
        self.host = host
        self.timeout = float(timeout)
        self.verify = verify
        self.result: Any = None
        self.choice: str | None = None
        self._unused = False  # set when a run started while nobody used the panel
        self._done = threading.Event()
        self._done.set()
        self.key_field = widgets.Password(
            description="API key",
            placeholder="paste the key from wandb.ai/authorize",
            layout=widgets.Layout(width="34em", max_width="100%"),
        )
        self.login_button = widgets.Button(
            description="Log in", button_style="primary", icon="sign-in"
        )
        self.offline_button = widgets.Button(description="Continue offline")
        self.status = widgets.HTML(
            self._status_text(
                "Paste a key, or continue offline (runs are kept locally "
                "and uploaded later with `nbwandb sync`)."
            )
        )
        self.login_button.on_click(self._on_login)
        self.offline_button.on_click(self._on_offline)
        super().__init__(
            children=[
                self.key_field,
                widgets.HBox([self.login_button, self.offline_button]),
                self.status,
            ],
            **kwargs,
        )
        self.add_class("nbwandb-login-panel")

    @staticmethod
    def _status_text(message: str, ok: bool | None = None) -> str:
        color = {True: "#2e7d32", False: "#c62828", None: "#555"}[ok]
        shown = with_code(message)  # `commands` as code, not with literal backticks
        return f"<span class='nbwandb-status' style='color:{color}'>{shown}</span>"

    def _set_status(self, message: str, ok: bool | None = None) -> None:
        self._message = message
        self.status.value = self._status_text(message, ok)

    def _on_login(self, _button: Any = None) -> None:
        # Take the key out of the widget first: whatever happens next, it is not in saved state.
        key = self.key_field.value
        self.key_field.value = ""
        if not key.strip():
            self._set_status("The key field is empty: paste your key, or continue offline.", False)
            return

        problem = key_problem(key)
        if problem:
            self._set_status(f"Not stored: {problem}.", False)
            return
        self._done.clear()
        self.login_button.disabled = True
        self._set_status("Checking the key…")
        threading.Thread(
            target=self._login_in_thread, args=(key,), name="nbwandb-login", daemon=True
        ).start()

    def _login_in_thread(self, key: str) -> None:
        try:
            self.result = login(key, host=self.host, verify=self.verify, timeout=self.timeout)
        except NbwandbError as exc:  # the message never contains the key
            self._set_status(str(exc), False)
        else:
            self.choice = "online"
            self._set_status(self.result.message, self.result.verified is not False)
        finally:
            del key
            self.login_button.disabled = False
            self._done.set()

    def _on_offline(self, _button: Any = None) -> None:

        self.key_field.value = ""
        self.choice = "offline"
        self.result = login(host=self.host)
        if self.result.mode != "offline":
            # Credentials exist, but the user chose offline: make mode="auto" respect that.
            os.environ["WANDB_MODE"] = "offline"
        self._set_status(
            "Runs will be offline: they are written under ./wandb and uploaded later with "
            "`nbwandb sync`.",
            True,
        )

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a running key check; True when none is running any more."""
        return self._done.wait(timeout)

    def _before_publish(self) -> None:
        """Left untouched while a run started: what happened (the run's mode) is the outcome."""
        if self.choice is not None or self._unused or not self._done.is_set():
            return

        run = session.active_run()
        if run is None or not getattr(run, "enabled", False):
            return
        self._unused = True
        # Neutral: after Run All nobody was asked for a key, so nothing "was not entered".
        if run.mode == "offline":
            self._message = "Runs are offline for now; `nbwandb sync` uploads them later."
        else:
            self._message = f"Run {run_title(run)} is {run.mode}."

    def _is_final(self) -> bool:
        """A choice was made (logged in, offline, or a run started meanwhile): the saved output is the outcome."""
        return (self.choice is not None or self._unused) and self._done.is_set()

    def _html(self) -> str:
        message = getattr(self, "_message", "Paste a key, or continue offline.")
        ok = (
            None
            if not self._is_final() or self._unused
            else (self.result is not None and self.result.verified is not False)
        )
        return (
            f"<div class='nbwandb-login-panel' style='font:13px system-ui,sans-serif;padding:4px 0'>"
            f"<b>nbwandb login</b>: {self._status_text(message, ok)}</div>"
        )

    def _text(self) -> str:
        message = getattr(self, "_message", "paste a key or continue offline")
        return f"nbwandb login (widget): {message}\nWithout widgets: set WANDB_API_KEY, or run `wandb login` in a terminal."

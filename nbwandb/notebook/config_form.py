"""``ConfigForm``: edit a config (dict or dataclass) in widgets, then start a run with it.

Field widgets follow the value's type: bools are checkboxes, ``Enum``/``Literal`` are
dropdowns, numbers are sliders (when a dataclass field's metadata gives ``min`` and
``max``) or numeric fields checked against sensible bounds, strings are text, anything
else is JSON text. A message next to a field says what is wrong with it.

>>> @dataclasses.dataclass
... class Config:
...     lr: float = dataclasses.field(default=1e-3, metadata={"min": 1e-5, "max": 1e-1})
...     epochs: int = 3
>>> form = ConfigForm(Config(), project="demo")
>>> form.value
{'lr': 0.001, 'epochs': 3}
"""

from __future__ import annotations

import dataclasses
import enum
import json
import typing
from collections.abc import Mapping
from typing import Any

from nbwandb.errors import NbwandbError
from nbwandb.notebook._widgets import TextForms, escape, widgets
from nbwandb.render.html_tables import CSS, key_value_table
from nbwandb.run import session
from nbwandb.run.finish import ended
from nbwandb.run.handle import RunHandle, run_title
from nbwandb.start.init import init
from nbwandb.values.config import convert_value


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    """How one config entry is edited: its kind, choices and bounds."""

    name: str
    kind: str  # "bool", "int", "float", "choice", "str", "json"
    default: Any
    choices: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    step: float | None = None
    slider: bool = False
    usual_high: float | None = None  # above it: a note to check the value, not an error


def _default_bounds(value: float, kind: str) -> tuple[float, float]:
    """(lowest accepted, usual highest) for a number without metadata.

    A value below the lowest (a negative learning rate when the default is positive) is an
    error; one above the usual highest only gets a note, so 500 epochs stay possible.
    """
    magnitude = abs(value)
    top = max(10 * magnitude, 100) if kind == "int" else max(100 * magnitude, 1.0)
    return (0 if value >= 0 else -top), top


def _grid_step(default: float, low: float, high: float, ticks: int = 1000) -> float:
    """A slider step about (high - low) / ticks that puts ``default`` on the grid low + k * step.

    Browsers snap a slider's value to that grid: a default off it would change a
    value nobody touched.
    """
    rough = (high - low) / ticks
    offset = default - low
    if rough <= 0 or offset <= 0:
        return rough or 1.0
    return offset / max(1, round(offset / rough))


def _literal_choices(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    return ()


def field_spec(
    name: str, value: Any, annotation: Any = None, metadata: Mapping[str, Any] | None = None
) -> FieldSpec:
    """The ``FieldSpec`` for ``value`` (its annotation and metadata refine it)."""
    meta = dict(metadata or {})
    choices = tuple(meta.get("choices", ())) or _literal_choices(annotation)
    if isinstance(value, enum.Enum) or (
        isinstance(annotation, type) and issubclass(annotation, enum.Enum)
    ):
        enum_type = type(value) if isinstance(value, enum.Enum) else annotation
        return FieldSpec(name, "choice", value, tuple(enum_type))
    if choices:
        return FieldSpec(name, "choice", value, choices)
    if isinstance(value, bool):
        return FieldSpec(name, "bool", value)
    if isinstance(value, (int, float)):
        kind = "int" if isinstance(value, int) and annotation is not float else "float"
        has_bounds = "min" in meta and "max" in meta
        default_low, usual_high = _default_bounds(float(value), kind)
        return FieldSpec(
            name,
            kind,
            value,
            low=meta.get("min", default_low),
            high=meta.get("max"),
            step=meta.get("step"),
            slider=has_bounds,
            usual_high=None if "max" in meta else usual_high,
        )
    if isinstance(value, str):
        return FieldSpec(name, "str", value)

    # Lists, dicts, paths, nested dataclasses, None: edited as JSON, in the form W&B stores them
    # (an unsupported type raises NbwandbError naming the key).
    return FieldSpec(name, "json", convert_value(value, name))


def specs_from_config(config: Any) -> tuple[list[FieldSpec], type | None]:
    """Field specs from a dict, a dataclass instance or a dataclass type (its defaults)."""
    if dataclasses.is_dataclass(config):
        cls = config if isinstance(config, type) else type(config)
        try:
            hints = typing.get_type_hints(cls)
        except Exception:  # noqa: BLE001 - unresolvable annotations: fall back to the values
            hints = {}
        specs = []
        for f in dataclasses.fields(cls):
            if isinstance(config, type):
                if f.default is not dataclasses.MISSING:
                    value = f.default
                elif f.default_factory is not dataclasses.MISSING:
                    value = f.default_factory()
                else:
                    raise ValueError(
                        f"dataclass field {f.name!r} has no default; pass an instance instead"
                    )
            else:
                value = getattr(config, f.name)
            specs.append(field_spec(f.name, value, hints.get(f.name), f.metadata))
        return specs, cls
    if isinstance(config, Mapping):
        for key in config:
            if not isinstance(key, str):
                raise TypeError(
                    f"config key {key!r} is a {type(key).__name__}; config keys must be strings"
                )
        return [field_spec(k, v) for k, v in config.items()], None
    raise TypeError(
        f"config of type {type(config).__name__} is not accepted; pass a dict or a dataclass"
    )


class _Field:
    """One row of the form: label, input widget and validation message.

    A slider also gets a text box: a value typed there is checked like any other field
    (a slider's own readout would clamp 999 to its maximum without a word).
    """

    def __init__(self, spec: FieldSpec, label_width: str = "initial") -> None:
        self.spec = spec
        self.input = self._make_input(spec, label_width)
        self.typed: Any = None
        self._typed_error: str | None = None
        self.message = widgets.HTML()
        self.message.add_class("nbwandb-field-message")
        parts = [self.input]
        if spec.slider:
            self.typed = widgets.Text(
                value=self._format(self.input.value),
                continuous_update=False,
                layout=widgets.Layout(width="7em"),
            )
            self.typed.add_class("nbwandb-slider-text")
            self.typed.observe(lambda _change: self._on_typed(), names="value")
            parts.append(self.typed)
        # Wraps: a long message goes under the field instead of past the cell's edge.
        self.row = widgets.HBox([*parts, self.message], layout=widgets.Layout(flex_flow="row wrap"))
        self.row.add_class("nbwandb-field")
        self.input.observe(lambda _change: self._on_input(), names="value")

    def _format(self, value: Any) -> str:
        return str(int(value)) if self.spec.kind == "int" else f"{float(value):.6g}"

    @staticmethod
    def _make_input(spec: FieldSpec, label_width: str = "initial") -> Any:
        style = {"description_width": label_width}
        common: dict[str, Any] = {"description": spec.name, "style": style}
        if spec.kind == "bool":
            return widgets.Checkbox(value=spec.default, indent=True, **common)
        if spec.kind == "choice":
            options = [((c.name if isinstance(c, enum.Enum) else str(c)), c) for c in spec.choices]
            value = spec.default if spec.default in spec.choices else spec.choices[0]
            return widgets.Dropdown(options=options, value=value, **common)
        if spec.kind == "int":
            if spec.slider:
                return widgets.IntSlider(
                    value=spec.default,
                    min=int(spec.low),  # type: ignore[arg-type]
                    max=int(spec.high),  # type: ignore[arg-type]
                    step=int(spec.step or 1),
                    readout=False,
                    **common,
                )
            return widgets.IntText(value=spec.default, **common)
        if spec.kind == "float":
            if spec.slider:
                step = spec.step or _grid_step(
                    float(spec.default),
                    float(spec.low),  # type: ignore[arg-type]
                    float(spec.high),  # type: ignore[arg-type]
                )
                return widgets.FloatSlider(
                    value=spec.default,
                    min=spec.low,
                    max=spec.high,
                    step=step,
                    readout=False,
                    **common,
                )
            return widgets.FloatText(value=spec.default, **common)
        if spec.kind == "str":
            return widgets.Text(value=spec.default, **common)
        return widgets.Text(value=json.dumps(spec.default), **common)

    def _on_input(self) -> None:
        if self.typed is not None:
            self._typed_error = None
            text = self._format(self.input.value)
            if self.typed.value != text:
                self.typed.value = text
        self.validate()

    def _on_typed(self) -> None:
        """A typed value: checked like other fields, and moved onto the slider only when valid."""
        spec, text = self.spec, self.typed.value.strip()
        try:
            number: float = int(text) if spec.kind == "int" else float(text)
        except ValueError:
            self._typed_error = (
                f"{spec.name}={text!r} is not {'an integer' if spec.kind == 'int' else 'a number'}"
            )
        else:
            self._typed_error = self._range_problem(number)
            if self._typed_error is None and number != self.input.value:
                self.input.value = number  # _on_input validates and clears the error
                return
        self.validate()

    def _range_problem(self, value: Any) -> str | None:
        spec = self.spec
        if spec.low is not None and value < spec.low:
            return f"{spec.name}={value!r} is below the minimum {spec.low:g}"
        if spec.high is not None and value > spec.high:
            return f"{spec.name}={value!r} is above the maximum {spec.high:g}"
        return None

    def parsed(self) -> Any:
        """The field's value, or raises ValueError saying what is wrong."""
        spec, value = self.spec, self.input.value
        if self._typed_error:
            raise ValueError(self._typed_error)
        if spec.kind in ("int", "float"):
            problem = self._range_problem(value)
            if problem:
                raise ValueError(problem)
            return int(value) if spec.kind == "int" else float(value)
        if spec.kind == "json":
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{spec.name}: {value!r} is not valid JSON ({exc.msg})") from None
        return value

    def validate(self) -> str | None:
        try:
            self.parsed()
        except ValueError as exc:
            self.message.value = f"<span style='color:#c62828'>{escape(exc)}</span>"
            return str(exc)
        spec, value = self.spec, self.input.value
        if spec.usual_high is not None and value > spec.usual_high:
            self.message.value = (
                f"<span style='color:#b26a00'>{escape(spec.name)}={escape(value)} is larger "
                f"than usual (over {spec.usual_high:g}); accepted, but check it</span>"
            )
        else:
            self.message.value = ""
        return None


def _label_width(names: list[str]) -> str:
    """One label width for every field, so inputs line up (about 0.6 em per character)."""
    longest = max((len(n) for n in names), default=4)
    return f"{min(max(longest * 0.62 + 1, 4), 16):.1f}em"


def _same_config(run_config: Mapping[str, Any], values: Mapping[str, Any]) -> bool:
    def plain(v: Any) -> Any:
        return v.value if isinstance(v, enum.Enum) else v

    return all(k in run_config and run_config[k] == plain(v) for k, v in values.items())


def _title_html(run: Any, *details: str) -> str:
    """``<b>name</b> (id, details)``; the id once when the run is named after it (offline)."""
    if run.name and run.name != run.id:
        return f"<b>{escape(run.name)}</b> ({escape(', '.join([run.id, *details]))})"
    return f"<b>{escape(run.id)}</b>" + (f" ({escape(', '.join(details))})" if details else "")


class ConfigForm(TextForms, widgets.VBox):
    """A form for a dict or dataclass config; "Start run" calls ``nbwandb.init(config=form.value)``.

    ``init_kwargs`` go to ``nbwandb.init`` (project, mode, ...); the started run is
    ``form.run``. With ``run=`` an existing run, the button updates that run's config.
    Once the run the form configured has finished, the form's output is the config that
    run used (a saved notebook shows it without a kernel).
    """

    def __init__(self, config: Any, *, run: RunHandle | None = None, **init_kwargs: Any) -> None:
        specs, self.dataclass_type = specs_from_config(config)
        width = _label_width([spec.name for spec in specs])
        self.fields = {spec.name: _Field(spec, width) for spec in specs}
        self.init_kwargs = init_kwargs
        self.run: RunHandle | None = None
        self._target_run = run
        self._value_taken = False
        self._configured: Any = None  # a run started with form.value outside the button
        self._confirm_restart = False
        self._label = "Update run config" if run is not None else "Start run"
        # Under the inputs, not under the labels.
        self.button = widgets.Button(
            description=self._label,
            button_style="success",
            icon="play",
            layout=widgets.Layout(
                margin=f"6px 0 4px calc({width} + 8px)",
                width="auto",
                align_self="flex-start",
                padding="0 16px",
            ),
        )
        self.button.on_click(self._on_click)
        self.resume_button = self._resume_button(width) if run is None else None
        self.status = widgets.HTML(layout=widgets.Layout(margin=f"0 0 0 calc({width} + 8px)"))
        buttons: list[Any] = [self.button]
        if self.resume_button is not None:
            buttons = [widgets.HBox([self.button, self.resume_button])]
        super().__init__(children=[f.row for f in self.fields.values()] + buttons + [self.status])
        self.add_class("nbwandb-config-form")

    @property
    def errors(self) -> dict[str, str]:
        """Field name -> what is wrong with it (empty when the form is valid)."""
        found = {}
        for name, field in self.fields.items():
            message = field.validate()
            if message:
                found[name] = message
        return found

    @property
    def value(self) -> dict[str, Any]:
        """The config as a dict; raises ValueError naming every invalid field."""
        errors = self.errors
        if errors:
            raise ValueError("config form has invalid fields: " + "; ".join(errors.values()))
        self._value_taken = True
        return {name: field.parsed() for name, field in self.fields.items()}

    def as_dataclass(self) -> Any:
        """An instance of the dataclass the form was built from, with the form's values."""
        if self.dataclass_type is None:
            raise TypeError("this form was built from a dict; use form.value")
        return self.dataclass_type(**self.value)

    def _checked_value(self) -> dict[str, Any] | None:
        """The form's value, or None after showing in the status line why it is invalid."""
        try:
            return self.value
        except ValueError as exc:
            self._show_error(exc)
            return None

    def _show_error(self, exc: Exception) -> None:
        self.status.value = f"<span style='color:#c62828'>{escape(exc)}</span>"

    def _on_click(self, _button: Any = None) -> None:
        config = self._checked_value()
        if config is None:
            return
        try:
            if self._target_run is not None:
                self._target_run.update_config(config)
                self.run = self._target_run
                self.status.value = f"<span style='color:#2e7d32'>config of run {escape(self.run.id)} updated</span>"
                return
            live = self.run if self.run is not None and not self.run.finished else None
            if live is not None and not self._confirm_restart:
                # A second click would end a run that may still be training: ask first.
                self._confirm_restart = True
                self.button.description = "Finish it and start"
                self.button.button_style = "warning"
                self.status.value = (
                    f"<span style='color:#b26a00'>run {escape(live.name)} ({escape(live.id)}) "
                    "is still running; click again to finish it and start a new run</span>"
                )
                return
            self._reset_button()
            self.run = init(config=config, **self.init_kwargs)  # init finishes the live run first
        except (NbwandbError, ValueError, TypeError) as exc:
            self._reset_button()
            self._show_error(exc)
            return
        where = self.run.url or self.run.run_dir or self.run.mode_reason
        finished = f"finished run {escape(live.name)}, then " if live is not None else ""
        self.status.value = (
            f"<span style='color:#2e7d32'>{finished}started {escape(self.run.mode)} run "
            f"{escape(self.run.name)} ({escape(self.run.id)}) in {escape(where)}</span>"
        )

    def _resume_button(self, width: str) -> Any:
        """A "Resume last run" button when a run of this project crashed or failed, else None."""
        import os
        from pathlib import Path

        from nbwandb.start.resume import resumable_run

        root = self.init_kwargs.get("dir") or os.environ.get("WANDB_DIR") or os.getcwd()
        try:
            point = resumable_run(self.init_kwargs.get("project"), Path(root).absolute())
        except Exception:  # noqa: BLE001 - an unreadable folder must not break the form
            point = None
        if point is None:
            return None
        self._resumable = point
        button = widgets.Button(
            description=f"Resume last run ({point.name or point.run_id}, step {point.start_step})",
            icon="repeat",  # Font Awesome 4.7 (Notebook 6) and 5 (JupyterLab 4) both have it
            tooltip=f"continue run {point.run_id} ({point.state}) with this config",
            layout=widgets.Layout(margin="6px 0 4px 8px", width="auto", padding="0 16px"),
        )
        button.on_click(self._on_resume)
        return button

    def _on_resume(self, _button: Any = None) -> None:
        config = self._checked_value()
        if config is None:
            return
        point = self._resumable
        try:
            self.run = init(config=config, resume=point.run_id, **self.init_kwargs)
        except (NbwandbError, ValueError, TypeError) as exc:
            self._show_error(exc)
            return
        if self.resume_button is not None:
            self.resume_button.disabled = True
        self.status.value = (
            f"<span style='color:#2e7d32'>resumed run {escape(self.run.name)} "
            f"({escape(self.run.id)}) at step {self.run.start_step}</span>"
        )

    def _reset_button(self) -> None:
        self._confirm_restart = False
        self.button.description = self._label
        self.button.button_style = "success"

    # -- the saved output -------------------------------------------------------------------
    def configured_run(self) -> Any:
        """The run this form configured (started, updated, or started with ``form.value``), or None."""
        return self._target_run or self.run or self._configured

    def _before_publish(self) -> None:
        """Notice a run started with ``form.value`` (``nbwandb.init(config=form.value)`` in a cell)."""
        if self.configured_run() is not None or not self._value_taken:
            return

        active = session.active_run()
        if active is None or not getattr(active, "enabled", False):
            return
        try:
            values = {name: field.parsed() for name, field in self.fields.items()}
        except ValueError:
            return
        if _same_config(active.config, values):
            self._configured = active

    def _is_final(self) -> bool:
        run = self.configured_run()
        return run is not None and ended(run)

    def _current(self) -> dict[str, Any]:
        return {name: field.input.value for name, field in self.fields.items()}

    def _text(self) -> str:
        run = self.configured_run()
        if self._is_final():
            lines = [f"nbwandb config of run {run_title(run, run.state)}:"]
            lines += [f"  {name} = {value!r}" for name, value in dict(run.config).items()]
        else:
            lines = ["nbwandb config form:"]
            lines += [f"  {name} = {value!r}" for name, value in self._current().items()]
        return "\n".join(lines)

    def _html(self) -> str:
        run = self.configured_run()
        if self._is_final():
            title = f"config of run {_title_html(run, run.state)}"
            values: dict[str, Any] = dict(run.config)
        else:
            started = f"; run <b>{escape(run.name)}</b> started" if run is not None else ""
            title = f"config form{started}"
            values = {
                k: (v.name if isinstance(v, enum.Enum) else v) for k, v in self._current().items()
            }
        return (
            f"<div class='nbwandb-config-form nbw'>{CSS}<div class='nbw-caption'>{title}</div>"
            f"{key_value_table(values, key_label='config', value_label='value')}</div>"
        )

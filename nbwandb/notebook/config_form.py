"""``ConfigForm``: edit a config (dict or dataclass) in widgets, then start a run with it.

Field widgets follow the value's type: bools are checkboxes, ``Enum``/``Literal`` are
dropdowns, numbers are sliders (when a dataclass field's metadata gives ``min`` and
``max``) or numeric fields checked against sensible bounds, strings are text, anything
else is JSON text. A message next to a field says what is wrong with it.

>>> @dataclasses.dataclass
... class Config:
...     lr: float = dataclasses.field(default=1e-3, metadata={"min": 1e-5, "max": 1e-1})
...     epochs: int = 3
>>> form = ConfigForm(Config(), project="demo")      # doctest: +SKIP
>>> form.value                                       # doctest: +SKIP
{'lr': 0.001, 'epochs': 3}
"""

from __future__ import annotations

import dataclasses
import enum
import json
import typing
from collections.abc import Mapping
from typing import Any

from ._widgets import TextForms, escape, widgets


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
    if kind == "int":
        top = max(10 * magnitude, 100)
    else:
        top = max(100 * magnitude, 1.0)
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


def field_spec(name: str, value: Any, annotation: Any = None, metadata: Mapping[str, Any] | None = None) -> FieldSpec:
    """The ``FieldSpec`` for ``value`` (its annotation and metadata refine it)."""
    meta = dict(metadata or {})
    choices = tuple(meta.get("choices", ())) or _literal_choices(annotation)
    if isinstance(value, enum.Enum) or (isinstance(annotation, type) and issubclass(annotation, enum.Enum)):
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
        return FieldSpec(name, kind, value, low=meta.get("min", default_low), high=meta.get("max"),
                         step=meta.get("step"), slider=has_bounds,
                         usual_high=None if "max" in meta else usual_high)
    if isinstance(value, str):
        return FieldSpec(name, "str", value)
    from nbwandb.config import convert_value

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
                    raise ValueError(f"dataclass field {f.name!r} has no default; pass an instance instead")
            else:
                value = getattr(config, f.name)
            specs.append(field_spec(f.name, value, hints.get(f.name), f.metadata))
        return specs, cls
    if isinstance(config, Mapping):
        for key in config:
            if not isinstance(key, str):
                raise TypeError(f"config key {key!r} is a {type(key).__name__}; config keys must be strings")
        return [field_spec(k, v) for k, v in config.items()], None
    raise TypeError(f"config of type {type(config).__name__} is not accepted; pass a dict or a dataclass")


class _Field:
    """One row of the form: label, input widget and validation message."""

    def __init__(self, spec: FieldSpec) -> None:
        self.spec = spec
        self.input = self._make_input(spec)
        self.message = widgets.HTML()
        self.message.add_class("nbwandb-field-message")
        self.row = widgets.HBox([self.input, self.message])
        self.input.observe(lambda _change: self.validate(), names="value")

    @staticmethod
    def _make_input(spec: FieldSpec) -> Any:
        style = {"description_width": "initial"}
        common: dict[str, Any] = {"description": spec.name, "style": style}
        if spec.kind == "bool":
            return widgets.Checkbox(value=spec.default, indent=False, **common)
        if spec.kind == "choice":
            options = [((c.name if isinstance(c, enum.Enum) else str(c)), c) for c in spec.choices]
            value = spec.default if spec.default in spec.choices else spec.choices[0]
            return widgets.Dropdown(options=options, value=value, **common)
        if spec.kind == "int":
            if spec.slider:
                return widgets.IntSlider(value=spec.default, min=int(spec.low), max=int(spec.high),  # type: ignore[arg-type]
                                         step=int(spec.step or 1), **common)
            return widgets.IntText(value=spec.default, **common)
        if spec.kind == "float":
            if spec.slider:
                step = spec.step or _grid_step(float(spec.default), float(spec.low), float(spec.high))  # type: ignore[arg-type]
                return widgets.FloatSlider(value=spec.default, min=spec.low, max=spec.high, step=step,
                                           readout_format=".4g", **common)
            return widgets.FloatText(value=spec.default, **common)
        if spec.kind == "str":
            return widgets.Text(value=spec.default, **common)
        return widgets.Text(value=json.dumps(spec.default), **common)

    def parsed(self) -> Any:
        """The field's value, or raises ValueError saying what is wrong."""
        spec, value = self.spec, self.input.value
        if spec.kind in ("int", "float"):
            if spec.low is not None and value < spec.low:
                raise ValueError(f"{spec.name}={value!r} is below the minimum {spec.low:g}")
            if spec.high is not None and value > spec.high:
                raise ValueError(f"{spec.name}={value!r} is above the maximum {spec.high:g}")
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
            self.message.value = (f"<span style='color:#b26a00'>{escape(spec.name)}={escape(value)} is larger "
                                  f"than usual (over {spec.usual_high:g}); accepted, but check it</span>")
        else:
            self.message.value = ""
        return None


class ConfigForm(TextForms, widgets.VBox):
    """A form for a dict or dataclass config; "Start run" calls ``nbwandb.init(config=form.value)``.

    ``init_kwargs`` go to ``nbwandb.init`` (project, mode, ...); the started run is
    ``form.run``. With ``run=`` an existing run, the button updates that run's config.
    """

    def __init__(self, config: Any, *, run: Any = None, **init_kwargs: Any) -> None:
        specs, self.dataclass_type = specs_from_config(config)
        self.fields = {spec.name: _Field(spec) for spec in specs}
        self.init_kwargs = init_kwargs
        self.run: Any = None
        self._target_run = run
        label = "Update run config" if run is not None else "Start run"
        self.button = widgets.Button(description=label, button_style="success", icon="play")
        self.button.on_click(self._on_click)
        self.status = widgets.HTML()
        super().__init__(children=[f.row for f in self.fields.values()] + [self.button, self.status])
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
        return {name: field.parsed() for name, field in self.fields.items()}

    def as_dataclass(self) -> Any:
        """An instance of the dataclass the form was built from, with the form's values."""
        if self.dataclass_type is None:
            raise TypeError("this form was built from a dict; use form.value")
        return self.dataclass_type(**self.value)

    def _on_click(self, _button: Any = None) -> None:
        try:
            config = self.value
        except ValueError as exc:
            self.status.value = f"<span style='color:#c62828'>{escape(exc)}</span>"
            return
        import nbwandb
        from nbwandb.errors import NbwandbError

        try:
            if self._target_run is not None:
                self._target_run.update_config(config)
                self.run = self._target_run
                self.status.value = f"<span style='color:#2e7d32'>config of run {escape(self.run.id)} updated</span>"
                return
            self.run = nbwandb.init(config=config, **self.init_kwargs)
        except (NbwandbError, ValueError, TypeError) as exc:
            self.status.value = f"<span style='color:#c62828'>{escape(exc)}</span>"
            return
        where = self.run.url or self.run.run_dir or self.run.mode_reason
        self.status.value = (f"<span style='color:#2e7d32'>started {escape(self.run.mode)} run "
                             f"{escape(self.run.name)} ({escape(self.run.id)}) in {escape(where)}</span>")

    def _current(self) -> dict[str, Any]:
        return {name: field.input.value for name, field in self.fields.items()}

    def _text(self) -> str:
        lines = ["nbwandb config form:"]
        lines += [f"  {name} = {value!r}" for name, value in self._current().items()]
        return "\n".join(lines)

    def _html(self) -> str:
        rows = "".join(f"<tr><td>{escape(k)}</td><td><code>{escape(repr(v))}</code></td></tr>"
                       for k, v in self._current().items())
        return f"<table class='nbwandb-config-form'><tr><th>config</th><th>value</th></tr>{rows}</table>"

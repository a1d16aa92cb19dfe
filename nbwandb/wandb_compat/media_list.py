"""A list of wandb media that ``run.log`` takes as one value (wandb's batch form).

The list also inherits wandb's base value class (``WBValue``), so code that accepts
wandb data types only takes it, while wandb still sees a list of images and writes one
``images/separated`` entry. Without that class, a plain list: wandb's ``log`` writes a
list of images the same way.

>>> wandb = import_wandb("demo")                                # doctest: +SKIP
>>> media_list([wandb.Image(a), wandb.Image(b)])                # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from nbwandb.wandb_compat.registry import available, capability


@capability(
    "media_list_value",
    needs="wandb.sdk.data_types.base_types.wb_value.WBValue (subclassed)",
    fallback="a plain list of wandb media (wandb's log writes the same images/separated entry)",
)
def _has_wb_value() -> bool:
    from wandb.sdk.data_types.base_types.wb_value import WBValue

    return isinstance(WBValue, type)


_MEDIA_LIST: type | None = None


def media_list(items: list[Any]) -> list[Any]:
    """``items`` (wandb media) as one value for ``run.log``."""
    if not available("media_list_value"):
        return list(items)
    return _media_list_class()(items)  # type: ignore[no-any-return]


def _media_list_class() -> type:
    global _MEDIA_LIST
    if _MEDIA_LIST is None:
        from wandb.sdk.data_types.base_types.wb_value import WBValue

        class MediaList(list, WBValue):  # type: ignore[misc]
            def __init__(self, items: list[Any]) -> None:
                list.__init__(self, items)
                WBValue.__init__(self)

            __eq__ = list.__eq__  # type: ignore[assignment]
            __hash__ = None  # type: ignore[assignment]

        _MEDIA_LIST = MediaList
    return _MEDIA_LIST

"""``key=value`` parameter strings: the CLI's ``-p``, and methods that take another method's parameters as one string."""

from __future__ import annotations


def parse_key_values(items, what: str = "--param") -> dict:
    """Parse ``["k=v", ...]`` (or one ``"k=v,k=v"`` string) into a dict of strings.

    The values stay strings; :func:`napari_deepsuperpixel._types.build_params`
    converts them to each parameter's declared type. Dashes in keys become
    underscores.

    Raises
    ------
    ValueError
        An item without ``=`` or with an empty key (the message names ``what``).
    """
    if isinstance(items, str):
        items = [kv for kv in items.split(",") if kv.strip()]
    out = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"{what} expects key=value, got {item!r}")
        k, v = item.split("=", 1)
        k = k.strip().replace("-", "_")
        if not k:
            raise ValueError(f"{what} expects key=value, got {item!r}")
        out[k] = v.strip()
    return out


def split_values(text: str) -> list:
    """Split a list of values on ``;`` when the text holds one, else on ``,`` (empty items dropped).

    The one rule for lists whose items may hold commas themselves, such as
    ``deepsuperpixel bench --sweep "superpixel_params=n_segments=50,count_merge=ward;n_segments=20,..."``
    and the folders of a ``bench-report`` run spec.
    """
    return [x.strip() for x in text.split(";" if ";" in text else ",") if x.strip()]


def number_or_string(value: str):
    """``"3"`` -> 3, ``"0.5"`` -> 0.5, anything else unchanged (for ``key=value`` settings of free-form functions)."""
    for t in (int, float):
        try:
            return t(value)
        except (TypeError, ValueError):
            pass
    return value

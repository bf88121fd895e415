"""``key=value`` settings of the benchmark scripts (``-p crop=128,batch_size=4``).

The same parsing as the command line's ``-p`` (keys with dashes become
underscores, one clear error for an item without ``=``), with numbers
converted, because the scripts hand the values to free-form functions (the
trainers) rather than to a method's declared parameters.
"""

from __future__ import annotations


def parse_settings(items, what: str = "--param") -> dict:
    """``"k=v,k=v"`` or ``["k=v", ...]`` -> a dict; ``"3"`` -> 3, ``"0.5"`` -> 0.5, other values stay strings.

    Parameters
    ----------
    items : str or sequence of str or None
    what : str
        The option named in the error message.

    Raises
    ------
    ValueError
        An item without ``=`` or with an empty key.

    Examples
    --------
    >>> parse_settings("crop=128,precision=bf16,lr=0.5")
    {'crop': 128, 'precision': 'bf16', 'lr': 0.5}
    """
    from ..keyvalues import number_or_string, parse_key_values

    return {k: number_or_string(v) for k, v in parse_key_values(items or [], what).items()}

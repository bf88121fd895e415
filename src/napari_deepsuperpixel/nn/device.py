"""Device choice shared by every torch method: cuda -> mps -> cpu."""

from __future__ import annotations

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def available_devices() -> list[str]:
    """Devices usable on this machine, best first (``"cpu"`` is always last).

    Imports torch; returns ``["cpu"]`` if torch reports no accelerator.
    """
    import torch

    out = []
    if torch.cuda.is_available():
        out.append("cuda")
        out.extend(f"cuda:{i}" for i in range(1, torch.cuda.device_count()))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append("mps")
    out.append("cpu")
    return out


def resolve_device(device: str = "auto"):
    """Turn ``"auto"``, ``"cpu"``, ``"cuda[:i]"`` or ``"mps"`` into a ``torch.device``.

    ``"auto"`` picks cuda, then mps, then cpu. An explicit device that is not
    available raises ``ValueError`` naming the devices that are.
    """
    import torch

    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise ValueError(f"device must be a string such as 'auto', 'cpu', 'cuda', got {device!r}")
    name = device.strip().lower()
    avail = available_devices()
    if name == "auto":
        return torch.device(avail[0])
    base = name.split(":")[0]
    if base not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unknown device {device!r}; use one of {DEVICE_CHOICES}")
    if base == "cpu":
        return torch.device("cpu")
    if name not in avail and not (name == "cuda:0" and "cuda" in avail):
        raise ValueError(
            f"device {device!r} is not available on this machine; available: {', '.join(avail)} "
            "(or 'auto')"
        )
    return torch.device(name)

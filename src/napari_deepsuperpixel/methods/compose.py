"""Running a registered method on one prepared slice: the one way, for the API and for methods.

:func:`napari_deepsuperpixel.segment_result` runs each slice of an image
through :func:`run_prepared`; methods that use other methods (backprop's fine
superpixels, SuperAE's superpixels on its reconstruction, DSC, SuperAE
training templates) call :func:`run_method`. Both convert the slice to the
method's input space, run the registry runner with progress and cancellation
forwarded, and return labels ``1..N`` with one 4-connected region each.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .._types import NO_PROGRESS, Result, build_params, check_seed, params_with_role, reporter


def check_count(params, n_pixels: int, method: str, unit: str = "pixels per slice") -> None:
    """Refuse a segment count (role ``"count"``) below 1 or above the number of pixels.

    Raises
    ------
    ValueError
        Naming the parameter, its value and the number of pixels.
    """
    for key in params_with_role(params, "count"):
        n = getattr(params, key)
        if n is None:
            continue
        if n < 1:
            raise ValueError(f"{key} must be at least 1, got {n}")
        if n > n_pixels:
            raise ValueError(
                f"{key}={n} exceeds the number of {unit} ({n_pixels}) for method {method!r}; "
                "ask for fewer segments"
            )


def min_size_of(info, params) -> int:
    """The merge size of the connectivity step: the value of the role ``"min_size"`` parameter.

    Segmentation methods (whose labels are classes split into components) get 0:
    their small components are real segments.
    """
    if info.kind == "segmentation":
        return 0
    names = params_with_role(params, "min_size")
    return int(getattr(params, names[0]) or 0) if names else 0


class NestedProgress:
    """The Reporter of a method run inside another one.

    The inner method's reports reach ``outer`` with the stage prefixed by the
    inner method's name (``"slic: ..."``), and its cancellation checks reach
    ``outer.check``.
    """

    def __init__(self, outer, method: str):
        self.outer, self.method = reporter(outer), method

    def __call__(self, step, total, stage="", **info):
        self.outer(step, total, f"{self.method}: {stage}" if stage else self.method, **info)

    def check(self) -> None:
        self.outer.check()


def run_prepared(info, params, image: np.ndarray, rgb: bool, *, seed: int = 0, device="cpu",
                 progress=NO_PROGRESS) -> Result:
    """Run a registered method on one prepared ``(Y, X, C)`` slice.

    Parameters
    ----------
    info : MethodInfo
        The registry entry.
    params : dataclass instance
        Built and validated parameters of the method.
    image : (Y, X, C) float32 array
        A prepared slice (see :func:`napari_deepsuperpixel.io.prepare_image`).
    rgb : bool
        Whether its 3 channels are RGB colour (for the CIELAB input space).
    seed : int
    device : str or torch.device
        Already resolved (torch methods) or ``"cpu"``.
    progress : callable, optional
        ``progress(step, total, stage, **info)`` with a ``check()`` attribute.

    Returns
    -------
    Result
        ``labels``: int32 ``(Y, X)``, ``1..N``, every label one 4-connected
        region (split and, for the ``min_size`` role, merged unless the runner
        said ``connected``); the runner's extras; ``connected=True``.
    """
    from ..io.prepare import to_feature_space
    from ..postprocess import enforce_connectivity

    feats = to_feature_space(image, rgb, info.input_space)
    res = info.runner(feats, params=params, seed=seed, device=device, progress=reporter(progress))
    lab = np.asarray(res.labels)
    if lab.shape != image.shape[:2]:
        raise RuntimeError(f"method {info.name!r} returned labels of shape {lab.shape}, "
                           f"expected {image.shape[:2]}")
    if not res.connected:
        min_size = min_size_of(info, params)
        lab = enforce_connectivity(lab, min_size=min_size, features=feats if min_size > 1 else None)
    return Result(lab, res.extras, connected=True)


def run_prepared_volume(info, params, volume: np.ndarray, rgb: bool, *, spacing=(1.0, 1.0, 1.0), seed: int = 0,
                        device="cpu", progress=NO_PROGRESS) -> Result:
    """Run a registered method's volume runner on one prepared ``(Z, Y, X, C)`` volume.

    The same steps as :func:`run_prepared` in 3D: the input space, the volume
    runner (``ValueError`` naming the methods that have one if this one has
    not), and 6-connected components with the ``min_size`` merge unless the
    runner said ``connected``.

    Returns
    -------
    Result
        ``labels``: int32 ``(Z, Y, X)``, ``1..N``, every label one 6-connected region.
    """
    from ..io.prepare import to_feature_space
    from ..postprocess import enforce_connectivity

    runner = info.volume_runner  # refuses a 2D-only method
    feats = to_feature_space(volume, rgb, info.input_space)
    res = runner(feats, params=params, spacing=tuple(spacing), seed=seed, device=device,
                 progress=reporter(progress))
    lab = np.asarray(res.labels)
    if lab.shape != volume.shape[:3]:
        raise RuntimeError(f"method {info.name!r} returned labels of shape {lab.shape}, expected {volume.shape[:3]}")
    if not res.connected:
        min_size = min_size_of(info, params)
        lab = enforce_connectivity(lab, min_size=min_size, features=feats if min_size > 1 else None)
    return Result(lab, res.extras, connected=True)


def run_method(image: np.ndarray, name: str, overrides: Optional[dict] = None, *, rgb: Optional[bool] = None,
               seed: int = 0, device="cpu", progress=None) -> Result:
    """Run the registered method ``name`` inside another method (or a trainer).

    Parameters
    ----------
    image : (Y, X, C) float array
        One prepared slice with values in [0, 1].
    name : str
        A registered method name.
    overrides : dict, optional
        Parameter values (strings are converted to the declared types).
    rgb : bool, optional
        Whether 3 channels are RGB colour (default: True when there are 3 channels).
    seed : int
    device : str or torch.device
        For torch methods; ``"auto"`` is resolved here.
    progress : callable, optional
        The calling method's progress callback: the inner method's reports are
        forwarded through :class:`NestedProgress` and Cancel stops it too.

    Returns
    -------
    Result
        As :func:`run_prepared`.

    Raises
    ------
    ValueError
        Unknown method or parameter, invalid value, or a count above the number of pixels.
    """
    from . import get_method

    info = get_method(name)
    seed = check_seed(seed)
    params = build_params(info.params_cls, name, dict(overrides or {}))
    image = np.asarray(image, np.float32)
    if image.ndim == 2:
        image = image[..., None]
    check_count(params, image.shape[0] * image.shape[1], name)
    if info.uses_torch:
        from ..nn.device import resolve_device

        device = resolve_device(device)
    if rgb is None:
        rgb = image.shape[-1] == 3
    return run_prepared(info, params, image, rgb, seed=seed, device=device,
                        progress=NestedProgress(progress, name))

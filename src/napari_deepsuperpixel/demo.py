"""``deepsuperpixel demo``: every method on an image shipped with scikit-image.

Writes, per method, labels (``.tif``), a boundary overlay (``.png``) and one
summary table (``summary.md`` and ``summary.csv``: segments, seconds, and
ASA / boundary recall against a reference segmentation when available).
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

#: settings used by the demo for methods whose paper defaults take minutes on a CPU
#: (each of these finishes in well under a minute on a 2-core machine; see docs/methods/)
DEMO_OVERRIDES: dict = {
    "backprop": {"preset": "fast", "max_iter": 100},
    "neural_superpixels": {"preset": "fast", "max_iter": 80, "n_segments": 200},
    "dsc": {"max_iter": 32, "max_side": 160},
}


#: functions of :mod:`skimage.data` that are not sample images
_NOT_IMAGES = {"data_dir", "download_all", "file_hash", "lbp_frontal_face_cascade_filename", "lfw_subset",
               "stereo_motorcycle", "binary_blobs"}


def sample_images() -> list:
    """Names that :func:`sample_image` accepts (scikit-image's sample images)."""
    from skimage import data

    return sorted(n for n in getattr(data, "__all__", ()) if n not in _NOT_IMAGES and not n.startswith("_"))


def sample_image(name: str):
    """A scikit-image sample image by name (``astronaut``, ``coffee``, ...).

    Raises
    ------
    ValueError
        ``name`` is not one of scikit-image's sample images, or the image
        cannot be loaded (some need a download).
    """
    import numpy as np
    from skimage import data

    hint = "try astronaut, coffee, cell or immunohistochemistry"
    if not isinstance(name, str) or name not in sample_images():
        raise ValueError(f"unknown scikit-image sample image {name!r}; {hint}")
    try:
        img = getattr(data, name)()
    except Exception as e:  # noqa: BLE001  (samples outside the wheel are downloaded: pooch, network)
        raise ValueError(f"scikit-image sample image {name!r} cannot be loaded here ({type(e).__name__}: "
                         f"{' '.join(str(e).split())[:200]}); {hint}") from None
    if not isinstance(img, np.ndarray) or img.ndim not in (2, 3) or not (
            np.issubdtype(img.dtype, np.number) or img.dtype == bool):
        raise ValueError(f"scikit-image sample {name!r} is not a 2-D image; {hint}")
    return img


def run_demo(outdir, *, image: str = "astronaut", methods=None, overwrite: bool = False,
             quiet: bool = False, seed: int = 0) -> Path:
    from . import list_methods, segment_result
    from .io.files import (
        check_writable,
        overlay_boundaries,
        write_labels_tif,
        write_png,
    )
    from .io.writes import atomic_write, atomic_write_text, check_output_folder
    from .methods import get_method

    outdir = Path(outdir)
    img = sample_image(image)
    names = methods or [m.name for m in list_methods()]
    for n in names:
        get_method(n)  # an unknown name is refused before any work
    check_output_folder(outdir)
    targets = [outdir / "summary.md", outdir / "summary.csv", outdir / f"{image}.png"]
    for n in names:
        targets += [outdir / f"{image}_{n}.tif", outdir / f"{image}_{n}_overlay.png"]
    check_writable(targets, overwrite)
    write_png(outdir / f"{image}.png", img if img.ndim == 3 else overlay_boundaries(img, img * 0 + 1),
              overwrite=overwrite)
    rows = []
    for n in names:
        params = DEMO_OVERRIDES.get(n, {})
        t0 = time.perf_counter()
        res = segment_result(img, n, seed=seed, **params)
        dt = time.perf_counter() - t0
        write_labels_tif(outdir / f"{image}_{n}.tif", res.labels, overwrite=overwrite)
        write_png(outdir / f"{image}_{n}_overlay.png", overlay_boundaries(img, res.labels), overwrite=overwrite)
        rows.append({"method": n, "segments": res.n_segments, "seconds": round(dt, 3),
                     "params": " ".join(f"{k}={v}" for k, v in params.items()) or "defaults"})
        if not quiet:
            print(f"{n:<20} {res.n_segments:>6} segments  {dt:7.2f} s", file=sys.stderr)
    def write_csv(tmp):
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)

    atomic_write(outdir / "summary.csv", write_csv)
    lines = [f"# deepsuperpixel demo on scikit-image `{image}`", "",
             "| method | segments | seconds | parameters |", "|---|---:|---:|---|"]
    lines += [f"| {r['method']} | {r['segments']} | {r['seconds']} | {r['params']} |" for r in rows]
    atomic_write_text(outdir / "summary.md", "\n".join(lines) + "\n")
    return outdir

"""SEN's pseudo ground truth: SNIC label maps of whole images computed once, and the training crops.

The recipe is described in :mod:`napari_deepsuperpixel.training.sen`, which
trains with these pieces: :class:`PseudoLabelCache` (the default, the paper's
SNIC at several scales and compactness values on whole images, computed once
per image) and :func:`pseudo_labels` (the earlier recipe: SLIC or SNIC on each
crop at every step).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SP_SIZES = (64, 128, 256, 512, 1024)
SLIC_COMPACTNESS = (5.0, 10.0, 20.0, 40.0)
SNIC_COMPACTNESS = (5.0, 10.0, 20.0, 40.0)
NOISE_STD = 0.02



def _load_rgb_uint8(path: Path) -> np.ndarray:
    from ..io.files import read_image

    img = np.asarray(read_image(path))
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise ValueError(f"{path}: SEN trains on RGB or grey images, got shape {img.shape}")
    img = img[..., :3]
    if img.dtype != np.uint8:
        f = img.astype(np.float32)
        lo, hi = float(f.min()), float(f.max())
        img = np.round(255 * (f - lo) / max(hi - lo, 1e-12)).astype(np.uint8)
    return np.ascontiguousarray(img)


def pseudo_labels(rgb: np.ndarray, lab: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A superpixel pseudo ground truth at a random scale and compactness.

    Parameters
    ----------
    rgb : numpy.ndarray
        ``(Y, X, 3)`` RGB in [0, 1] (SLIC converts it to CIELAB itself).
    lab : numpy.ndarray
        ``(Y, X, 3)`` the same image in CIELAB (SNIC's features).
    rng : numpy.random.Generator
        Draws the algorithm (SLIC or SNIC), superpixel size and compactness.

    Returns
    -------
    numpy.ndarray of int64
        ``(Y, X)`` labels.
    """
    h, w = lab.shape[:2]
    size = int(rng.choice(SP_SIZES))
    n = max(2, int(round(h * w / size)))
    use_snic = bool(rng.integers(2))
    if use_snic:
        try:
            from ..methods.snic import snic
        except ImportError:  # pragma: no cover - SNIC is part of the package
            use_snic = False
    if use_snic:
        c = float(rng.choice(SNIC_COMPACTNESS))
        return np.asarray(snic(lab, n, c), dtype=np.int64)
    from skimage.segmentation import slic

    c = float(rng.choice(SLIC_COMPACTNESS))
    # RGB input with convert2lab: scikit-image rescales its input to [0, 1] before the Lab
    # conversion, so passing Lab values directly would shrink colour distances ~100x
    return np.asarray(slic(rgb, n_segments=n, compactness=c, start_label=0, convert2lab=True,
                           channel_axis=-1), dtype=np.int64)


def _int_list(text: str, name: str, typ=int) -> list:
    try:
        vals = [typ(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        vals = []
    if not vals or any(v <= 0 for v in vals):
        raise ValueError(f"{name} must be comma-separated positive numbers, e.g. '50,100,200'; got {text!r}")
    return vals


def _teacher(lab: np.ndarray, n_segments: int, compactness: float) -> np.ndarray:
    """One SNIC pseudo label map of a whole image (CIELAB features); the only place the teacher runs."""
    from ..methods.snic import snic

    return np.asarray(snic(lab, int(n_segments), float(compactness)), dtype=np.int32)


class PseudoLabelCache:
    """SNIC pseudo labels of whole images at several counts and compactness values, computed once.

    Each map is kept as zlib-compressed ``uint16`` labels (about 20 KB for a
    BSDS500 image instead of 600 KB) with the mean CIELAB colour of each of
    its superpixels (for the variable margin). With ``folder``, every image's
    maps are also written to ``<folder>/<stem>-<key>.npz`` and read back by
    later runs; ``key`` hashes the image's pixels and the settings, so a
    changed image or setting is never served stale labels.

    Parameters
    ----------
    images : list of numpy.ndarray
        ``(Y, X, 3)`` uint8 RGB images.
    names : list of str
        A name per image (file stems), used in the cache file names.
    counts : sequence of int
        Superpixel counts per whole image.
    compactness : sequence of float
        SNIC compactness values (CIELAB).
    folder : str or Path, optional
        Disk cache.
    progress : callable, optional
        ``progress(done, total)`` after every image.
    """

    def __init__(self, images, names, counts, compactness, folder=None, progress=None):
        import hashlib
        import zlib

        from skimage.color import rgb2lab

        self.settings = [(int(k), float(c)) for k in counts for c in compactness]
        self.maps = []  # per image: list of (shape, compressed labels, (L, 3) mean colours)
        folder = Path(folder) if folder else None
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        for i, (img, name) in enumerate(zip(images, names)):
            h = hashlib.sha256(np.ascontiguousarray(img).tobytes())
            h.update(repr(self.settings).encode())
            f = folder / f"{name}-{h.hexdigest()[:16]}.npz" if folder is not None else None
            if f is not None and f.is_file():
                with np.load(f) as z:
                    labels = [z[f"l{j}"] for j in range(len(self.settings))]
            else:
                lab = rgb2lab(img).astype(np.float32)
                labels = [_teacher(lab, k, c) for k, c in self.settings]
                if f is not None:
                    tmp = f.with_suffix(".tmp.npz")
                    np.savez_compressed(tmp, **{f"l{j}": np.asarray(m, np.uint16) for j, m in enumerate(labels)})
                    tmp.replace(f)
            lab = rgb2lab(img).astype(np.float32).reshape(-1, 3)
            entry = []
            for m in labels:
                m = np.asarray(m)
                if int(m.max()) >= 2**16:
                    raise ValueError(f"pseudo_counts gives over 65,535 superpixels on image {name}; use fewer")
                flat = m.reshape(-1).astype(np.int64)
                n = int(flat.max()) + 1
                cnt = np.bincount(flat, minlength=n).clip(1)
                mean = np.stack([np.bincount(flat, lab[:, c], n) for c in range(3)], 1) / cnt[:, None]
                entry.append((m.shape, zlib.compress(np.asarray(m, np.uint16).tobytes(), 1),
                              mean.astype(np.float32)))
            self.maps.append(entry)
            if progress is not None:
                progress(i + 1, len(images))

    def get(self, image: int, which: int):
        """``(labels (Y, X) int64, mean colours (L, 3) float32)`` of map ``which`` of image ``image``."""
        import zlib

        shape, blob, mean = self.maps[image][which]
        return np.frombuffer(zlib.decompress(blob), np.uint16).reshape(shape).astype(np.int64), mean


def _make_cached_batch(images, cache: PseudoLabelCache, rng, batch_size: int, crop: int):
    """``(x + noise, labels, superpixel mean colours, anchor_seed)`` with crops of the cached whole-image labels."""
    import torch

    xs, labs, cols = [], [], []
    for _ in range(batch_size):
        i = int(rng.integers(len(images)))
        img = images[i]
        h, w = img.shape[:2]
        ch, cw = min(crop, h), min(crop, w)
        y0 = int(rng.integers(h - ch + 1))
        x0 = int(rng.integers(w - cw + 1))
        labels, mean = cache.get(i, int(rng.integers(len(cache.settings))))
        c = img[y0:y0 + ch, x0:x0 + cw].astype(np.float32) / 255.0
        lc = labels[y0:y0 + ch, x0:x0 + cw]
        if ch < crop or cw < crop:
            pad = ((0, crop - ch), (0, crop - cw))
            c = np.pad(c, pad + ((0, 0),), mode="reflect")
            lc = np.pad(lc, pad, mode="reflect")
        if rng.random() < 0.5:
            c, lc = c[:, ::-1], lc[:, ::-1]
        xs.append(np.ascontiguousarray(c.transpose(2, 0, 1)))
        labs.append(np.ascontiguousarray(lc))
        cols.append(np.ascontiguousarray(mean[lc].transpose(2, 0, 1)))
    x = torch.from_numpy(np.stack(xs))
    noise = torch.from_numpy(rng.normal(0.0, NOISE_STD, size=x.shape).astype(np.float32))
    anchor_seed = int(rng.integers(2**31))
    return x + noise, torch.from_numpy(np.stack(labs)), torch.from_numpy(np.stack(cols)), anchor_seed


def _make_batch(images, rng, batch_size: int, crop: int):
    """``(x + noise, labels, lab, anchor_seed)`` of one mini-batch, all drawn from ``rng`` in order."""
    import torch
    from skimage.color import rgb2lab

    xs, labs, cols = [], [], []
    for _ in range(batch_size):
        img = images[int(rng.integers(len(images)))]
        h, w = img.shape[:2]
        ch, cw = min(crop, h), min(crop, w)
        y0 = int(rng.integers(h - ch + 1))
        x0 = int(rng.integers(w - cw + 1))
        c = img[y0:y0 + ch, x0:x0 + cw].astype(np.float32) / 255.0
        if ch < crop or cw < crop:
            c = np.pad(c, ((0, crop - ch), (0, crop - cw), (0, 0)), mode="reflect")
        if rng.random() < 0.5:
            c = c[:, ::-1]
        c = np.ascontiguousarray(c)
        lab = rgb2lab(c).astype(np.float32)
        labels = pseudo_labels(c, lab, rng)
        xs.append(c.transpose(2, 0, 1))
        labs.append(labels)
        cols.append(lab.transpose(2, 0, 1))
    x = torch.from_numpy(np.stack(xs))
    noise = torch.from_numpy(rng.normal(0.0, NOISE_STD, size=x.shape).astype(np.float32))
    anchor_seed = int(rng.integers(2**31))
    return x + noise, torch.from_numpy(np.stack(labs)), torch.from_numpy(np.stack(cols)), anchor_seed

"""A seeded synthetic fluorescence volume of nuclei with its ground truth.

:func:`nuclei_volume` stands in for a confocal ZYX stack of stained nuclei
when no annotated volume is at hand: the napari sample data, the tests and
``benchmarks/bench_3d.py`` generate it at run time (nothing is stored).
What makes it harder than ellipsoids on black:

* **touching nuclei**: centres are placed at random with a minimum distance
  below the sum of the radii, so neighbours press into each other; a voxel
  claimed by two ellipsoids goes to the one it lies deeper in, and the
  ground truth has the shared surfaces a segmentation must find;
* **anisotropy**: the voxels are longer in Z (``spacing``, default
  ``(2, 0.5, 0.5)`` µm) and the blur (the microscope's PSF) is longer in Z
  in physical units too;
* **shot noise**: photon counts are Poisson distributed around the blurred
  intensity, plus camera offset and read noise, in the 12-bit range of a
  camera, stored as ``uint16``;
* uneven staining: each nucleus has its own brightness, falling off towards its rim.
"""

from __future__ import annotations

import numpy as np


def nuclei_volume(shape=(64, 256, 256), *, n_nuclei=None, spacing=(2.0, 0.5, 0.5), radius=(3.0, 6.0),
                  touching: float = 0.85, psf_sigma=(1.2, 0.4), photons: float = 120.0, seed: int = 0):
    """A synthetic ``(Z, Y, X)`` uint16 nuclei volume and its instance ground truth.

    Parameters
    ----------
    shape : (int, int, int)
        ``(Z, Y, X)`` in voxels.
    n_nuclei : int, optional
        How many nuclei to place (fewer if they do not fit). Default: enough
        to fill about a third of the volume.
    spacing : (float, float, float)
        Voxel size ``(dz, dy, dx)`` in µm.
    radius : (float, float)
        Range of the nuclei's semi-axes in µm (each axis drawn in it).
    touching : float
        Minimum centre distance as a fraction of the sum of two radii; below 1
        the nuclei touch and press into each other (1 keeps them apart).
    psf_sigma : (float, float)
        Gaussian blur ``(sigma_z, sigma_xy)`` in µm.
    photons : float
        Mean photon count of the brightest nucleus voxel (less: noisier).
    seed : int
        The same seed gives the same volume.

    Returns
    -------
    image : numpy.ndarray of uint16
        Camera values (offset 100, 12-bit range).
    ground_truth : numpy.ndarray of int32
        0 for background, ``1..N`` one per nucleus, each one 6-connected region.

    Examples
    --------
    >>> from napari_deepsuperpixel.datasets.synthetic import nuclei_volume
    >>> img, gt = nuclei_volume((8, 64, 64), n_nuclei=5, seed=1)
    >>> img.dtype.name, gt.shape, int(gt.max()) <= 5
    ('uint16', (8, 64, 64), True)
    """
    from scipy import ndimage as ndi

    shape = tuple(int(v) for v in shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"shape must be (Z, Y, X) with positive sizes, got {shape}")
    sp = np.asarray(spacing, float)
    rng = np.random.default_rng(seed)
    extent = np.asarray(shape) * sp
    r_lo, r_hi = float(radius[0]), float(radius[1])
    if n_nuclei is None:
        mean_vol = 4.0 / 3.0 * np.pi * ((r_lo + r_hi) / 2) ** 3
        n_nuclei = max(1, int(extent.prod() / 3.0 / mean_vol))
    centres, radii = _place(rng, extent, int(n_nuclei), r_lo, r_hi, touching)

    gt = np.zeros(shape, np.int32)
    depth = np.full(shape, np.inf, np.float32)  # normalised ellipsoid radius of the claiming nucleus
    signal = np.zeros(shape, np.float32)
    for i, (c, r) in enumerate(zip(centres, radii), start=1):
        lo = np.maximum(np.floor((c - r) / sp).astype(int), 0)
        hi = np.minimum(np.ceil((c + r) / sp).astype(int) + 1, shape)
        if np.any(hi <= lo):
            continue
        grids = np.ogrid[tuple(slice(a, b) for a, b in zip(lo, hi))]
        q = sum(((g * s - cc) / rr) ** 2 for g, s, cc, rr in zip(grids, sp, c, r)).astype(np.float32)
        box = tuple(slice(a, b) for a, b in zip(lo, hi))
        win = (q < 1.0) & (q < depth[box])
        gt[box][win] = i
        depth[box][win] = q[win]
        signal[box][win] = rng.uniform(0.45, 1.0) * (1.0 - 0.35 * q[win])
    from skimage.measure import label as cc_label

    # 1..N, one per 6-connected piece (a nucleus cut in two by deeper neighbours gives two)
    gt = cc_label(gt, background=0, connectivity=1).astype(np.int32)
    blurred = ndi.gaussian_filter(signal, (psf_sigma[0] / sp[0], psf_sigma[1] / sp[1], psf_sigma[1] / sp[2]))
    lam = photons * (0.06 + blurred)  # a dim background of out-of-focus light
    counts = rng.poisson(lam).astype(np.float32)
    img = 100.0 + 8.0 * counts + rng.normal(0.0, 4.0, shape).astype(np.float32)
    return np.clip(img, 0, 4095).astype(np.uint16), gt


def _place(rng, extent, n, r_lo, r_hi, touching):
    """Centres and semi-axes (µm) of up to ``n`` nuclei, a centre distance of at least ``touching * (r_i + r_j)``."""
    import math

    cell = 2.0 * r_hi  # spatial hash on the largest possible contact distance
    grid: dict = {}
    centres, radii, means = [], [], []
    n_try = 20 * n
    rs = rng.uniform(r_lo, r_hi, (n_try, 3))
    rs[:, 0] *= 0.8  # nuclei are a little flatter in Z
    cs = rng.uniform(0, 1, (n_try, 3)) * extent
    near = [(a, b, c) for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1)]
    for c, r in zip(cs.tolist(), rs.tolist()):
        if len(centres) >= n:
            break
        rm = sum(r) / 3.0
        key = (int(c[0] // cell), int(c[1] // cell), int(c[2] // cell))
        ok = all(math.dist(c, centres[j]) >= touching * (rm + means[j])
                 for d in near for j in grid.get((key[0] + d[0], key[1] + d[1], key[2] + d[2]), ()))
        if ok:
            grid.setdefault(key, []).append(len(centres))
            centres.append(c)
            radii.append(r)
            means.append(rm)
    return np.asarray(centres).reshape(-1, 3), np.asarray(radii).reshape(-1, 3)

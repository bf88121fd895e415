"""Deep Superpixel Cut (Lin, Zhong, Lu, ICPR 2020) and its Table III baselines.

Four registry methods share one pipeline:

1. **SuperAE** (:mod:`napari_deepsuperpixel.nn.superae`, trained once on a
   dataset, Alg. 1) reconstructs a smoothed image;
2. a registered superpixel method (default Felzenszwalb-Huttenlocher, the
   paper's EGB) runs on the reconstruction -> superpixels ``z``
   (``superae`` stops here; ``dsc`` and its baselines run it on the image by
   default, see below);
3. ``dsc`` partitions the superpixels per image (Alg. 2): hypercolumn features
   of the SuperAE encoder -> 1x1 conv to K logits, pseudo labels by superpixel
   majority (Eq. 4), cross entropy + soft cut over the superpixel graph
   (Eq. 5-9), SGD on encoder and 1x1 conv;
4. ``kmeans_superpixels`` / ``ncut_superpixels`` cluster the same superpixels by
   their mean colour or mean deep feature (Table III; in
   :mod:`~napari_deepsuperpixel.methods.superpixel_clustering`).

Choices where the paper is ambiguous (also in ``docs/methods/dsc.md``):

* **Loss scale.** Eq. 3 sums the cross entropy over all N pixels while
  ``beta = 5/M^2`` scales the cut; with the sum and lr 0.05 the logits jump
  from ~3 to ~1e6 in one SGD step and all pixels fall into one class, so L1
  is the *mean* over pixels (PyTorch's default) and L2
  is used as written with ``beta = 5/M^2``. Eq. 9 also drops the minus sign of
  Eq. 3; the minimised loss is the cross entropy (with the sign).
* **What gets gradients.** Eq. 11 differentiates ``Q^T W (1 - Q)`` with W held
  fixed, so W (Eq. 7) is built from detached superpixel features each
  iteration; gradients flow through Q (Eq. 6, the superpixel mean of the
  pixel softmax) and through L1.
* **W.** ``w_ij = exp(-||g_i - g_j||^2 / sigma^2)`` for superpixel centroids
  closer than ``d = 2 sqrt(N/M)``, including ``i = j`` (distance 0 < d), as
  the formula reads.
* **Hypercolumn.** Image, encoder layers 1-3 (2 and 3 bilinearly upsampled),
  concatenated, 1x1 conv to K. Computed as the sum of per-layer 1x1 convs
  upsampled after the projection; this is the same function (bilinear
  upsampling is linear and per channel) at a fraction of the cost.
* **Batch norm** layers of the encoder run in training mode during DSC
  (statistics of the image being segmented), like Kanezaki's per-image
  networks; the shipped SuperAE's running statistics are used only for the
  reconstruction.
* **Output.** Alg. 2 outputs the pseudo labels ``Y~`` of the last iteration:
  every superpixel takes one of K classes; :func:`napari_deepsuperpixel.segment`
  then splits classes into connected regions.
* **Logit normalisation** (``logit_bn=True``, default; not in the paper). The
  hypercolumn is non-negative (ReLU), so a random 1x1 head gives every logit
  channel its own offset: with the paper's head only a few of the K classes
  win any superpixel at the first vote and DSC collapses to 1-3 classes
  within a few iterations, whatever the learning rate. A per-channel batch
  normalisation of the K logits over the image's pixels (training-mode
  statistics, learnable scale and shift from 1 and 0), as in Kanezaki's
  response layer (:mod:`.backprop`), keeps the classes apart. Chosen on 10
  val images (SC 0.395 -> 0.498, PRI 0.533 -> 0.724, VI 2.155 -> 2.086:
  ``python benchmarks/bench_dsc.py screen --split val --n-images 10 --variant
  ...``); on the first 50 test images at the defaults SC / PRI / VI 0.449 /
  0.573 / 1.970 -> 0.545 / 0.756 / 1.897 and 2 -> 16 regions per image
  (``deepsuperpixel bench --split test --limit 50 -m dsc -p logit_bn=...``;
  the table is in ``docs/methods/dsc.md``).
* **Normalised cut** (``cut="ncut"``, an option; default ``"cut"``, Eq. 8 as
  written). The soft normalised cut ``K - sum_k assoc(A_k, A_k) /
  assoc(A_k, V)`` (:func:`~napari_deepsuperpixel.nn.superpixel_cut.soft_ncut_loss`) is worst, not best, when
  everything is one partition; its weight is ``beta = beta_scale / K`` (the
  term lies in [0, K]). It did not help on val (with or without the logit
  normalisation, at beta_scale 5, 32, 160) nor on the 50 test images (with
  the logit normalisation VI 1.897 -> 1.944; without it the collapse stays),
  so the paper's cut stays the default.
* **Stop rule** (``min_labels=3``, default; not in the paper): stop as soon as
  the pseudo labels take at most ``min_labels`` classes, as Kanezaki's
  demo does, and output those pseudo labels. With the logit normalisation it
  rarely fires (same scores on val); it keeps a collapsing run from going on
  to one class.
* **Superpixels of the image** (``superpixels_on="image"``, the default; not in
  the paper, whose superpixels are those of the reconstruction: option
  ``superpixels_on="reconstruction"``). DSC only merges superpixels, so its PRI
  is capped by theirs, and with the shipped SuperAE weights (3 % of the paper's
  training pixels) the superpixels of the reconstruction score lower than those
  of the image. On 20 val images, EGB at the paper's ~100 superpixels (scale 350
  on the reconstruction, 500 on the image, :func:`default_superpixel_params`):
  SC / PRI / VI 0.516 / 0.725 / 2.032 -> 0.534 / 0.754 / 1.969; with EGB at six
  scales as the ODS thresholds 0.516 / 0.775 / 2.013 -> 0.534 / 0.775 / 1.884
  (``python benchmarks/bench_dsc.py screen --split val --n-images 20 --sp-on ...``);
  on the next 40 val images 0.539 / 0.778 / 1.968 -> 0.567 / 0.802 / 1.883. On
  the first 50 test images the region scores are level (paired differences
  within their 95 % intervals) and boundary F rises by 0.034 ± 0.032; on DSB2018
  nuclei object F1 0.532 -> 0.546. The SuperAE encoder still supplies the features (Alg. 2's hypercolumn) and the
  reconstruction is still returned. The test-split tables are in
  ``docs/methods/dsc.md``.
* **Mean shift at a count** (Tables II and IV: "we control the number of
  superpixels at 100, 50, 20, 10"; how is not said): ``superpixel_method=
  "meanshift"`` with ``superpixel_params="n_segments=N"`` merges the
  mean-shift regions by Ward's criterion down to N
  (:mod:`~napari_deepsuperpixel.methods.meanshift`, ``count_merge``); the
  earlier rule, smallest regions first, is ``count_merge=smallest``. On 60
  val images with Table IV's protocol DSC's PRI / VI 0.784 / 1.915 -> 0.792 /
  1.878 (SC 0.540 both).
* **Baselines** (``kmeans_superpixels``, ``ncut_superpixels``): see
  :mod:`napari_deepsuperpixel.methods.superpixel_clustering`.

References
----------
.. [1] Q. Lin, W. Zhong, J. Lu, "Deep Superpixel Cut for Unsupervised Image
   Segmentation", ICPR 2020.
.. [2] J. Shi, J. Malik, "Normalized cuts and image segmentation", TPAMI 2000.
.. [3] A. Ng, M. Jordan, Y. Weiss, "On spectral clustering: analysis and an
   algorithm", NIPS 2002.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .._types import Result, param
from ._presets import preset_helper, preset_param, resolve_preset

SUPERPIXEL_METHODS = ("felzenszwalb", "meanshift", "slic", "snic", "quickshift", "watershed")
#: what DSC's superpixels are computed on: the SuperAE reconstruction (Alg. 1-2) or the input image
SUPERPIXELS_ON = ("reconstruction", "image")
#: the shipped weight sets, selectable by name with ``checkpoint=`` (a name or a file, as cellpose's
#: ``pretrained_model``); the first is the
#: default (model cards: docs/training.md)
WEIGHT_SETS = {"bsds": "superae_bsds.pt", "microscopy": "superae_microscopy.pt"}
SHIPPED_WEIGHTS = WEIGHT_SETS["bsds"]
_WEIGHTS_HELP = ("Weights: a shipped set by name ('bsds': BSDS500 photographs, the default; 'microscopy': "
                 "DSB2018 nuclei, fluorescence and brightfield) or a checkpoint (.pt) from `deepsuperpixel train superae`")
#: default superpixels: Felzenszwalb-Huttenlocher (EGB) at the paper's count: "EGB [...] the number is
#: controlled at about 100" (Sec. IV-C). On the reconstruction scale 350 gives a median of 100 on BSDS500
#: test with the shipped weights (10 images; 20 val images: 300 -> 110, 400 -> 86; scale 100 gave 265); the
#: image itself is less smooth, and there scale 500 gives 103 (20 val images; 350 gave 146)
DEFAULT_SP = "felzenszwalb"
DEFAULT_EGB_PARAMS = {"reconstruction": "scale=350,sigma=0.5,min_size=50",
                      "image": "scale=500,sigma=0.5,min_size=50"}
_SP_PARAMS_HELP = ("Parameters of that method, 'key=value,key=value'; empty: the method's defaults, and for EGB "
                   "(felzenszwalb) the scale of the paper's ~100 superpixels (350 on the reconstruction, 500 on "
                   "the image)")


#: what dsc and its Table III baselines compute their superpixels on by default (not the paper's choice: see
#: the module docstring)
DEFAULT_SP_ON = "image"
_SP_ON_HELP = ("Run the superpixel method on the 'image' itself (default; not in the paper: better on BSDS500 val "
               "and on nuclei with the shipped weights, see docs/methods/dsc.md) or on the SuperAE 'reconstruction' "
               "(the paper)")
_SP_METHOD_HELP = "Superpixel method, run on the image or on the SuperAE reconstruction (superpixels_on)"


def default_superpixel_params(method: str = DEFAULT_SP, on: str = "reconstruction") -> str:
    """The settings an empty ``superpixel_params`` stands for: EGB at ~100 superpixels, other methods' defaults."""
    if on not in SUPERPIXELS_ON:
        raise ValueError(f"superpixels_on must be one of {SUPERPIXELS_ON}, got {on!r}")
    return DEFAULT_EGB_PARAMS[on] if method == "felzenszwalb" else ""


#: DSC's named settings: the paper's (Sec. IV-B) and a CPU setting (docs/methods/dsc.md has the
#: measured speed and quality of each)
DSC_PRESETS = {
    "paper": {"max_iter": 128, "max_side": 0},
    "fast": {"max_iter": 32, "max_side": 160},
}

_ph = preset_helper(DSC_PRESETS)


# ----------------------------------------------------------------------------- parameters
@dataclass
class SuperAEParams:
    """SuperAE reconstruction, then superpixels by a registered method (Lin et al. 2020, Alg. 1)."""

    superpixel_method: str = param(DEFAULT_SP, "Superpixel method run on the SuperAE reconstruction",
                                   choices=SUPERPIXEL_METHODS, aliases=("superpixels",))
    superpixel_params: str = param("", _SP_PARAMS_HELP)
    checkpoint: str = param("", _WEIGHTS_HELP, options=tuple(WEIGHT_SETS))


@dataclass
class DscParams:
    """Deep Superpixel Cut (Lin et al. 2020, Alg. 2); other defaults are the paper's (Sec. IV-B).

    ``None`` fields take the value of ``preset`` (see :mod:`._presets`).
    """

    preset: str = preset_param(DSC_PRESETS, "Lin et al. 2020")
    n_classes: int = param(32, "K: number of partitions (upper bound on segment classes)", min=2, max=256)
    max_iter: Optional[int] = param(None, _ph("SGD iterations per image", "max_iter"), min=1, aliases=("n_iter",))
    lr: float = param(0.05, "SGD learning rate", min=0.0)
    momentum: float = param(0.9, "SGD momentum", min=0.0, max=1.0)
    sigma: float = param(10.0, "Scale of the deep similarity (Eq. 7)", min=1e-6)
    alpha: float = param(1.0, "Weight of the pseudo-label cross entropy L1", min=0.0)
    beta_scale: float = param(5.0, "beta = beta_scale / M^2, weight of the soft cut L2", min=0.0)
    d_factor: float = param(2.0, "Neighbour distance d = d_factor * sqrt(N / M) (pixels)", min=0.0)
    logit_bn: bool = param(True, "Batch-normalise each of the K logits over the image before the softmax "
                           "(Kanezaki's response normalisation; not in the paper)")
    cut: str = param("cut", "Graph term L2: 'cut', the paper's soft cut (Eq. 8, beta = beta_scale / M^2), or "
                     "'ncut', the soft normalised cut (beta = beta_scale / K; not in the paper)",
                     choices=("cut", "ncut"))
    min_labels: int = param(3, "Stop when the pseudo labels have at most this many classes (Kanezaki's rule; "
                            "0 = run all iterations)", min=0)
    max_side: Optional[int] = param(None, _ph("Run the network at most this many pixels wide (0 = full size)",
                                              "max_side"), min=0)
    superpixel_method: str = param(DEFAULT_SP, _SP_METHOD_HELP,
                                   choices=SUPERPIXEL_METHODS, aliases=("superpixels",))
    superpixel_params: str = param("", _SP_PARAMS_HELP)
    superpixels_on: str = param(DEFAULT_SP_ON, _SP_ON_HELP, choices=SUPERPIXELS_ON)
    checkpoint: str = param("", _WEIGHTS_HELP, options=tuple(WEIGHT_SETS))


# ----------------------------------------------------------------------------- model loading
def _build_superae(hyperparameters: dict):
    from ..nn.superae import SuperAE

    return SuperAE(widths=tuple(hyperparameters.get("widths", [64, 128, 256])))


def load_superae(checkpoint: str = ""):
    """Load a SuperAE model (cached), from ``checkpoint`` or the shipped weights.

    Parameters
    ----------
    checkpoint : str or Path
        A ``superae`` checkpoint from ``deepsuperpixel train superae``;
        empty for the weights shipped in the package.

    Returns
    -------
    SuperAE
        In eval mode on the CPU. Do not modify it (it is shared); copy it
        with :func:`copy.deepcopy` to fine-tune.
    """
    from ..nn.checkpoint import load_model

    return load_model(checkpoint, method="superae", shipped=WEIGHT_SETS, build=_build_superae)


def _to_rgb(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image, np.float32)
    if img.ndim == 2:
        img = img[..., None]
    c = img.shape[-1]
    if c == 1:
        img = np.repeat(img, 3, axis=-1)
    elif c != 3:
        raise ValueError(f"SuperAE/DSC need an RGB or grayscale image, got {c} channels; "
                         "select one or three channels first")
    return np.clip(img, 0.0, 1.0)


def superae_superpixels(image: np.ndarray, *, checkpoint="", superpixel_method=DEFAULT_SP,
                        superpixel_params="", device="cpu", seed=0, progress=None,
                        superpixels_on="reconstruction"):
    """Reconstruct with SuperAE and compute superpixels on the reconstruction (Alg. 1, lines 6-7) or the image.

    Parameters
    ----------
    image : numpy.ndarray
        ``(Y, X, 3)`` or ``(Y, X, 1)`` float in [0, 1].
    checkpoint : str
        SuperAE checkpoint; empty = shipped weights.
    superpixel_method : str
        A registered superpixel method.
    superpixel_params : str
        ``"key=value,..."`` for that method; empty: :func:`default_superpixel_params`
        (EGB at ~100 superpixels on either source, other methods' own defaults).
    device : str or torch.device
    seed : int
    progress : callable, optional
        The calling method's progress callback (the superpixel method's
        reports and Cancel are forwarded).
    superpixels_on : {"reconstruction", "image"}
        What the superpixel method runs on: the reconstruction (the paper)
        or the input image (an option of ``dsc``, not in the paper).

    Returns
    -------
    labels : numpy.ndarray
        ``int32`` superpixels ``1..M`` (4-connected).
    reconstruction : numpy.ndarray
        ``(Y, X, 3)`` float32 in [0, 1].
    """
    import torch

    from ..keyvalues import parse_key_values
    from ..nn.optim import image_to_tensor
    from ..nn.superae import reconstruct
    from ..nn.tiling import DEFAULT_OVERLAP, DEFAULT_TILE, tiled
    from .compose import run_method

    if superpixel_method not in SUPERPIXEL_METHODS:
        raise ValueError(f"superpixel_method must be one of {SUPERPIXEL_METHODS}, got {superpixel_method!r}")
    if superpixels_on not in SUPERPIXELS_ON:
        raise ValueError(f"superpixels_on must be one of {SUPERPIXELS_ON}, got {superpixels_on!r}")
    if not str(superpixel_params or "").strip():
        superpixel_params = default_superpixel_params(superpixel_method, superpixels_on)
    try:
        sp_params = parse_key_values(str(superpixel_params), "superpixel_params")
    except ValueError as e:
        raise ValueError(f"{e} (write e.g. 'scale=400,min_size=200')") from None
    rgb = _to_rgb(image)
    model = load_superae(checkpoint)
    model = model.to(device)
    with torch.no_grad():  # in tiles on large images: memory bounded by the tile (nn.tiling)
        x = image_to_tensor(rgb, device, channels_last=False)
        rec = tiled(lambda t: reconstruct(model, t), x, tile=DEFAULT_TILE, overlap=DEFAULT_OVERLAP, progress=progress,
                    stage="reconstruct")
    rec = rec[0].permute(1, 2, 0).cpu().numpy()
    # the superpixel methods are classical (CPU) ones; the reconstruction is already in [0, 1]
    rec = rec.astype(np.float32)
    labels = run_method(rec if superpixels_on == "reconstruction" else rgb, superpixel_method, sp_params, rgb=True,
                        seed=seed, device="cpu", progress=progress).labels
    return labels.astype(np.int32), rec


class _DscHead:
    """1x1 conv over [image, e1, up(e2), up(e3)] computed per layer, then upsampled and summed."""

    def __init__(self, model, k: int, seed: int, device, logit_bn: bool = False):
        import torch

        c0 = model.in_channels
        chans = [c0, *model.widths]
        cin = sum(chans)
        gen = torch.Generator().manual_seed(int(seed))
        bound = 1.0 / np.sqrt(cin)  # PyTorch's default Conv2d initialisation range
        self.weight = ((torch.rand(k, cin, generator=gen) * 2 - 1) * bound).to(device).requires_grad_()
        self.bias = ((torch.rand(k, generator=gen) * 2 - 1) * bound).to(device).requires_grad_()
        self.splits = chans
        # per-channel batch normalisation of the logits over the image's pixels (training-mode statistics,
        # learnable scale and shift starting at 1 and 0), as Kanezaki's response layer
        self.bn = torch.nn.BatchNorm2d(k).to(device) if logit_bn else None

    def parameters(self):
        return [self.weight, self.bias] + (list(self.bn.parameters()) if self.bn is not None else [])

    def __call__(self, model, x):
        """Logits ``(K, H, W)`` for image ``x`` ``(1, C, H, W)``."""
        import torch
        from torch.nn import functional as F

        from ..nn.blocks import pad_to_multiple

        xp, (h, w) = pad_to_multiple(x, 4)
        feats = [xp, *model.encode(xp)]
        ws = torch.split(self.weight, self.splits, dim=1)
        out = None
        for f, wk in zip(feats, ws):
            y = torch.einsum("kc,bchw->bkhw", wk, f)
            if y.shape[-2:] != xp.shape[-2:]:
                y = F.interpolate(y, size=xp.shape[-2:], mode="bilinear", align_corners=False)
            out = y if out is None else out + y
        out = (out + self.bias[None, :, None, None])[:, :, :h, :w]
        if self.bn is not None:  # statistics of the image's own pixels (not the padding)
            out = self.bn(out)
        return out[0]


def deep_superpixel_cut(image, superpixels, model, *, n_classes=32, n_iter=128, lr=0.05, momentum=0.9,
                        sigma=10.0, alpha=1.0, beta_scale=5.0, d_factor=2.0, max_side=0, logit_bn=True,
                        cut="cut", min_labels=3, seed=0, device="cpu", progress=None):
    """Alg. 2 of Lin et al.: partition ``superpixels`` of ``image`` by per-image SGD.

    Parameters
    ----------
    image : numpy.ndarray
        ``(Y, X, 3)`` float in [0, 1] (the original image, not the
        reconstruction: Alg. 2 extracts features of ``x``).
    superpixels : numpy.ndarray
        ``(Y, X)`` integer superpixels (any ids).
    model : SuperAE
        Encoder to start from; it is copied, not modified.
    n_classes, n_iter, lr, momentum, sigma, alpha, beta_scale, d_factor
        See :class:`DscParams` (paper: 32, 128, 0.05, 0.9, 10, 1, 5, 2).
    max_side : int
        If > 0 and the image is larger (a speed option, not in the paper):
        the network and the losses work on a bilinearly resized copy whose
        longer side is ``max_side``, with every low-resolution pixel taking the
        superpixel under its centre (superpixel centroids and ``d`` stay in
        full-size pixels); the final majority vote (Eq. 4) is taken at full
        size over the upsampled logits, so every superpixel gets a class.
    logit_bn : bool
        Batch-normalise each of the K logits over the image's pixels before
        the softmax (not in the paper; Kanezaki's response normalisation).
    cut : {"cut", "ncut"}
        The graph term L2: the paper's soft cut (Eq. 8, ``beta = beta_scale /
        M^2``) or the soft normalised cut :func:`~napari_deepsuperpixel.nn.superpixel_cut.soft_ncut_loss` (``beta =
        beta_scale / K``; not in the paper).
    min_labels : int
        Stop as soon as the pseudo labels take at most this many classes
        (Kanezaki's stop rule; 0 = run all ``n_iter`` iterations); those
        pseudo labels are the output.
    seed : int
        Seeds the 1x1 projection.
    device : torch.device or str
    progress : callable, optional
        ``progress(step, total, stage, **info)``.

    Returns
    -------
    labels : numpy.ndarray
        ``(Y, X)`` int32 class ``1..K`` of every pixel (constant per superpixel).
    loss_history : list of float
    """
    import copy

    import torch
    from torch.nn import functional as F

    from ..nn.optim import check_finite_loss, image_to_tensor
    from ..nn.superpixel_cut import (
        centroids,
        pseudo_labels,
        similarity_matrix,
        soft_cut_loss,
        soft_ncut_loss,
        superpixel_pool,
    )

    if cut not in ("cut", "ncut"):
        raise ValueError(f"cut must be 'cut' (Eq. 8) or 'ncut' (normalised cut), got {cut!r}")
    rgb = _to_rgb(image)
    h, w = rgb.shape[:2]
    if superpixels.shape != (h, w):
        raise ValueError(f"superpixels shape {superpixels.shape} does not match image {(h, w)}")
    _, sp_np = np.unique(superpixels, return_inverse=True)
    sp_np = sp_np.reshape(h, w)
    m = int(sp_np.max()) + 1
    n = h * w
    net = copy.deepcopy(model).to(device)
    net.train()
    head = _DscHead(net, int(n_classes), seed, device, logit_bn=bool(logit_bn))
    opt = torch.optim.SGD(list(net.parameters()) + head.parameters(), lr=float(lr), momentum=float(momentum))
    x = image_to_tensor(rgb, device, channels_last=False)
    centers_all = centroids(sp_np, m)
    d = float(d_factor) * np.sqrt(n / m)  # in full-size pixels, like the centroids
    work = sp_np
    if max_side and max(h, w) > max_side:
        scale = max_side / max(h, w)
        hs, ws = max(4, round(h * scale)), max(4, round(w * scale))
        x = F.interpolate(x, size=(hs, ws), mode="bilinear", align_corners=False)
        # superpixel id at the centre of every low-resolution pixel
        yi = np.minimum(((np.arange(hs) + 0.5) * h / hs).astype(int), h - 1)
        xi = np.minimum(((np.arange(ws) + 0.5) * w / ws).astype(int), w - 1)
        work = sp_np[np.ix_(yi, xi)]
    hs, ws = x.shape[-2:]
    if -(-hs // 4) * -(-ws // 4) < 2:
        # SuperAE's bottleneck is 1/4 of the size; batch normalisation in training mode needs 2 values
        raise ValueError(
            f"dsc needs an image of at least 5 pixels along its longer side (the network works on {hs}x{ws}"
            + (f" with max_side={max_side}" if max_side else "") + "); use a larger image"
            + (" or a larger max_side" if max_side else ""))
    # superpixels present at the working resolution form the graph (all of them at full size)
    present, work_idx = np.unique(work, return_inverse=True)
    mw = present.size
    sp = torch.from_numpy(work_idx.ravel().astype(np.int64)).to(device)
    centers = torch.from_numpy(centers_all[present]).float().to(device)
    k = int(n_classes)
    beta = float(beta_scale) / (mw**2 if cut == "cut" else k)
    cut_loss = soft_cut_loss if cut == "cut" else soft_ncut_loss
    history = []
    logits = None
    for t in range(int(n_iter)):
        if progress is not None and hasattr(progress, "check"):
            progress.check()
        logits = head(net, x)
        f = logits.reshape(k, -1).T  # (N, K)
        p = torch.softmax(f, dim=1)
        if not bool(torch.isfinite(f.detach()).all()):  # diverged: the loss of this iteration is not finite
            check_finite_loss(float("nan"), "dsc", t + 1, "lower lr or momentum")
        target, sp_lab = pseudo_labels(f.detach(), sp, mw)
        n_labels = int(torch.unique(sp_lab).numel())
        if min_labels and n_labels <= int(min_labels):
            # Kanezaki's stop rule; these pseudo labels (Y~ of this iteration) are the output
            break
        l1 = F.cross_entropy(f, target)
        with torch.no_grad():
            g = superpixel_pool(f, sp, mw)
            wmat = similarity_matrix(g, centers, sigma, d)
        q = superpixel_pool(p, sp, mw)
        l2 = cut_loss(q, wmat)
        loss = float(alpha) * l1 + beta * l2
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        history.append(float(loss.detach()))
        check_finite_loss(history[-1], "dsc", t + 1, "lower lr or momentum")
        if progress is not None:
            progress(t + 1, int(n_iter), "iterate", loss=history[-1], n_labels=n_labels,
                     **({"may_stop_early": True} if min_labels > 0 else {}))
    # Y~ of the last iteration (Eq. 4); with max_side the vote is taken at full size over the
    # upsampled logits so that superpixels too small to appear at the working size get a class too
    with torch.no_grad():
        lg = logits.detach()
        if lg.shape[-2:] != (h, w):
            lg = F.interpolate(lg[None], size=(h, w), mode="bilinear", align_corners=False)[0]
        _, sp_lab = pseudo_labels(lg.reshape(k, -1).T,
                                  torch.from_numpy(sp_np.ravel().astype(np.int64)).to(lg.device), m)
    labels = sp_lab.cpu().numpy()[sp_np] + 1
    return labels.astype(np.int32), history


# ----------------------------------------------------------------------------- runners
def _sp_from_params(image, params, seed, device, progress):
    return superae_superpixels(image, checkpoint=params.checkpoint, superpixel_method=params.superpixel_method,
                               superpixel_params=params.superpixel_params, device=device, seed=seed,
                               progress=progress,
                               superpixels_on=getattr(params, "superpixels_on", "reconstruction"))


def run_superae(image, *, params: SuperAEParams, seed=0, device="cpu", progress=None) -> Result:
    """Registry runner ``superae``: SuperAE reconstruction -> superpixels.

    ``image`` is ``(Y, X, C)`` float32 in [0, 1] with C = 1 or 3. Returns the
    superpixels (``connected=True``) and ``extras["reconstruction"]``, the
    smoothed image.

    References
    ----------
    .. [1] Lin et al., ICPR 2020, Alg. 1.
    """
    if progress is not None:
        progress(0, 1, "reconstruct")
    labels, rec = _sp_from_params(image, params, seed, device, progress)
    if progress is not None:
        progress(1, 1, "superpixels", n_labels=int(labels.max()))
    # the superpixel method's labels are already connected
    return Result(labels, {"reconstruction": rec}, connected=True)


def run_dsc(image, *, params: DscParams, seed=0, device="cpu", progress=None) -> Result:
    """Registry runner ``dsc``: Deep Superpixel Cut (Alg. 2) on SuperAE superpixels.

    Parameters
    ----------
    image : numpy.ndarray
        ``(Y, X, C)`` float32 in [0, 1], C = 1 or 3.
    params : DscParams
    seed : int
        Seeds the 1x1 projection (reproducible on the same machine, device and torch thread count).
    device : torch.device
    progress : callable, optional
        One call per iteration (stage ``"iterate"``, info ``loss``, ``n_labels``).

    Returns
    -------
    Result
        Labels (one class per superpixel; split into connected regions by
        :func:`~napari_deepsuperpixel.segment`), extras ``loss_history``,
        ``superpixels``, ``reconstruction``.

    References
    ----------
    .. [1] Lin et al., ICPR 2020, Alg. 2, Eq. 4-9.
    """
    p = resolve_preset(params, DSC_PRESETS, "dsc", device)
    if not p.superpixel_params.strip():  # record the settings the empty default stands for
        p = dataclasses.replace(p, superpixel_params=default_superpixel_params(p.superpixel_method,
                                                                               p.superpixels_on))
    sp, rec = _sp_from_params(image, p, seed, device, progress)
    model = load_superae(p.checkpoint)
    labels, hist = deep_superpixel_cut(
        image, sp, model, n_classes=p.n_classes, n_iter=p.max_iter, lr=p.lr,
        momentum=p.momentum, sigma=p.sigma, alpha=p.alpha, beta_scale=p.beta_scale,
        d_factor=p.d_factor, max_side=p.max_side, logit_bn=p.logit_bn, cut=p.cut, min_labels=p.min_labels,
        seed=seed, device=device, progress=progress)
    return Result(labels, {"loss_history": hist, "superpixels": sp, "reconstruction": rec, "preset": p.preset,
                           "resolved_params": dataclasses.asdict(p)})

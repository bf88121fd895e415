"""Training of the Superpixel Embedding Network (Gaur & Manjunath, TIP 2020, Sec. III-VI).

Pseudo ground truth (``pseudo="snic_image"``, the default, as the paper):
before training, SNIC segments every whole training image once at several
superpixel counts and compactness values (the paper's "superpixel
segmentations at multiple scale and compactness values" of "the fast SNIC
method"); the label maps are kept in memory (compressed) and, with
``pseudo_cache``, in a folder so that a later run or a resumed run does not
compute them again. Every step then draws ``batch_size`` random crops
(``crop x crop``, random horizontal flip) and for each crop one of its image's
label maps, cut to the crop; the variable margin uses the mean colour of the
whole superpixel. ``pseudo="crop_mixed"`` is the earlier recipe: SLIC or SNIC
computed on each crop at every step. The step adds
normal noise to the network input, and minimises the variable-margin loss
(Eq. 4) on the U-Net embeddings and after every GBMS iteration (Sec. IV:
"we accumulate the superpixel embedding loss for the original (unclustered)
superpixel embeddings, as well as ... over all iterations"; we average the
``T + 1`` terms so the loss scale does not depend on ``T``).

Choices (the paper gives none of these values)
----------------------------------------------
* ``snic_image``: SNIC on CIELAB at ``K`` = 50, 100, 200, 400 and 800
  superpixels per whole image (the counts the paper evaluates) and
  compactness 5 and 20: 10 maps per image. Fewer, larger superpixels than the
  earlier 64-1024 pixels per superpixel: on 5 BSDS500 val images the share of
  pseudo-label boundary pairs that are annotated boundaries is 0.035 at
  K = 50 against 0.011 at K = 1600 (docs/methods/sen.md);
* ``crop_mixed`` (earlier recipe): superpixel sizes drawn from 64, 128, 256,
  512 and 1024 pixels on the crop; SLIC or SNIC with equal probability,
  compactness from 5, 10, 20, 40;
* the margin's dead zone (``dead_zone``, Lab units, see
  :mod:`..nn.sen_loss`), default 10: after the same 80 steps from the shipped
  weights, the U-Net's neighbour-distance AUC of annotated boundaries on 5 val
  images is 0.883 with it and 0.867 without (raw CIELAB 0.884); 256 x 256
  crops, 2 per step (default; the earlier 96 x 96, 4 per step) add recall at
  K = 50. A fixed GBMS bandwidth (``learn_kappa=False``) is switchable. All
  measurements, and a longer run that stays inside the noise of the shipped
  weights on val: docs/methods/sen.md, "Training recipe";
* ``init``: start from the weights of a SEN checkpoint (fine-tuning; the
  same network settings);
* input noise ``N(0, 0.02^2)`` on [0, 1] RGB; Adam, learning rate 1e-3;
* every pixel is used (the paper's 50 % pixel sampling is a speed trick);
* 128 random GBMS anchors per crop during training (see :mod:`..nn.gbms`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .._types import check_seed, param
from ..datasets.bsds import find_bsds500
from ..io.files import IMAGE_SUFFIXES
from . import build_train_params, declare_trainer, precision_param
from .sen_labels import (  # noqa: F401  (pseudo_labels, PseudoLabelCache: part of this module's API)
    NOISE_STD,
    SLIC_COMPACTNESS,
    SNIC_COMPACTNESS,
    SP_SIZES,
    PseudoLabelCache,
    _int_list,
    _load_rgb_uint8,
    _make_batch,
    _make_cached_batch,
    pseudo_labels,
)

__all__ = ["SENTrainParams", "train_sen", "export_sen_weights", "find_training_images", "pseudo_labels",
           "PseudoLabelCache", "DEFAULTS"]


@dataclass
class SENTrainParams:
    """Hyperparameters of SEN training (the recipe's defaults; each shipped file stores its own settings).

    ``deepsuperpixel train sen -p key=value``, the keyword arguments of
    :func:`train_sen` and the napari training dock's panel are all this class.
    """

    epochs: int = param(40, "Training length in epochs (one epoch = steps_per_epoch mini-batches)", min=1)
    steps_per_epoch: int = param(20, "Mini-batches per epoch", min=1)
    batch_size: int = param(2, "Crops per mini-batch", min=1)
    crop: int = param(256, "Crop size in pixels (crops are square; an image smaller than this is "
                           "reflection-padded)", min=16)
    lr: float = param(1e-3, "Adam learning rate", min=0.0, min_exclusive=True)
    checkpoint_every: int = param(1, "Epochs between checkpoints", min=1, advanced=True)
    max_images: Optional[int] = param(None, "Use only the first this many images (quick runs, tests)", min=1)
    gbms_iter: int = param(3, "GBMS iterations of the network (SENNet)", min=0, advanced=True)
    base_channels: int = param(16, "U-Net channels of the first level (SENNet)", min=1, advanced=True)
    max_channels: int = param(128, "U-Net channels of the deepest levels (SENNet)", min=1, advanced=True)
    pseudo: str = param("snic_image", "Pseudo labels: 'snic_image' (SNIC on each whole image at several counts "
                                      "and compactness values, computed once, as the paper) or 'crop_mixed' (SLIC "
                                      "or SNIC on every crop at every step, the earlier recipe)",
                        choices=("snic_image", "crop_mixed"), advanced=True)
    pseudo_counts: str = param("50,100,200,400,800", "Superpixel counts per whole image of the cached SNIC "
                                                     "pseudo labels (comma-separated)", advanced=True)
    pseudo_compactness: str = param("5,20", "SNIC compactness values (CIELAB) of the cached pseudo labels "
                                            "(comma-separated)", advanced=True)
    pseudo_cache: str = param("", "Folder keeping the cached pseudo labels between runs ('' = memory only)",
                              advanced=True)
    alpha: float = param(0.05, "Loss margin alpha of Eq. 4 (variable_margin_loss)", min=0.0, advanced=True)
    beta: float = param(1.0, "Loss margin beta of Eq. 4 (variable_margin_loss)", min=0.0, advanced=True)
    beta_scale: float = param(40.0, "Colour scale of the variable beta margin (variable_margin_loss)", min=0.0,
                              advanced=True)
    dead_zone: float = param(10.0, "Lab distance below which superpixel pairs get no push apart: beta_ij = "
                                  "min(beta, max(0, dLab - dead_zone) / beta_scale); 0 = the paper's Eq. 3",
                             min=0.0, advanced=True)
    kappa: float = param(10.0, "Initial GBMS bandwidth kappa (SENNet)", min=0.0, min_exclusive=True, advanced=True)
    learn_kappa: bool = param(True, "Learn the GBMS bandwidth (off: kappa stays fixed)", advanced=True)
    init: str = param("", "Start from the weights of this SEN checkpoint or shipped set ('bsds'): fine-tuning; "
                          "the network settings must match", advanced=True)
    train_anchors: int = param(128, "Random GBMS anchor pixels per crop during training (inference uses the "
                                    "model's grid anchors); 128 keeps a CPU step cheap", min=1, advanced=True)
    precision: str = precision_param("fp32", "Arithmetic of the U-Net's forward pass (bf16: bfloat16 autocast; "
                                             "auto: bf16 where the device has it); fp32 by default, bf16 measured "
                                             "0.90x on a 2-core CPU (docs/training.md)")
    prefetch: bool = param(False, "Make the next mini-batch in a background thread while a step runs (the same "
                                  "batches); off by default: measured 0.91x on 2 cores", advanced=True)


#: default training settings (the recipe screened on val, docs/methods/sen.md; a shipped file's own settings
#: are in its checkpoint)
DEFAULTS = asdict(SENTrainParams())

def find_training_images(data, split: Sequence[str] | str = ("train", "val")) -> list[Path]:
    """List the training images.

    Parameters
    ----------
    data : str or Path
        ``"bsds"`` (the BSDS500 folder found through the environment
        variable ``NDS_BSDS500`` or a ``shared/BSDS500`` next to the
        package source), a BSDS500-like folder (with
        ``data/images/<split>`` or ``images/<split>`` or ``<split>``
        sub-folders), or a plain folder of images (``split`` ignored).
    split : str or sequence of str
        Splits to use, e.g. ``"train,val"``.

    Returns
    -------
    list of pathlib.Path
        Sorted image files.

    Raises
    ------
    ValueError
        No folder, no split folder, or no images found.
    """
    if isinstance(split, str):
        split = [s.strip() for s in split.split(",") if s.strip()]
    if not split:
        raise ValueError("split must name at least one split, e.g. 'train,val'")
    root = find_bsds500() if str(data).lower() == "bsds" else Path(data)
    if not root.is_dir():
        raise ValueError(f"training data folder {root} does not exist; give a folder of images or 'bsds'")
    files: list[Path] = []
    for base in (root / "data" / "images", root / "images", root):
        if all((base / s).is_dir() for s in split):
            for s in split:
                files += [p for p in (base / s).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
            break
    else:
        if any((root / s).is_dir() or (root / "data" / "images" / s).is_dir() for s in split):
            raise ValueError(f"not every split of {list(split)} exists under {root}")
        files = [p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
    files = sorted(files)
    if not files:
        raise ValueError(f"no training images ({', '.join(IMAGE_SUFFIXES)}) found in {root} for split {list(split)}")
    return files


def sen_step_loss(model, x, labels, lab=None, *, generator=None, loss_kwargs: Optional[dict] = None,
                  n_anchors: Optional[int] = None, autocast=None, sp_colors=None):
    """Loss of one mini-batch: Eq. 4 averaged over the U-Net output and every GBMS iteration.

    Parameters
    ----------
    model : napari_deepsuperpixel.nn.unet.SENNet
        The network.
    x : torch.Tensor
        ``(B, 3, H, W)`` input.
    labels : torch.Tensor
        ``(B, H, W)`` pseudo labels.
    lab : torch.Tensor, optional
        ``(B, 3, H, W)`` CIELAB colours of the (noise-free) crops (averaged
        per superpixel here); not needed with ``sp_colors``.
    sp_colors : torch.Tensor, optional
        ``(B, 3, H, W)`` each pixel's superpixel mean CIELAB colour, given
        directly (the cached whole-image pseudo labels carry it).
    generator : torch.Generator, optional
        Draws the GBMS anchors.
    loss_kwargs : dict, optional
        Passed to :func:`~napari_deepsuperpixel.nn.sen_loss.variable_margin_loss`.
    n_anchors : int, optional
        GBMS anchors per crop (default: the model's).
    autocast : context manager factory, optional
        Wraps the U-Net's forward pass (e.g. ``StepContext.autocast`` for
        bf16); its embedding is re-normalised in fp32, and the GBMS
        iterations and the loss always run in fp32 (the vMF kernel
        ``exp(kappa (x.y - 1))`` needs more than bf16's 8 mantissa bits).

    Returns
    -------
    loss : torch.Tensor
        Scalar.
    info : dict
        ``loss_unet`` (the term of the U-Net output), ``loss_last`` (after
        the last iteration) and ``kappa``.
    """
    import contextlib

    from ..nn.blocks import l2_normalize
    from ..nn.sen_loss import superpixel_mean_colors, variable_margin_loss

    if sp_colors is None and lab is None:
        raise ValueError("sen_step_loss needs lab (crop colours) or sp_colors (superpixel mean colours)")
    sp = sp_colors if sp_colors is not None else superpixel_mean_colors(labels, lab)
    with (autocast() if autocast is not None else contextlib.nullcontext()):
        e0 = model.unet(x)
    e0 = l2_normalize(e0.float(), dim=1)
    outs = [e0]
    if model.gbms.n_iter > 0:
        outs += model.gbms(e0, generator=generator, n_anchors=n_anchors)
    terms = variable_margin_loss(outs, labels, sp, **(loss_kwargs or {}))  # (T + 1,), pairs computed once
    loss = terms.mean()
    return loss, {"loss_unet": float(terms[0].detach()), "loss_last": float(terms[-1].detach()),
                  "kappa": float(model.gbms.kappa.detach())}


@declare_trainer(SENTrainParams)
def train_sen(data="bsds", *, out=None, split="train,val", seed: int = 0, device="auto", resume=False,
              overwrite: bool = False, progress=None, cancel_check=None, output=None, **hyperparameters):
    """Train SEN on a folder of images and write a checkpoint.

    Parameters
    ----------
    data : str or Path
        ``"bsds"`` or a folder (see :func:`find_training_images`).
    out : str or Path
        Checkpoint file; written every ``checkpoint_every`` epochs and at the
        end, atomically. An existing file is only replaced with
        ``overwrite=True`` (or continued with ``resume=True``).
    split : str or sequence of str
        Splits to train on (the shipped weights use ``"train,val"``).
    seed : int
        Seed of crops, flips, pseudo labels, noise, anchors and initial weights.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"``.
    resume : bool or path
        Continue from ``out`` (True) or from another checkpoint.
    overwrite : bool
        Replace an existing ``out``.
    progress : callable, optional
        Receives :class:`~napari_deepsuperpixel.ProgressEvent`; may raise
        :class:`~napari_deepsuperpixel.Cancelled`.
    cancel_check : callable, optional
        Returns True to cancel.
    output : str or Path, optional
        Deprecated name of ``out``.
    **hyperparameters
        The fields of :class:`SENTrainParams` (``epochs``, ``steps_per_epoch``,
        ``batch_size``, ``crop``, ``lr``, ``gbms_iter``, ``precision``, ...),
        checked before any image is loaded.

    Returns
    -------
    napari_deepsuperpixel.training.loop.TrainResult
        ``path`` is the checkpoint written (``method="sen"``), loadable with
        ``checkpoint=`` in the ``sen`` and ``sen_contours`` methods.

    Raises
    ------
    FileExistsError
        ``out`` exists and neither ``overwrite`` nor ``resume``.
    ValueError
        A bad hyperparameter, no images, or a resume checkpoint with other settings.

    References
    ----------
    .. [1] U. Gaur and B. S. Manjunath, "Superpixel Embedding Network",
       IEEE TIP 29, 2020.
    """
    import torch

    from ..nn.optim import seed_everything
    from ..nn.unet import SENNet
    from .loop import train_loop

    if output is not None:  # the name before 0.2
        import warnings

        warnings.warn("train_sen(output=...) is deprecated; use out=", DeprecationWarning, stacklevel=2)
        out = output if out is None else out
    if out is None:
        raise ValueError("train_sen needs out= (the checkpoint file to write)")
    output = Path(out)
    seed = check_seed(seed)
    p = build_train_params(SENTrainParams, "sen", data, hyperparameters)
    if output.exists() and not overwrite and resume is False:
        from ..errors import OutputExistsError
        from .loop import CHECKPOINT_REMEDIES

        raise OutputExistsError([output], what="checkpoint", remedies=CHECKPOINT_REMEDIES)
    counts = _int_list(p.pseudo_counts, "pseudo_counts")
    compactness = _int_list(p.pseudo_compactness, "pseudo_compactness", float)
    files = find_training_images(data, split)
    if p.max_images is not None:
        files = files[: p.max_images]
    images = [_load_rgb_uint8(f) for f in files]

    seed_everything(seed)
    model = SENNet(base_channels=p.base_channels, max_channels=p.max_channels, gbms_iter=p.gbms_iter,
                   kappa=p.kappa)
    if p.init:
        from ..methods.sen import load_sen

        src = load_sen(p.init)
        same = {k: v for k, v in src.hyperparameters().items() if k != "kappa"}
        if same != {k: v for k, v in model.hyperparameters().items() if k != "kappa"}:
            raise ValueError(f"init={p.init!r} has network settings {src.hyperparameters()}, not "
                             f"{model.hyperparameters()}; train with the same base_channels, max_channels, gbms_iter")
        model.load_state_dict({k: v.float() for k, v in src.state_dict().items()})
        if not p.learn_kappa:
            with torch.no_grad():
                model.gbms.log_kappa.fill_(float(np.log(p.kappa)))
    if not p.learn_kappa:
        model.gbms.log_kappa.requires_grad_(False)
    opt = torch.optim.Adam([q for q in model.parameters() if q.requires_grad], lr=p.lr)
    loss_kwargs = dict(alpha=p.alpha, beta=p.beta, beta_scale=p.beta_scale)
    if p.dead_zone:
        loss_kwargs["dead_zone"] = p.dead_zone
    hp = {
        "model": model.hyperparameters(),
        "loss": loss_kwargs,
        "batch_size": p.batch_size,
        "crop": p.crop,
        "lr": p.lr,
        "train_anchors": p.train_anchors,
        "data": str(data),
        "split": split if isinstance(split, str) else ",".join(split),
        "n_images": len(images),
        "pseudo_labels": ({"method": "snic_image", "counts": counts, "snic_compactness": compactness}
                          if p.pseudo == "snic_image" else
                          {"sizes": list(SP_SIZES), "slic_compactness": list(SLIC_COMPACTNESS),
                           "snic_compactness": list(SNIC_COMPACTNESS)}),
        "noise_std": NOISE_STD,
    }
    # settings added with the recipe changes are recorded only when they differ from the earlier recipe, so a
    # checkpoint of the earlier recipe can still be resumed with the same settings
    if not p.learn_kappa:
        hp["learn_kappa"] = False
    if p.init:
        hp["init"] = p.init

    if p.pseudo == "snic_image":
        from .._types import ProgressEvent

        def report(done, total):
            if progress is not None:
                progress(ProgressEvent(done, total, "pseudo_labels", {}))
            if cancel_check is not None and cancel_check():
                from .._types import Cancelled

                raise Cancelled("cancelled while computing pseudo labels")

        cache = PseudoLabelCache(images, [f.stem for f in files], counts, compactness, p.pseudo_cache or None,
                                 progress=report)

        def batch(ctx):
            x, labels, sp, anchor_seed = _make_cached_batch(images, cache, ctx.rng, p.batch_size, p.crop)
            return x, labels, None, sp, anchor_seed
    else:
        def batch(ctx):
            x, labels, lab, anchor_seed = _make_batch(images, ctx.rng, p.batch_size, p.crop)
            return x, labels, lab, None, anchor_seed

    def step(ctx, b):
        x, labels, lab, sp, anchor_seed = b
        x = x.to(ctx.device).contiguous(memory_format=torch.channels_last)
        gen = torch.Generator().manual_seed(anchor_seed)
        return sen_step_loss(model, x, labels.to(ctx.device), None if lab is None else lab.to(ctx.device),
                             sp_colors=None if sp is None else sp.to(ctx.device), generator=gen,
                             loss_kwargs=loss_kwargs, n_anchors=p.train_anchors, autocast=ctx.autocast)

    model.to(memory_format=torch.channels_last)
    return train_loop(model, opt, step, epochs=p.epochs, steps_per_epoch=p.steps_per_epoch, method="sen",
                      hyperparameters=hp, out=output, checkpoint_every=p.checkpoint_every, resume=resume,
                      overwrite=overwrite, seed=seed, device=device, progress=progress,
                      cancel_check=cancel_check, precision=p.precision, batch_fn=batch, prefetch=p.prefetch)


def export_sen_weights(src, dst, *, half: bool = True, overwrite: bool = False) -> Path:
    """Write a small inference-only copy of a SEN training checkpoint.

    The optimizer state is dropped (the epoch count and loss history are
    kept for provenance) and, with ``half``, floating-point weights are
    stored as float16, halving the file (the ``sen`` methods convert them
    back to float32 when loading). This is how the shipped
    ``weights/sen_bsds.pt`` is made.

    Parameters
    ----------
    src : str or Path
        A ``sen`` checkpoint written by :func:`train_sen`.
    dst : str or Path
        Destination file.
    half : bool
        Store floating-point tensors as float16.
    overwrite : bool
        Replace an existing ``dst``.

    Returns
    -------
    pathlib.Path
        ``dst``.

    Raises
    ------
    FileExistsError
        ``dst`` exists and ``overwrite`` is False.
    """
    from ..nn.checkpoint import export_weights

    return export_weights(src, dst, method="sen", overwrite=overwrite, half=bool(half))

"""Train SuperAE (Deep Superpixel Cut, Alg. 1) on BSDS500 or a folder of images.

Python::

    from napari_deepsuperpixel.training.superae import train_superae
    train_superae("bsds", out="superae.pt", split=("train", "val"), epochs=100)

Command line::

    deepsuperpixel train superae --data bsds --split train,val -o superae.pt

Templates (the ``t`` of Eq. 1) are over-segmentations of every training
image, made once before training:

* ``"ucm2:LEVEL"`` (default ``"ucm2:0.05"``, BSDS500 only): the gPb-owt-ucm
  hierarchy of ``BSDS500/ucm2/<split>/<id>.mat`` thresholded at ``LEVEL``
  (regions of ``ucm2 <= LEVEL``, 4-connected, read at the odd pixel
  positions as the BSDS tools do). 0.05 gives a median of ~300 regions per
  image on BSDS500 train (0.02: ~1100, 0.1: ~50, 0.2: ~10), i.e. an
  over-segmentation that keeps nearly all object boundaries, which is what
  the paper asks of a template; the paper does not state its level.
* ``"METHOD"`` or ``"METHOD:key=value,key=value"``: any registered method,
  e.g. ``"felzenszwalb:scale=100"`` or ``"slic:n_segments=300"`` (works for
  any image folder).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .._types import ProgressCallback, check_seed, param
from ..datasets.bsds import find_bsds500
from ..io.files import IMAGE_SUFFIXES
from . import build_train_params, declare_trainer, precision_param

__all__ = ["SuperAETrainParams", "load_training_images", "make_templates", "train_superae", "check_template",
           "DEFAULTS"]

#: usual templates (the dock offers them in a dropdown; any registered method is valid):
#: ``ucm2:<level>`` needs BSDS500's ucm2 files, the others work on any image folder
TEMPLATE_OPTIONS = ("ucm2:0.05", "felzenszwalb", "slic", "snic", "watershed")


@dataclass
class SuperAETrainParams:
    """Hyperparameters of SuperAE training.

    The defaults are the paper's (Lin et al., ICPR 2020, Sec. IV-B: 100
    epochs, batches of 10 crops of 300 x 300, Adam at 1e-3, lambda 1); the
    template level is this package's choice (see the module docstring).
    The keyword arguments of :func:`train_superae`, ``deepsuperpixel train
    superae -p key=value`` and the napari training dock's panel are this class.
    """

    epochs: int = param(100, "Training length in epochs (each visits every image once); paper: 100", min=1)
    batch_size: int = param(10, "Images per mini-batch; paper: 10", min=1)
    crop: int = param(300, "Random crop size in pixels (clipped to the image, multiples of 4); paper: 300", min=8)
    lr: float = param(1e-3, "Adam learning rate; paper: 1e-3", min=0.0, min_exclusive=True)
    lam: float = param(1.0, "Weight lambda of the template term of Eq. 1; paper: 1", min=0.0)
    template: str = param("ucm2:0.05", "Over-segmentation template of every image: 'ucm2:LEVEL' (BSDS500 only) "
                                       "or 'METHOD' / 'METHOD:key=value,key=value' of a registered method",
                          options=TEMPLATE_OPTIONS)
    max_images: Optional[int] = param(None, "Use only the first this many images (quick runs, tests)", min=1)
    checkpoint_every: int = param(1, "Epochs between checkpoints", min=1, advanced=True)
    precision: str = precision_param("auto", "Arithmetic of the autoencoder's forward pass: auto is bf16 "
                                             "autocast on a GPU with bf16 or a CPU with AVX-512 BF16/AMX, else "
                                             "fp32; the loss and weights stay fp32 (measured 2.5x faster per step "
                                             "on a 2-core CPU, docs/training.md)")
    prefetch: bool = param(False, "Make the next mini-batch in a background thread while a step runs (cheap "
                                  "crops of preloaded images: off by default)", advanced=True)

    def __post_init__(self):
        check_template(self.template)

    def check(self, data) -> None:
        """Refuse a ``ucm2`` template for training data that is not BSDS500 (before any image is read)."""
        if _parse_template(self.template)[0] == "ucm2" and not _is_bsds(data):
            raise ValueError(f"template {self.template!r} needs BSDS500's ucm2 files and {data} is not a BSDS500 "
                             "folder: choose another 'template', e.g. felzenszwalb")


def _is_bsds(data) -> bool:
    return str(data).lower() == "bsds" or (Path(data) / "data" / "images").is_dir()


def _read_rgb(path: Path) -> np.ndarray:
    from ..io.files import read_image
    from ..io.prepare import prepare_image

    img = read_image(path)
    prep = prepare_image(img)
    if prep.is_stack:
        raise ValueError(f"{path} is a stack; SuperAE trains on 2D RGB or grayscale images")
    x = prep.slice(0)
    if x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    if x.shape[-1] != 3:
        raise ValueError(f"{path} has {x.shape[-1]} channels; SuperAE trains on RGB or grayscale images")
    return (np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)


def load_training_images(data="bsds", split: Sequence[str] = ("train", "val"), max_images: Optional[int] = None):
    """List ``(name, rgb_uint8, ucm2_path_or_None)`` for training.

    Parameters
    ----------
    data : str or Path
        ``"bsds"``, a BSDS500 folder, or any folder of images (png/jpg/tif).
    split : sequence of str
        BSDS500 splits to use (ignored for a plain image folder).
    max_images : int, optional
        Use only the first ``max_images`` images (sorted by name).

    Returns
    -------
    list of tuple
    """
    items = []
    if _is_bsds(data):
        root = find_bsds500(data)
        for s in split:
            folder = root / "data" / "images" / s
            if not folder.is_dir():
                raise ValueError(f"unknown BSDS500 split {s!r}: {folder} does not exist "
                                 "(valid: train, val, test)")
            for p in sorted(folder.glob("*.jpg")):
                ucm = root / "ucm2" / s / f"{p.stem}.mat"
                items.append((p.stem, p, ucm if ucm.is_file() else None))
    else:
        folder = Path(data)
        if not folder.is_dir():
            raise FileNotFoundError(f"training data folder {folder} does not exist")
        for p in sorted(folder.iterdir()):
            if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."):
                items.append((p.stem, p, None))
    if not items:
        raise ValueError(f"no training images found in {data} (splits {list(split)})")
    if max_images is not None:
        items = items[: int(max_images)]
    return [(name, _read_rgb(p), ucm) for name, p, ucm in items]


def _parse_template(spec: str):
    name, _, rest = str(spec).partition(":")
    name = name.strip().lower()
    if name == "ucm2":
        try:
            level = float(rest) if rest else 0.05
        except ValueError:
            raise ValueError(f"template {spec!r}: the ucm2 level must be a number, e.g. 'ucm2:0.05'") from None
        return "ucm2", level
    from ..keyvalues import parse_key_values

    params = parse_key_values(rest, "template") if rest else {}
    return name, params


def check_template(spec: str) -> None:
    """Check a template string before any work: a ``ucm2`` level, or a method and its parameters.

    Parameters
    ----------
    spec : str
        ``"ucm2:LEVEL"`` or ``"METHOD[:key=value,...]"`` (see the module docstring).

    Raises
    ------
    ValueError
        In one line: a ucm2 level that is not a number in [0, 1], an unknown
        method, or a parameter that method refuses (the same rules as
        ``nds.segment(image, METHOD, key=value)``).
    """
    import math

    from .._types import build_params
    from ..methods import get_method

    kind, arg = _parse_template(spec)
    if kind == "ucm2":
        if not (math.isfinite(arg) and 0.0 <= arg <= 1.0):
            raise ValueError(f"template {spec!r}: the ucm2 level must be in [0, 1], e.g. 'ucm2:0.05'")
        return
    try:
        info = get_method(kind)
        build_params(info.params_cls, info.name, arg)
    except ValueError as e:
        raise ValueError(f"template {spec!r}: {e}") from None


#: the paper's training settings (Sec. IV-B)
DEFAULTS = asdict(SuperAETrainParams())


def make_templates(images, template: str = "ucm2:0.05") -> list:
    """Over-segmentation templates for the training images (see the module docstring).

    Parameters
    ----------
    images : list of (name, rgb_uint8, ucm2_path_or_None)
        As returned by :func:`load_training_images`.
    template : str
        ``"ucm2:LEVEL"`` or ``"METHOD[:k=v,...]"``.

    Returns
    -------
    list of numpy.ndarray
        ``uint16``/``int32`` label images, one per training image.
    """
    kind, arg = _parse_template(template)
    out = []
    if kind == "ucm2":
        from skimage.measure import label

        from ..io.bsds_mat import read_ucm2

        for name, rgb, ucm in images:
            if ucm is None:
                raise ValueError(
                    f"template {template!r} needs BSDS500 ucm2 files, none found for image {name!r}; "
                    "use a registry method instead, e.g. template='felzenszwalb'"
                )
            u = read_ucm2(ucm)
            lab = label(u <= arg, connectivity=1)[1::2, 1::2]
            if lab.shape != rgb.shape[:2]:
                raise ValueError(f"ucm2 of {name!r} has shape {lab.shape}, image {rgb.shape[:2]}")
            out.append(lab.astype(np.int32))
        return out
    from ..io.prepare import prepare_image
    from ..methods.compose import run_method

    for _name, rgb, _ in images:
        prep = prepare_image(rgb)
        out.append(run_method(prep.slice(0), kind, arg, rgb=prep.rgb, device="cpu").labels.astype(np.int32))
    return out


def _batch(images, templates, idx, crop, rng):
    xs, ts = [], []
    for i in idx:
        img, tpl = images[i], templates[i]
        h, w = img.shape[:2]
        ch, cw = min(crop, h - h % 4), min(crop, w - w % 4)
        y0 = int(rng.integers(0, h - ch + 1))
        x0 = int(rng.integers(0, w - cw + 1))
        a = img[y0:y0 + ch, x0:x0 + cw]
        t = tpl[y0:y0 + ch, x0:x0 + cw]
        if rng.random() < 0.5:
            a, t = a[:, ::-1], t[:, ::-1]
        xs.append(a)
        ts.append(t)
    h = min(a.shape[0] for a in xs)
    w = min(a.shape[1] for a in xs)
    x = np.stack([a[:h, :w] for a in xs]).astype(np.float32) / 255.0
    t = np.stack([b[:h, :w] for b in ts]).astype(np.int64)
    return x, t


@declare_trainer(SuperAETrainParams)
def train_superae(data="bsds", *, out=None, split: Sequence[str] = ("train", "val"), seed: int = 0, device="auto",
                  resume=False, overwrite: bool = False, progress: Optional[ProgressCallback] = None,
                  cancel_check=None, **hyperparameters):
    """Train SuperAE with Eq. 1 (Alg. 1 of Lin et al.) and write a checkpoint.

    Each epoch visits every training image once in a random order, in
    mini-batches of ``batch_size``; each image gives a random ``crop x crop``
    patch (clipped to the image, multiples of 4) flipped horizontally with
    probability 1/2, and its template is cropped/flipped alike. Adam.

    Parameters
    ----------
    data : str or Path
        ``"bsds"`` (the shared BSDS500), a BSDS500 folder, or an image folder.
    out : str or Path, optional
        Checkpoint file (written after every ``checkpoint_every`` epochs).
    split : sequence of str
        BSDS500 splits (paper: the whole dataset; the shipped weights use
        train + val so that test stays unseen).
    seed : int
        Seeds the weights and every crop/flip (see :mod:`.loop`).
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"``.
    resume : bool or path
        Continue a previous run (same settings; ``epochs`` may grow).
    overwrite : bool
        Replace an existing ``out``.
    progress, cancel_check : callable, optional
        See :func:`napari_deepsuperpixel.training.loop.train_loop`.
    **hyperparameters
        The fields of :class:`SuperAETrainParams` (``epochs``, ``batch_size``,
        ``crop``, ``lr``, ``lam``, ``template``, ``precision``, ...), checked
        (the template's method and its parameters too) before any image is loaded.

    Returns
    -------
    napari_deepsuperpixel.training.loop.TrainResult

    References
    ----------
    .. [1] Q. Lin, W. Zhong, J. Lu, "Deep Superpixel Cut for Unsupervised Image
       Segmentation", ICPR 2020, Alg. 1 and Sec. IV-B.
    """
    import torch

    from ..nn.optim import seed_everything
    from ..nn.superae import SuperAE, superae_loss
    from .loop import train_loop

    seed = check_seed(seed)
    p = build_train_params(SuperAETrainParams, "superae", data, hyperparameters)
    if out is not None:  # refuse before the (slow) data loading
        outp = Path(out)
        if outp.exists() and not overwrite and resume is not True and Path(str(resume)) != outp:
            from ..errors import OutputExistsError
            from .loop import CHECKPOINT_REMEDIES

            raise OutputExistsError([outp], what="checkpoint", remedies=CHECKPOINT_REMEDIES)
    split = [s.strip() for s in (split.split(",") if isinstance(split, str) else split) if s.strip()]
    images = load_training_images(data, split, p.max_images)
    templates = make_templates(images, p.template)
    rgbs = [im for _, im, _ in images]
    n = len(rgbs)
    bs = min(p.batch_size, n)
    steps = -(-n // bs)

    seed_everything(seed)
    model = SuperAE()
    opt = torch.optim.Adam(model.parameters(), lr=p.lr)
    model.to(memory_format=torch.channels_last)
    order: dict = {}

    def batch(ctx):
        if ctx.epoch not in order:
            order.clear()
            order[ctx.epoch] = ctx.rng.permutation(n)
        idx = order[ctx.epoch][ctx.step * bs:(ctx.step + 1) * bs]
        return _batch(rgbs, templates, idx, p.crop, ctx.rng)

    def step(ctx, b):
        x, t = b
        # (B, H, W, C) numpy -> an NCHW tensor in the channels-last layout (no copy), which oneDNN runs fastest
        x = torch.from_numpy(x).permute(0, 3, 1, 2).to(ctx.device)
        t = torch.from_numpy(t).to(ctx.device)
        with ctx.autocast():
            recon = model(x)
        return superae_loss(x, recon.float(), t, lam=p.lam)

    hp = dict(architecture="superae", widths=[64, 128, 256], batch_size=bs, crop=p.crop, lr=p.lr,
              lam=p.lam, template=p.template, data=str(data), split=list(split), n_images=n,
              images=[name for name, _, _ in images][:1000])
    return train_loop(model, opt, step, epochs=p.epochs, steps_per_epoch=steps, method="superae",
                      hyperparameters=hp, out=out, checkpoint_every=p.checkpoint_every, resume=resume,
                      overwrite=overwrite, seed=seed, device=device, progress=progress,
                      cancel_check=cancel_check, precision=p.precision, batch_fn=batch, prefetch=p.prefetch)

"""Where the time of one SEN training step goes (behind ``benchmarks/bench_training.py --phases``).

:func:`sen_step_phases` runs the steps of the SEN trainer one phase at a
time, with the trainer's own batch maker, network, clustering module and loss,
and times each phase: the batch (random crops, SLIC pseudo labels, CIELAB),
the U-Net forward pass, GBMS and the loss, the backward pass and the Adam
step. It is a profile of the trainer's parts, not a second trainer: no
checkpoint, no prefetching, fp32.
"""

from __future__ import annotations

import statistics
import time

#: the phases of :func:`sen_step_phases`, in order
PHASES = ("batch", "U-Net forward", "GBMS + loss forward", "backward", "Adam step")


def sen_step_phases(steps: int, *, crop: int = 96, batch_size: int = 4, n_images: int = 40, data="bsds",
                    split: str = "train", seed: int = 0) -> dict:
    """Median seconds of each phase of a SEN training step (the first step, with one-off costs, dropped).

    Parameters
    ----------
    steps : int
        Timed steps (one more runs first, untimed).
    crop, batch_size : int
        Crop side and crops per step (the trainer's defaults: 96 and 4).
    n_images : int
        The first ``n_images`` training images are loaded.
    data, split
        As :func:`napari_deepsuperpixel.training.sen.find_training_images`.
    seed : int

    Returns
    -------
    dict
        ``{phase: median seconds}`` in the order of :data:`PHASES`.
    """
    if int(steps) < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    import numpy as np
    import torch

    from ..nn.blocks import l2_normalize
    from ..nn.sen_loss import superpixel_mean_colors, variable_margin_loss
    from ..nn.unet import SENNet
    from ..training.sen import find_training_images
    from ..training.sen_labels import _load_rgb_uint8, _make_batch

    imgs = [_load_rgb_uint8(p) for p in find_training_images(data, split)[:n_images]]
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    model = SENNet()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    t = {k: [] for k in PHASES}
    for i in range(int(steps) + 1):
        t0 = time.perf_counter()
        x, labels, lab, anchor_seed = _make_batch(imgs, rng, batch_size, crop)
        t1 = time.perf_counter()
        e0 = l2_normalize(model.unet(x), dim=1)
        t2 = time.perf_counter()
        outs = [e0] + model.gbms(e0, generator=torch.Generator().manual_seed(anchor_seed), n_anchors=128)
        loss = variable_margin_loss(outs, labels, superpixel_mean_colors(labels, lab)).mean()
        t3 = time.perf_counter()
        opt.zero_grad()
        loss.backward()
        t4 = time.perf_counter()
        opt.step()
        t5 = time.perf_counter()
        if i:  # the first step pays one-off costs
            for k, a, b in zip(PHASES, (t0, t1, t2, t3, t4), (t1, t2, t3, t4, t5)):
                t[k].append(b - a)
    return {k: statistics.median(v) for k, v in t.items()}

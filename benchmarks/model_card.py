"""Print the facts of a weight file for its model card: data, budget, seed, settings, size, content hash.

The metrics and the commit that trained it come from the benchmark runs and
``git log``; this prints what the file itself records::

    python benchmarks/model_card.py src/napari_deepsuperpixel/weights/sen_bsds.pt
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def card(path: Path) -> str:
    from napari_deepsuperpixel.nn.checkpoint import load_checkpoint

    ck = load_checkpoint(path)
    hp = dict(ck.hyperparameters)
    ts = ck.training_state or {}
    epochs = int(ts.get("epoch", hp.get("epochs", 0)))
    if ck.method == "sen":
        steps = epochs * int(hp["steps_per_epoch"])
        px = steps * int(hp["batch_size"]) * int(hp["crop"]) ** 2
        budget = (f"{epochs} epochs x {hp['steps_per_epoch']} steps x {hp['batch_size']} crops of "
                  f"{hp['crop']} x {hp['crop']} = {steps:,} steps, {px / 1e6:,.0f} M pixels seen")
    else:
        px = epochs * int(hp["n_images"]) * int(hp["crop"]) ** 2
        budget = (f"{epochs} epochs x {hp['n_images']} images, crops of {hp['crop']} x {hp['crop']}, batch "
                  f"{hp['batch_size']} = {px / 1e6:,.0f} M pixels seen")
    loss = ts.get("loss_history") or []
    lines = [
        f"- **file**: `{path.name}`, {path.stat().st_size / 2**20:.1f} MB, content hash `{ck.content_hash[:19]}...`",
        f"- **data**: {hp.get('data')} (split {hp.get('split')}, {hp.get('n_images')} images)",
        f"- **budget**: {budget}",
        f"- **seed**: {hp.get('seed')}; precision {hp.get('precision', 'fp32')}; package {ck.package_version}",
        f"- **settings**: {json.dumps({k: v for k, v in hp.items() if k not in ('images', 'data', 'split')})}",
    ]
    if loss:
        lines.append(f"- **loss**: epoch 1 {loss[0]:.4f}, last epoch {loss[-1]:.4f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+", type=Path)
    a = ap.parse_args(argv)
    for f in a.files:
        print(card(f))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``deepsuperpixel train sen|superae``: train the package's dataset-level models.

Examples::

    deepsuperpixel train superae --data bsds --split train,val -o superae.pt
    deepsuperpixel train superae --data bsds -o superae.pt --epochs 150 --resume
    deepsuperpixel train superae --data my_images/ -o my.pt -p template=felzenszwalb -p crop=160
    deepsuperpixel train sen --data bsds --split train,val -o sen.pt

Common options map to the keyword arguments every trainer accepts
(``data, out, split, seed, device, resume, overwrite, progress``, and the
hyperparameters ``epochs``, ``batch_size`` and ``checkpoint_every`` when
given); ``-p key=value`` sets any other field of the trainer's parameter
dataclass (e.g. ``crop``, ``lr``, ``template`` of
:class:`~napari_deepsuperpixel.training.superae.SuperAETrainParams`),
converted to its declared type and checked before any image is loaded.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..training import TRAINERS, get_trainer, get_trainer_info


def _progress_printer(quiet: bool):
    import time

    t0 = time.perf_counter()
    bar = None
    if not quiet:
        from tqdm.auto import tqdm

        bar = tqdm(total=1, unit="step", leave=False, file=sys.stderr)

    def cb(ev):
        if ev.stage == "train" and bar is not None:
            bar.total = ev.total
            bar.n = ev.step
            bar.set_postfix(epoch=ev.info.get("epoch"), loss=f"{ev.info.get('loss', float('nan')):.4g}",
                            refresh=False)
            bar.refresh()
        elif ev.stage == "epoch":
            msg = (f"epoch {ev.step}/{ev.total}: loss {ev.info.get('loss', float('nan')):.5f}, "
                   f"{ev.info.get('seconds', 0):.1f} s (elapsed {time.perf_counter() - t0:.0f} s)")
            if bar is not None:
                bar.write(msg)
            else:
                print(msg, flush=True)

    return bar, cb


def _cmd_train(args) -> int:
    from ..io.writes import check_output_file
    from ..keyvalues import parse_key_values as parse_params

    trainer = get_trainer(args.model)
    out = Path(args.output)
    # refused before any data is loaded or any epoch is trained
    if out.exists() and not (args.overwrite or args.resume):
        print(f"error: checkpoint {out} already exists; use --overwrite to replace it or --resume to "
              "continue it", file=sys.stderr)
        return 3
    if str(args.data).lower() != "bsds" and not Path(args.data).exists():
        raise FileNotFoundError(f"training data folder {args.data} does not exist; give a BSDS500 folder, an "
                                "image folder or 'bsds'")
    if args.resume and not out.is_file():
        raise FileNotFoundError(f"nothing to resume: checkpoint {out} does not exist; drop --resume to start "
                                "a new run")
    check_output_file(out, "checkpoint")
    if args.export:
        export = Path(args.export)
        if export.resolve() == out.resolve():
            raise ValueError(f"--export {export} is the training checkpoint -o; give another file")
        if export.exists() and not args.overwrite:
            print(f"error: --export {export} already exists; use --overwrite to replace it or choose another "
                  "file", file=sys.stderr)
            return 3
        check_output_file(export, "--export file")
    hyper = {"checkpoint_every": args.checkpoint_every}
    if args.epochs is not None:
        hyper["epochs"] = args.epochs
    if args.batch_size is not None:
        hyper["batch_size"] = args.batch_size
    extra = parse_params(args.param)
    clash = sorted(set(extra) & set(hyper))
    if clash:
        raise ValueError(f"-p {', '.join(clash)}: use the dedicated option(s) instead")
    info = get_trainer_info(args.model)
    valid = [p.name for p in info.parameters]
    unknown = sorted(set(extra) - set(valid))
    if unknown:
        raise ValueError(f"{args.model} trainer has no setting(s) {unknown}; valid: {', '.join(valid)}")
    hyper.update(extra)
    info.build_params(args.data, hyper)  # every setting checked before any image is loaded
    kwargs = dict(data=args.data, out=out, split=[s for s in args.split.split(",") if s], seed=args.seed,
                  device=args.device, resume=bool(args.resume), overwrite=args.overwrite, **hyper)
    bar, cb = _progress_printer(args.quiet)
    kwargs["progress"] = cb
    try:
        res = trainer(**kwargs)
    finally:
        if bar is not None:
            bar.close()
    path, hist = Path(res.path), res.loss_history
    print(f"trained {args.model}: {res.epochs_done} epochs" + (f", final loss {hist[-1]:.5f}" if hist else "")
          + f" -> {path}")
    if args.export:
        from ..nn.checkpoint import export_weights

        dst = export_weights(path, args.export, method=args.model, overwrite=args.overwrite)
        print(f"exported weights (no optimizer state) -> {dst}")
    return 0


def add_parser(sub) -> None:
    """Register ``train`` on the ``deepsuperpixel`` command."""
    from . import seed_arg

    p = sub.add_parser("train", help="train SuperAE (DSC) or SEN on BSDS500 or an image folder",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("model", choices=sorted(TRAINERS), help="which model to train")
    p.add_argument("--data", default="bsds",
                   help="'bsds' (../shared/BSDS500 or $NDS_BSDS500), a BSDS500 folder, or an image folder")
    p.add_argument("--split", default="train,val", help="BSDS500 splits, comma-separated (default train,val)")
    p.add_argument("-o", "--output", required=True, help="checkpoint file to write (.pt)")
    p.add_argument("--epochs", type=int, default=None, help="number of epochs (default: the paper's)")
    p.add_argument("--batch-size", type=int, default=None, help="mini-batch size (default: the paper's)")
    p.add_argument("-p", "--param", action="append", metavar="KEY=VALUE",
                   help="trainer-specific setting, e.g. crop=160, lr=1e-3, template=ucm2:0.05 (repeatable)")
    p.add_argument("--seed", type=seed_arg, default=0, help="random seed, an integer in [0, 2**32) (default 0)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.add_argument("--checkpoint-every", type=int, default=1, help="epochs between checkpoints (default 1)")
    p.add_argument("--resume", action="store_true", help="continue the run stored in -o")
    p.add_argument("--overwrite", action="store_true", help="replace an existing checkpoint")
    p.add_argument("--export", metavar="PATH", help="also write a weights-only copy (for shipping)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar (epoch lines only)")
    p.set_defaults(func=_cmd_train)

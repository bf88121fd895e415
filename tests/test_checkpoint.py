"""Checkpoints (nn/checkpoint.py) and the shared training loop (training/loop.py)."""

import pytest

torch = pytest.importorskip("torch")

from napari_deepsuperpixel import Cancelled, __version__  # noqa: E402
from napari_deepsuperpixel.nn.checkpoint import (  # noqa: E402
    CheckpointError,
    export_weights,
    load_checkpoint,
    save_checkpoint,
)
from napari_deepsuperpixel.training.loop import train_loop  # noqa: E402


def _model(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))


def test_round_trip_keeps_weights_metadata_and_hash(tmp_path):
    m = _model()
    p = save_checkpoint(tmp_path / "a.pt", method="toy", state_dict=m.state_dict(),
                        hyperparameters={"lr": 0.1, "sizes": [4, 8]}, training_state={"epoch": 3})
    ck = load_checkpoint(p, method="toy")
    assert ck.method == "toy" and ck.package_version == __version__
    assert ck.hyperparameters == {"lr": 0.1, "sizes": [4, 8]}
    assert ck.epoch == 3 and ck.content_hash.startswith("sha256:")
    m2 = _model(seed=1)
    m2.load_state_dict(ck.state_dict)
    for a, b in zip(m.parameters(), m2.parameters()):
        assert torch.equal(a, b)
    assert not list(tmp_path.glob(".*tmp")), "temporary file left behind"


def test_refuses_to_overwrite_without_flag(tmp_path):
    m = _model()
    p = save_checkpoint(tmp_path / "a.pt", method="toy", state_dict=m.state_dict())
    before = p.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite"):
        save_checkpoint(p, method="toy", state_dict=_model(5).state_dict())
    assert p.read_bytes() == before
    save_checkpoint(p, method="toy", state_dict=_model(5).state_dict(), overwrite=True)
    assert p.read_bytes() != before


def test_wrong_method_and_corrupt_files_give_clear_errors(tmp_path):
    p = save_checkpoint(tmp_path / "a.pt", method="sen", state_dict=_model().state_dict())
    with pytest.raises(CheckpointError, match="for method 'sen', not 'superae'"):
        load_checkpoint(p, method="superae")
    # truncated file
    bad = tmp_path / "trunc.pt"
    bad.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(bad)
    # not a checkpoint at all
    junk = tmp_path / "junk.pt"
    junk.write_text("hello")
    with pytest.raises(CheckpointError):
        load_checkpoint(junk)
    # a valid torch file that is not ours
    foreign = tmp_path / "foreign.pt"
    torch.save(_model().state_dict(), foreign)
    with pytest.raises(CheckpointError, match="not a napari-deepsuperpixel checkpoint"):
        load_checkpoint(foreign)
    # weights changed after saving -> hash mismatch
    obj = torch.load(p, weights_only=True)
    obj["state_dict"]["0.weight"][0, 0] += 1.0
    tampered = tmp_path / "tampered.pt"
    torch.save(obj, tampered)
    with pytest.raises(CheckpointError, match="content hash"):
        load_checkpoint(tampered)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")
    assert issubclass(CheckpointError, ValueError)


def test_export_drops_optimizer_state(tmp_path):
    m = _model()
    opt = torch.optim.Adam(m.parameters())
    m(torch.ones(2, 4)).sum().backward()
    opt.step()
    src = save_checkpoint(tmp_path / "full.pt", method="toy", state_dict=m.state_dict(),
                          training_state={"epoch": 2, "optimizer": opt.state_dict(), "loss_history": [1.0, 0.5]})
    dst = export_weights(src, tmp_path / "w.pt", method="toy")
    ck = load_checkpoint(dst, method="toy")
    assert "optimizer" not in ck.training_state and ck.epoch == 2
    assert dst.stat().st_size < src.stat().st_size


def _toy_run(out, epochs, **kw):
    torch.manual_seed(0)
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    w = torch.tensor([[1.0], [-2.0], [0.5], [3.0]])

    def step(ctx):
        x = torch.from_numpy(ctx.rng.normal(size=(16, 4))).float()
        return torch.nn.functional.mse_loss(model(x), x @ w)

    res = train_loop(model, opt, step, epochs=epochs, steps_per_epoch=5, method="toy",
                     hyperparameters={"lr": 0.05}, out=out, seed=3, device="cpu", **kw)
    return model, res


def test_loop_trains_checkpoints_and_resume_matches_uninterrupted_run(tmp_path):
    full, res_full = _toy_run(tmp_path / "full.pt", 4)
    assert res_full.epochs_done == 4 and len(res_full.loss_history) == 4
    assert res_full.loss_history[-1] < res_full.loss_history[0]
    assert load_checkpoint(tmp_path / "full.pt", method="toy").epoch == 4

    part, res_part = _toy_run(tmp_path / "part.pt", 2)
    assert load_checkpoint(tmp_path / "part.pt").epoch == 2
    with pytest.raises(FileExistsError, match="resume"):
        _toy_run(tmp_path / "part.pt", 4)
    resumed, res_res = _toy_run(tmp_path / "part.pt", 4, resume=True)
    assert res_res.epochs_done == 4 and len(res_res.epoch_seconds) == 2  # only epochs 3, 4 ran
    assert res_res.loss_history == pytest.approx(res_full.loss_history)
    for a, b in zip(full.parameters(), resumed.parameters()):
        assert torch.allclose(a, b, atol=1e-6)


def test_loop_progress_cancel_and_resume_guard(tmp_path):
    events = []

    def cb(ev):
        events.append(ev)
        if ev.stage == "train" and ev.info["epoch"] == 2:
            raise Cancelled()

    with pytest.raises(Cancelled):
        _toy_run(tmp_path / "c.pt", 3, progress=cb)
    assert [e.stage for e in events[:6]] == ["train"] * 5 + ["epoch"]
    assert events[0].total == 15 and "loss" in events[0].info
    assert load_checkpoint(tmp_path / "c.pt").epoch == 1  # periodic checkpoint survived

    # other hyperparameters -> refuse to resume
    torch.manual_seed(0)
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    with pytest.raises(ValueError, match="other settings"):
        train_loop(model, opt, lambda ctx: model(torch.ones(1, 4)).sum(), epochs=3, steps_per_epoch=5,
                   method="toy", hyperparameters={"lr": 0.5}, out=tmp_path / "c.pt", resume=True, seed=3)
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        _toy_run(tmp_path / "none.pt", 2, resume=True)

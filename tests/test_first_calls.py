"""What a process's first SEN run pays is paid by the warm-up the widgets run when they open."""

from __future__ import annotations

from napari_deepsuperpixel import get_method


def test_sen_declares_a_warm_up_that_loads_every_shipped_weight_set():
    from napari_deepsuperpixel.methods.sen import WEIGHT_SETS, load_sen
    from napari_deepsuperpixel.nn.checkpoint import _load_model_cached

    for name in ("sen", "sen_contours"):
        assert get_method(name).warm_ref is not None
    get_method("sen").warm()
    before = _load_model_cached.cache_info()
    models = [load_sen(name) for name in WEIGHT_SETS]
    after = _load_model_cached.cache_info()
    assert after.hits - before.hits == len(WEIGHT_SETS) and after.misses == before.misses
    assert load_sen("") is models[0]  # the default set is the same cached model

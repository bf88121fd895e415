"""Training of the package's deep models (SuperAE, SEN) and the shared epoch loop.

* :mod:`.loop` -- :func:`~.loop.train_loop`: seeded epochs, progress and
  cancellation, periodic atomic checkpoints, exact resume.
* :mod:`.superae` -- :func:`~.superae.train_superae` (Deep Superpixel Cut's SuperAE).
* :mod:`.sen` -- the Superpixel Embedding Network trainer.

Nothing here is imported by ``import napari_deepsuperpixel``; torch is only
imported when a function runs.
"""

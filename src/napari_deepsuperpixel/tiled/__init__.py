"""Superpixels of large 2D images, block by block with a halo, without seams.

:func:`napari_deepsuperpixel.segment_result` hands a 2D image to
:func:`segment_tiled` when it has more than :data:`AUTO_PIXELS` pixels (or
when ``block_size`` asks for blocks). Peak memory is then bounded by the
block (plus its halo) times the number of threads, not by the image, and
the input is read block by block: a dask array, a zarr/OME-Zarr array or a
TIFF opened through tifffile's zarr store is never loaded whole. The blocks
run on dask's threads in this process, or, with ``scheduler=`` (an address or
a :class:`distributed.Client`), on a cluster's workers, which read the image
and write a zarr store themselves (:class:`_Runner`).

How the labels stay consistent across block borders
---------------------------------------------------
* **Global normalisation.** The intensity range of each channel is computed
  once for the whole image (the percentiles from a regular subsample of at
  least 4 million pixels when the image has more than 16 million; exact
  otherwise), so every block is scaled alike.
* **Global seeds.** The seeds are the centres of the whole image's grid
  (:func:`~napari_deepsuperpixel.methods.snic.grid_seeds`), numbered
  row-major: seed ``i`` is label ``i + 1`` wherever it grows. A block runs
  the method on its core plus a halo of about three superpixel widths with
  the seeds that fall into that region and the whole image's spatial
  weight, and keeps its core. A superpixel crossing a border is grown from
  the same seed with the same neighbours on both sides, so it carries the
  same label and its two halves meet: no grid of seams, and the number and
  size of the superpixels do not change at block borders.
* **Stitching.** Where the two sides of a border still disagree (a few
  pixels of a superpixel claimed differently by the two blocks), a label can
  come out in pieces. The connected components of every block are joined
  across the borders (a union of the components holding the same label on
  the two sides); for each label the largest component keeps it, and every
  other piece joins the neighbour it shares the longest border with. Labels
  are then ``1..N``, unique over the image, each one 4-connected region.

Which methods
-------------
Only methods whose result is grown from seeds that can be placed globally:
``snic`` (seeds passed to this package's implementation) and ``watershed``
(the grid as markers; note that the untiled run places scikit-image's own
regular grid, so the two runs' seeds differ slightly). SLIC (scikit-image
places its own grid and iterates k-means over the whole image),
Felzenszwalb and quickshift (graph merges and mode seeking without seeds:
their segments depend on the whole image) and the deep methods are run
whole.
"""

from .blocks import segment_tiled  # noqa: F401
from .policy import AUTO_PIXELS, BLOCK_THREADS, DEFAULT_BLOCK, ZARR_PIXELS, choose_tile, halo_for  # noqa: F401

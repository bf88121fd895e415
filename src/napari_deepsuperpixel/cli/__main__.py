"""``python -m napari_deepsuperpixel.cli``: the ``deepsuperpixel`` command."""

import sys

from . import main

sys.exit(main())

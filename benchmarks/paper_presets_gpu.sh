#!/usr/bin/env bash
# CPU preset against paper preset for the per-image deep methods, on a GPU machine.
#
# The paper presets take hours per image on a 2-core CPU (backprop ~8 min, DSC ~4 min,
# neural superpixels 6+ h), so the "CPU preset vs paper preset" comparison of the method
# pages needs a GPU. This script is the whole session: run it from the repository root
# with the package installed (`pip install -e .` and a CUDA build of torch) and
# ../shared/BSDS500 beside the repository:
#
#     bash benchmarks/paper_presets_gpu.sh OUT [LIMIT]
#
# LIMIT (default 50) is the number of BSDS500 test images, the first by name, the same
# subset as the CPU tables. Every run caches per image under OUT, so a run stopped by a
# time limit resumes when started again with the same arguments; the fast-preset runs go
# last because the CPU tables already have them. The tables: the commands printed at the end.
set -euo pipefail
OUT=${1:?usage: bash benchmarks/paper_presets_gpu.sh OUT [LIMIT]}
LIMIT=${2:-50}
DS="deepsuperpixel bench --split test --limit $LIMIT --device cuda --workers 1 -q"
mkdir -p "$OUT"

$DS -m backprop -p preset=paper -o "$OUT/backprop_paper"
$DS -m dsc -p preset=paper -o "$OUT/dsc_paper"
# Table IV's protocol (mean-shift superpixels at four settings as the ODS / OIS thresholds) at the
# paper preset: the superpixels of the image (the default), of the reconstruction (the paper), and of
# the image with a stronger cut (beta_scale=20, the best on val); then the default EGB superpixels with
# six scales as the thresholds, on both sources
MS="-p superpixel_method=meanshift --sweep superpixel_params=n_segments=100,n_segments=50,n_segments=20,n_segments=10"
EGB="--sweep superpixel_params=scale=150,scale=250,scale=350,scale=500,scale=800,scale=1200"
$DS -m dsc -p preset=paper $MS -o "$OUT/dsc_paper_ms_image"
$DS -m dsc -p preset=paper -p superpixels_on=reconstruction $MS -o "$OUT/dsc_paper_ms"
$DS -m dsc -p preset=paper -p beta_scale=20 $MS -o "$OUT/dsc_paper_ms_image_b20"
# mean shift's earlier count rule (smallest regions first; the default merges by Ward's criterion)
SMALLEST="n_segments=100,count_merge=smallest;n_segments=50,count_merge=smallest;n_segments=20,count_merge=smallest;n_segments=10,count_merge=smallest"
$DS -m dsc -p preset=paper -p superpixel_method=meanshift --sweep "superpixel_params=$SMALLEST" -o "$OUT/dsc_paper_ms_image_smallest"
$DS -m dsc -p preset=paper $EGB -o "$OUT/dsc_paper_egb_image"
$DS -m dsc -p preset=paper -p superpixels_on=reconstruction $EGB -o "$OUT/dsc_paper_egb"
$DS -m neural_superpixels -p preset=paper --sweep n_segments=100,200,400,800 -o "$OUT/ns_paper"
$DS -m neural_superpixels -p preset=paper -p limit_count=false --sweep n_segments=200 -o "$OUT/ns_paper_nolimit"

$DS -m backprop -p preset=fast -o "$OUT/backprop_fast"
$DS -m dsc -p preset=fast -o "$OUT/dsc_fast"
$DS -m neural_superpixels -p preset=fast --sweep n_segments=100,200,400,800 -o "$OUT/ns_fast"

cat <<EOF
Tables (per-image paired differences with 95 % intervals):
  deepsuperpixel bench-report paired "fast=$OUT/backprop_fast" "paper=$OUT/backprop_paper"
  deepsuperpixel bench-report paired "fast=$OUT/dsc_fast" "paper=$OUT/dsc_paper"
  python benchmarks/bench_dsc.py table "MS, image=$OUT/dsc_paper_ms_image" "MS, reconstruction=$OUT/dsc_paper_ms" \
      "MS, image, beta_scale=20=$OUT/dsc_paper_ms_image_b20" "MS smallest first, image=$OUT/dsc_paper_ms_image_smallest" \
      "EGB, image=$OUT/dsc_paper_egb_image" \
      "EGB, reconstruction=$OUT/dsc_paper_egb"
  deepsuperpixel bench-report paired "fast=$OUT/ns_fast@200" "paper=$OUT/ns_paper@200"
  deepsuperpixel bench-report tables "fast=$OUT/ns_fast" "paper=$OUT/ns_paper"
EOF

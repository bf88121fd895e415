"""Reports across ``deepsuperpixel bench`` runs (behind ``deepsuperpixel bench-report``).

A run is named by a spec ``LABEL=FOLDER[,FOLDER...]`` (:func:`parse_run`):
the label is what the tables show, the folders are ``deepsuperpixel bench``
output folders whose ``per_value.csv`` and ``per_image.csv`` are read.
Several folders join the runs of one method swept over different values in
separate runs; ``FOLDER@VALUE`` keeps only the rows of sweep value ``VALUE``.

* :func:`quality_tables`: the segmentation metrics per sweep value (the
  runs' ``per_value.csv``) and the superpixel metrics averaged over the
  images common to every run, optionally with an ASA / boundary-recall plot.
* :func:`paired_differences` / :func:`paired_table`: per-image paired
  differences of runs on the same images against the first run, with 95 %
  intervals.
* :func:`region_table`: covering / PRI / VI ODS and OIS of several variants
  from their per-image BSDS evaluations (``benchmarks/bench_dsc.py``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..keyvalues import split_values
from .tables import Z95, format_difference, markdown_table, paired_difference

#: segmentation-metric columns of :func:`quality_tables` (key, header)
SEGMENTATION_COLUMNS = (("n_segments", "segments"), ("covering", "Covering"), ("pri", "PRI"), ("vi", "VI"),
                        ("bdry_f", "Bdry F"), ("segf_f50", "SegF@0.5"), ("segf_ap50", "SegAP@0.5"),
                        ("segf_ap70", "SegAP@0.7"), ("time_s", "s / image"))
#: superpixel-metric columns of :func:`quality_tables`
SUPERPIXEL_COLUMNS = (("n_segments", "segments"), ("asa", "ASA"), ("br", "BR (r=2)"), ("time_s", "s / image"))
#: per-image columns of :func:`paired_table`
PAIRED_COLUMNS = (("n_segments", "segments"), ("covering", "Covering"), ("pri", "PRI"), ("vi", "VI"),
                  ("bdry_f", "Bdry F"), ("asa", "ASA"), ("br", "BR"))
#: dataset-level columns of :func:`paired_table` (no per-image value)
DATASET_COLUMNS = (("segf_ap50", "SegAP@0.5"), ("segf_ap70", "SegAP@0.7"))


@dataclass
class Run:
    """The rows of one labelled run (one or more bench output folders).

    Attributes
    ----------
    label : str
    per_value : list of dict
        ``per_value.csv`` rows (strings, as read), folder after folder.
    per_image : list of dict
        ``per_image.csv`` rows, folder after folder.
    image_sets : list of set
        The images of each folder.
    """

    label: str
    per_value: list
    per_image: list
    image_sets: list


def parse_run(spec: str) -> tuple:
    """``"LABEL=FOLDER[@VALUE][,FOLDER[@VALUE]...]"`` -> ``(label, [(folder, value or None), ...])``.

    The label ends at the last ``=`` before the first ``@`` (a label may hold ``=``, e.g. ``"N=200"``, and so
    may a sweep value, e.g. ``superpixel_params=scale=350`` in ``"L=FOLDER@scale=350"``). When the spec holds
    a ``;`` the folders are separated by ``;`` instead of ``,``, so that a value holding commas can be named
    (``"L=FOLDER@n_segments=50,count_merge=smallest"`` needs ``;`` only between several folders; a single
    folder with such a value is written ``"L=FOLDER@n_segments=50,count_merge=smallest;"``), as in
    ``deepsuperpixel bench --sweep``.
    """
    head, at, tail = spec.partition("@")
    label, eq, rest = head.rpartition("=")
    rest += at + tail
    if not eq or not label or not split_values(rest):
        raise ValueError(f"expected LABEL=FOLDER[,FOLDER...], got {spec!r}")
    folders = []
    for part in split_values(rest):
        folder, _, value = part.partition("@")
        folders.append((Path(folder), value or None))
    return label, folders


def _read_csv(path: Path, needs: str = "") -> list:
    """The rows of a table written by ``deepsuperpixel bench``; a missing or damaged one is one clear error."""
    folder = path.parent
    again = f"run `deepsuperpixel bench ... -o {folder}` again or give another folder"
    if not folder.is_dir():
        raise FileNotFoundError(f"benchmark output folder not found: {folder}")
    if not path.is_file():
        raise FileNotFoundError(f"{folder} is not a `deepsuperpixel bench` output folder (no {path.name}); {again}")
    try:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (UnicodeDecodeError, csv.Error) as e:
        raise ValueError(f"{path} is damaged ({e}); {again}") from None
    if not rows or (needs and needs not in rows[0]):
        raise ValueError(f"{path} is empty or damaged (no rows{f' with a {needs!r} column' if needs else ''}); "
                         f"{again}")
    return rows


def _sweep_column(rows) -> Optional[str]:
    return next((k for k in (rows[0] if rows else {}) if k.startswith("param_")), None)


def _same_value(cell: str, value: str) -> bool:
    """A sweep value as written in the table against one given after ``@``: numbers by value ("200" is
    "200.0"), anything else (e.g. ``scale=350``) as text."""
    try:
        return float(cell) == float(value)
    except ValueError:
        return cell.strip() == value.strip()


def _pick(rows: list, value: Optional[str], where) -> list:
    """The rows of sweep value ``value`` (all rows when ``None``)."""
    sweep = _sweep_column(rows)
    if value is None:
        return rows
    if not sweep:
        raise ValueError(f"{where} is not a sweep; drop @{value}")
    chosen = [r for r in rows if _same_value(r[sweep], value)]
    if not chosen:
        raise ValueError(f"{where} has no rows for {sweep[6:]}={value}")
    return chosen


def load_run(spec: str) -> Run:
    """Read the run named by ``spec`` (see :func:`parse_run`)."""
    label, folders = parse_run(spec)
    run = Run(label, [], [], [])
    for folder, value in folders:
        run.per_value += _pick(_read_csv(folder / "per_value.csv", "n_images"), value, folder)
        rows = _pick(_read_csv(folder / "per_image.csv", "image"), value, folder)
        run.per_image += rows
        run.image_sets.append({r["image"] for r in rows})
    return run


def _setting(row: dict) -> str:
    return next((f"{k[6:]}={v}" for k, v in row.items() if k.startswith("param_")), "")


def _superpixel_means(run: Run, common: set) -> list:
    """Per sweep value, the means of :data:`SUPERPIXEL_COLUMNS` over the images in ``common``."""
    groups: dict = {}
    for r in run.per_image:
        if r["image"] in common:
            key = next((f"{k}={v}" for k, v in r.items() if k.startswith("param_")), "")
            groups.setdefault(key, []).append(r)
    out = []
    for key, rs in groups.items():
        row = {c: sum(float(r[c]) for r in rs) / len(rs) for c, _ in SUPERPIXEL_COLUMNS}
        if key:
            row[key.split("=")[0]] = key.split("=")[1]
        out.append(row)
    out.sort(key=lambda r: r["n_segments"])
    return out


def check_labels(runs: list) -> None:
    """Every run spec has its own label (a repeated one would hide a run in the tables)."""
    from ..errors import InputError

    seen = {}
    for spec in runs:
        label = parse_run(spec)[0]
        if label in seen:
            raise InputError(f"the run label {label!r} is given twice ({seen[label]}, {spec}); give each run its "
                             "own label (LABEL=FOLDER)")
        seen[label] = spec


def quality_tables(runs: list, plot=None, overwrite: bool = False) -> str:
    """Markdown tables (and an ASA / BR plot) of ``deepsuperpixel bench`` runs.

    Parameters
    ----------
    runs : list of str
        Run specs ``LABEL=FOLDER[,FOLDER...]`` (:func:`parse_run`).
    plot : str or Path, optional
        Also write a plot of ASA and boundary recall against the number of
        segments (the superpixel-table rows) here.
    overwrite : bool
        Replace an existing ``plot``.

    Returns
    -------
    str
        Two Markdown tables: the segmentation metrics of every sweep value as
        written by the runs (``per_value.csv``), and the superpixel metrics
        averaged over the images common to every folder (comparable rows).
    """
    check_labels(runs)
    loaded = [load_run(spec) for spec in runs]
    if not loaded:
        raise ValueError("name at least one run LABEL=FOLDER")
    common = set.intersection(*[s for run in loaded for s in run.image_sets])
    seg_data = {run.label: run.per_value for run in loaded}
    sp_data = {run.label: _superpixel_means(run, common) for run in loaded}
    out = [f"Superpixel metrics over the {len(common)} image(s) common to all runs: "
           f"{', '.join(sorted(common))}.", ""]
    for title, cols, table in (("Segmentation metrics", SEGMENTATION_COLUMNS, seg_data),
                               ("Superpixel metrics", SUPERPIXEL_COLUMNS, sp_data)):
        cells = [[label, _setting(r)] + [f"{float(r[c]):.1f}" if c in ("n_segments", "time_s")
                                         else f"{float(r[c]):.4f}" for c, _ in cols]
                 for label, rows in table.items() for r in rows]
        out += [f"**{title}**", "", markdown_table(["run", "setting"] + [c[1] for c in cols], cells,
                                                   "ll" + "r" * len(cols)), ""]
    if plot:
        _plot_asa_br(sp_data, Path(plot), overwrite)
    return "\n".join(out)


def _plot_asa_br(data: dict, path: Path, overwrite: bool) -> None:
    from ..io.writes import check_writable

    check_writable([path], overwrite)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axs = plt.subplots(1, 2, figsize=(9, 3.6))
    for label, rows in data.items():
        n = [float(r["n_segments"]) for r in rows]
        for ax, key in zip(axs, ("asa", "br")):
            ax.plot(n, [float(r[key]) for r in rows], "o-", label=label)
    for ax, name in zip(axs, ("ASA", "boundary recall (r = 2)")):
        ax.set_xlabel("number of segments (after connectivity)")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axs[0].legend()
    fig.tight_layout()
    from ..io.writes import atomic_write

    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110))
    plt.close(fig)


@dataclass
class Paired:
    """One metric of one run in :func:`paired_differences`.

    Attributes
    ----------
    mean : float
        The run's mean over the common images.
    diff : float or None
        Mean per-image difference against the first run (``None`` for the first run).
    half_width : float or None
        Half-width of the 95 % interval of ``diff`` (``1.96 sd / sqrt(n)``,
        sample standard deviation; :func:`.tables.paired_difference`).
    """

    mean: float
    diff: Optional[float] = None
    half_width: Optional[float] = None


def paired_differences(runs: list) -> tuple:
    """Per-image paired differences of runs on the same images against the first run.

    Parameters
    ----------
    runs : list of str
        Run specs ``LABEL=FOLDER`` or ``LABEL=FOLDER@VALUE`` (one folder each;
        a sweep run needs ``@VALUE``).

    Returns
    -------
    (images, table)
        The sorted images common to every run, and ``{label: {column:
        Paired}}`` for the :data:`PAIRED_COLUMNS` plus the dataset-level
        :data:`DATASET_COLUMNS` (as :class:`Paired` with only ``mean``).
    """
    check_labels(runs)
    loaded = []
    for spec in runs:
        label, folders = parse_run(spec)
        if len(folders) != 1:
            raise ValueError(f"a paired comparison takes one folder per run, got {spec!r}")
        folder, value = folders[0]
        run = load_run(spec)
        if value is None and _sweep_column(run.per_image) and \
                len({r[_sweep_column(run.per_image)] for r in run.per_image}) > 1:
            raise ValueError(f"{folder} is a sweep; name one value as FOLDER@VALUE")
        loaded.append(run)
    if not loaded:
        raise ValueError("name at least one run LABEL=FOLDER")
    by_image = {run.label: {r["image"]: r for r in run.per_image} for run in loaded}
    common = sorted(set.intersection(*[set(v) for v in by_image.values()]))
    if not common:
        raise ValueError("the runs have no image in common")
    base = loaded[0].label
    table = {}
    for run in loaded:
        cells = {}
        for key, _ in PAIRED_COLUMNS:
            vals = [float(by_image[run.label][i][key]) for i in common]
            cells[key] = Paired(sum(vals) / len(vals))
            if run.label == base:
                continue
            d = paired_difference(vals, [float(by_image[base][i][key]) for i in common], z=Z95)
            cells[key].diff, cells[key].half_width = d.mean, d.half_width
        for key, _ in DATASET_COLUMNS:
            cells[key] = Paired(float(run.per_value[0][key]))
        table[run.label] = cells
    return common, table


def paired_table(runs: list) -> str:
    """:func:`paired_differences` as a Markdown table.

    Each metric cell is the run's mean, and for every run but the first its
    mean per-image difference against the first run with the 95 % interval
    half-width (normal approximation); segment AP is a dataset-level number
    and is given as is.
    """
    common, table = paired_differences(runs)
    base = next(iter(table))
    rows = []
    for label, cells in table.items():
        vals = [label]
        for key, _ in PAIRED_COLUMNS:
            c = cells[key]
            vals.append(f"{c.mean:.4g}" if c.diff is None else
                        f"{c.mean:.4g} ({format_difference(c.diff, c.half_width, '.3g', '.2g')})")
        vals += [f"{cells[key].mean:.4f}" for key, _ in DATASET_COLUMNS]
        rows.append(vals)
    columns = PAIRED_COLUMNS + DATASET_COLUMNS
    return "\n".join([f"{len(common)} images common to all runs; differences are per image against {base!r} "
                      "(mean and 95 % interval).", "",
                      markdown_table(["run"] + [c[1] for c in columns], rows, "l" + "r" * len(columns))])


def region_table(evaluations: dict) -> str:
    """Covering / PRI / VI ODS and OIS of several variants, as a Markdown table.

    Parameters
    ----------
    evaluations : dict
        ``{variant: [ImageEval, ...]}``, one
        :class:`~napari_deepsuperpixel.metrics.bsds.ImageEval` per image (its
        thresholds being the variant's settings), aggregated with
        :func:`~napari_deepsuperpixel.metrics.bsds.collect`.
    """
    from ..metrics.bsds import collect

    rows = []
    for variant, evals in evaluations.items():
        r = collect(list(evals)).region
        rows.append([variant] + [f"{v:.3f}" for v in (r.cover_ods, r.cover_ois, r.pri_ods, r.pri_ois, r.voi_ods,
                                                        r.voi_ois)])
    return markdown_table(["Method", "SC ODS", "SC OIS", "PRI ODS", "PRI OIS", "VI ODS", "VI OIS"], rows)

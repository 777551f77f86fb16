"""Our couplings' parameter names and defaults are those of TVB's couplings.

The trajectories are cross-checked in ``test_tvb_crosscheck.py``; this checks
the constructors, in-process: each ``<Name>Coupling`` of ``COUPLINGS`` has a
``tvb.simulator.coupling.<Name>`` with the same parameters and defaults,
except where ours deliberately differ (listed below).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from sweepjax.network._component import leaf_names
from sweepjax.network._couplings import COUPLINGS

tvb_coupling = pytest.importorskip("tvb.simulator.coupling")
neotraits = pytest.importorskip("tvb.basic.neotraits.api")

#: (our coupling, our parameter): TVB's name for it.
RENAMED = {("LinearCoupling", "G"): "a", ("KuramotoCoupling", "G"): "a"}
#: Defaults that differ on purpose (by TVB's name): LinearCoupling's G = 1
#: (TVB's a = 1/256); KuramotoCoupling's G is TVB's a times the number of nodes.
OWN_DEFAULTS = {("LinearCoupling", "a"), ("KuramotoCoupling", "a")}
#: Switches that are constructor flags here and ``Attr`` traits in TVB.
FLAGS = {"PreSigmoidalCoupling": ("dynamic", "globalT")}


def tvb_class(name):
    assert name.endswith("Coupling"), name
    return getattr(tvb_coupling, name.removesuffix("Coupling"))


def our_defaults(cls):
    signature = inspect.signature(cls.__init__).parameters
    return {name: signature[name].default for name in leaf_names(cls)}


def tvb_defaults(cls):
    """``{name: default}`` of TVB's numeric parameters (its NArray traits)."""
    return {
        name: getattr(cls, name).default
        for name in cls.declarative_attrs
        if isinstance(getattr(cls, name), neotraits.NArray)
    }


@pytest.mark.parametrize("name", sorted(COUPLINGS))
def test_parameters_are_tvbs(name):
    ours = {
        RENAMED.get((name, k), k): v for k, v in our_defaults(COUPLINGS[name]).items()
    }
    theirs = tvb_defaults(tvb_class(name))
    assert set(ours) == set(theirs)
    for param, value in ours.items():
        if (name, param) in OWN_DEFAULTS:
            continue
        assert isinstance(value, float), param
        np.testing.assert_array_equal(theirs[param], [value], err_msg=param)


@pytest.mark.parametrize("name", sorted(FLAGS))
def test_flags_are_tvbs(name):
    signature = inspect.signature(COUPLINGS[name].__init__).parameters
    for flag in FLAGS[name]:
        assert signature[flag].default is getattr(tvb_class(name), flag).default


def test_own_defaults_are_as_documented():
    assert our_defaults(COUPLINGS["LinearCoupling"])["G"] == 1.0
    assert tvb_defaults(tvb_coupling.Linear)["a"] == pytest.approx([1 / 256])
    assert our_defaults(COUPLINGS["KuramotoCoupling"])["G"] == 1.0
    assert tvb_defaults(tvb_coupling.Kuramoto)["a"] == pytest.approx([1.0])

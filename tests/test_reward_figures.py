"""The committed full-size records of the learning-from-reward figures hold their claims.

The figures' quick modes run in tests/test_figures.py; here the committed records in
figures/out (written by ``make figures``) are held to the tolerances their modules' TOLERANCES name.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

OUT = Path(__file__).resolve().parents[1] / "figures" / "out"


def record(name):
    path = OUT / f"{name}.json"
    if not path.exists():
        pytest.skip(f"{path.name} not generated")
    rec = json.loads(path.read_text())
    assert not rec["quick"], f"{path.name} must be the full-size record"
    return rec["agreement"]


def test_td_linear_record():
    a = record("reward_td_linear")
    assert a["max_dev_in_se"] < 4.5
    assert abs(a["gap_slope_iid"] + 0.5) < 0.2  # gap ~ E^-1/2 for i.i.d. transitions
    assert a["trajectory_bias_in_se"] > 5.0  # along trajectories the mean recursion is biased
    assert a["value_error_td"] > a["value_error_ls"]


def test_cue_trial_record():
    a = record("reward_cue_trial")
    assert a["max_dev_in_se"] < 5.0
    assert abs(a["rms_dev_in_se"] - 1.0) < 0.25  # deviations are standard-error sized, no bias
    assert abs(a["half_cue_trial_agents"] - a["half_cue_trial_exact"]) < 0.05 * a["half_cue_trial_exact"]
    assert abs(a["reward_response_final"]) < 0.01 * a["cue_response_final"]


def test_rl_perceptron_record():
    a = record("reward_rl_perceptron")
    assert a["max_dev_in_se"] < 4.5 and a["full_max_dev_in_se"] < 4.5
    assert abs(a["spread_ratio"] - 2.0) < 0.5  # sqrt(4000 / 1000)
    assert a["alpha70_T1"] < a["alpha70_T2"] < a["alpha70_T4"] < a["alpha70_T6"]  # sparse reward delays learning


def test_tradeoff_record():
    a = record("reward_tradeoff")
    assert a["max_dev_in_se"] < 4.5
    assert a["best_frac_early"] < a["best_frac_late"]  # the speed-accuracy trade-off
    assert a["alpha70_n6_lr2_max"] < a["alpha70_n6_lr2_0"]  # the penalty speeds learning ...
    assert abs(a["trapped_accuracy"] - 0.5) < 0.02  # ... or traps the student at chance

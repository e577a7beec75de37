"""The errata page (docs/errata.md): its code runs, and each demonstration's claim holds.

Claims checked: E1 product vs sum of a directed model's conditionals, E2 the log inside the
expectation, E3 log p(x) independent of q with θ fixed, E4 the integrand of the evidence, E5 the
second argument of KL, E8 Jensen's inequality needs concavity, E9 the N/M factor, E11 the ELBO
rising while log p(x) falls, E13 the direction of the coding-loss KL, E14 θ_old in the EM objective.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from elbo_edu.experiments import errata
from elbo_edu.distributions import kl_normal
from elbo_edu.experiments.elbo_ascent import ascend_elbo
from elbo_edu.models.linear_gaussian import LinearGaussian

PAGE = Path(__file__).resolve().parents[1] / "docs" / "errata.md"


def test_errata_page_code_runs_and_covers_every_slip():
    text = PAGE.read_text(encoding="utf-8")
    for k in range(1, 16):
        assert f"## E{k} " in text, f"E{k} has no section on the errata page"
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 12
    namespace: dict = {}
    for block in blocks:                   # each block ends with asserts of its own claim
        exec(compile(block, str(PAGE), "exec"), namespace)


@pytest.mark.parametrize("m", [2, 3, 5, 8])
def test_e1_product_of_conditionals_is_a_distribution_sum_is_not(m):
    rng = np.random.default_rng(m)
    d = errata.factorisation_demo(3 * rng.standard_normal((m, 2)))
    assert d.total_product == pytest.approx(1.0, abs=1e-12)
    # each conditional sums to 1 over its own variable, leaving 2^(m-1) configurations of the rest
    assert d.total_sum == pytest.approx(m * 2 ** (m - 1), abs=1e-9)
    assert d.log_product_vs_sum_of_logs < 1e-12


@pytest.mark.parametrize("seed", range(3))
def test_directed_model_joint_gives_back_its_conditionals(seed):
    """D2.2 with both sides independent: the joint of x1 -> x2 -> x3 built as the product of the
    package's Bernoulli conditionals; each conditional read back from that joint by summing
    configurations, p(x_j = 1 | x_{j-1}) = p(x_{j-1}, x_j = 1) / p(x_{j-1}), must be the sigmoid
    of its logit written out here. (A Bernoulli with the classes swapped still sums to one, and
    its log-product is still a sum of logs; only this check notices it.)"""
    from elbo_edu.distributions import bernoulli_log_prob

    a, b = np.random.default_rng(seed).normal(0, 2, size=(2, 3))
    xs = np.array([[i >> 2 & 1, i >> 1 & 1, i & 1] for i in range(8)], dtype=float)
    logit = np.column_stack([np.full(8, a[0]), a[1] + b[1] * xs[:, 0], a[2] + b[2] * xs[:, 1]])
    joint = np.exp(sum(bernoulli_log_prob(xs[:, j:j + 1], logit[:, j:j + 1]) for j in range(3)))
    assert joint.sum() == pytest.approx(1.0, abs=1e-14)
    sigmoid = lambda t: 1 / (1 + np.exp(-t))                     # noqa: E731
    assert joint[xs[:, 0] == 1].sum() == pytest.approx(sigmoid(a[0]), abs=1e-14)
    for j in (1, 2):
        for parent in (0.0, 1.0):
            given = xs[:, j - 1] == parent
            p_one = joint[given & (xs[:, j] == 1)].sum() / joint[given].sum()
            assert p_one == pytest.approx(sigmoid(a[j] + b[j] * parent), abs=1e-13)


@pytest.mark.parametrize("seed", range(4))
def test_e2_decomposition_needs_the_log(seed):
    rng = np.random.default_rng(seed)
    model, x = errata.demo_model(rng, x_dim=4)
    for q_mean, q_logvar in rng.normal(0, 1, size=(3, 2)):
        d = errata.log_dropped_demo(model, x, q_mean, q_logvar)
        assert d.with_log == pytest.approx(d.log_evidence, abs=1e-10)
        assert abs(d.without_log - d.log_evidence) > 1e-3


@pytest.mark.parametrize("seed", range(3))
def test_e3_evidence_independent_of_phi_and_best_q_is_posterior(seed):
    rng = np.random.default_rng(100 + seed)
    model, x = errata.demo_model(rng, x_dim=5)
    q_means = rng.normal(0, 2, size=(20, 1))
    q_logvars = rng.normal(0, 1, size=(20, 1))
    post_mean, post_cov = model.posterior(x)
    q_means[0], q_logvars[0] = 0.0, 0.0                       # the prior
    q_means[1], q_logvars[1] = post_mean[0], np.log(np.diag(post_cov))   # the posterior
    d = errata.fixed_theta_demo(model, x, q_means, q_logvars)
    # ELBO and KL are separate formulas of q; their sum is one number for all 20 q's, and it is
    # log p(x) as scipy computes it from N(b, WW^T + s^2 I) (not the demo's own log_evidence)
    from scipy.stats import multivariate_normal
    ref = multivariate_normal(model.b, model.W @ model.W.T + model.sigma2 * np.eye(5)).logpdf(x[0])
    assert np.ptp(d.elbo) > 1.0                                # the q's do differ
    np.testing.assert_allclose(d.elbo + d.kl_to_posterior, ref, rtol=0, atol=1e-10)
    assert np.argmax(d.elbo) == 1 and abs(d.kl_to_posterior[1]) < 1e-10
    assert d.kl_to_prior[0] == 0.0 and d.kl_to_posterior[0] > 0.0
    # gradient ascent over q from the prior: the ELBO climbs, log p(x) stays, the gap closes
    traj = ascend_elbo(model, x, lr=0.05, steps=300)
    assert np.all(np.diff(traj.elbo[:, 0]) >= -1e-12)
    np.testing.assert_allclose(traj.elbo[:, 0] + traj.kl[:, 0], ref, rtol=0, atol=1e-10)
    assert traj.kl[-1, 0] < 1e-3 * traj.kl[0, 0]


def test_e4_only_likelihood_times_prior_integrates_to_the_evidence():
    rng = np.random.default_rng(4)
    for _ in range(3):
        model, x = errata.demo_model(rng, x_dim=3)
        d = errata.integrand_demo(model, x)
        assert d.log_correct == pytest.approx(d.log_evidence, abs=1e-8)
        assert abs(d.log_slip - d.log_evidence) > 1e-3


def test_e5_kl_depends_on_its_second_argument():
    rng = np.random.default_rng(5)
    model, x = errata.demo_model(rng)
    m, lv = np.array([[0.4]]), np.array([[-0.7]])
    d = errata.kl_argument_demo(model, x, m, lv)
    assert d.kl_to_prior == pytest.approx(float(kl_normal(m, lv, 0 * m, 0 * lv).sum()), rel=1e-12)
    gap = model.log_evidence(x)[0] - model.elbo(x, m, lv)[0]
    assert d.kl_to_posterior == pytest.approx(gap, abs=1e-10)
    assert abs(d.kl_to_prior - d.kl_to_posterior) > 1e-3


@pytest.mark.parametrize("mu,s", [(0.0, 1.0), (1.5, 0.5), (-2.0, 0.8)])
def test_e8_jensen_direction_depends_on_curvature(mu, s):
    n = 200_000
    d = errata.jensen_demo(np.random.default_rng(8), mu=mu, s=s, n=n)
    assert d.log_of_mean > d.mean_of_log and d.exp_of_mean < d.mean_of_exp
    # the sample means agree with the exact values within 5 standard errors
    # (SE of mean(Y) is s/sqrt(n); SE of mean(e^Y) is estimated from the same samples)
    assert abs(d.mean_of_log - d.exact_mean_of_log) < 5 * s / np.sqrt(n)
    assert abs(d.mean_of_exp - np.exp(d.exact_log_of_mean)) < 5 * d.std_err_mean_of_exp
    # the gap of Jensen's inequality is s²/2 exactly for the log-normal
    assert d.exact_log_of_mean - d.exact_mean_of_log == pytest.approx(s * s / 2)


@pytest.mark.parametrize("seed", range(3))
def test_e9_minibatch_sum_is_unbiased_only_with_n_over_m(seed):
    rng = np.random.default_rng(seed)
    data = rng.normal(1.0, 1.3, size=(300, 2))
    d = errata.minibatch_scale_demo(data, np.array([0.5, -1.0]), np.array([0.2, 1.0]), 15, 3000, rng)
    assert np.all(np.abs(d.scaled_mean - d.full) < 4 * d.standard_error)
    assert np.all(np.abs(d.unscaled_mean - d.full) > 20 * d.standard_error)


@pytest.mark.parametrize("seed", range(4))
def test_e11_elbo_rises_while_log_evidence_falls(seed):
    rng = np.random.default_rng(200 + seed)
    model, x = errata.demo_model(rng, x_dim=4)
    q_mean = np.array([[rng.choice([-1, 1]) * rng.uniform(0.5, 1.5)]])
    d = errata.moving_theta_demo(model, x, q_mean, np.array([[-1.0]]), step=0.02)
    assert d.elbo_after > d.elbo_before
    assert d.log_evidence_after < d.log_evidence_before
    # independent evidence: scipy's Gaussian density at the shifted offset
    from scipy.stats import multivariate_normal
    grad_b = (x[0] - x[0] - model.W @ q_mean[0]) / model.sigma2
    cov = model.W @ model.W.T + model.sigma2 * np.eye(4)
    assert d.log_evidence_after == pytest.approx(
        multivariate_normal(x[0] + 0.02 * grad_b, cov).logpdf(x[0]), abs=1e-10)
    assert d.log_evidence_before == pytest.approx(multivariate_normal(x[0], cov).logpdf(x[0]), abs=1e-10)


def test_e13_coding_loss_estimates_kl_p_q_not_kl_q_p():
    d = errata.coding_loss_demo([0.9, 0.05, 0.05], [1 / 3, 1 / 3, 1 / 3], 200_000,
                                np.random.default_rng(13))
    assert abs(d.extra_nats - d.kl_p_q) < 4 * d.standard_error
    assert abs(d.extra_nats - d.kl_q_p) > 50 * d.standard_error
    p = np.array([0.9, 0.05, 0.05])
    assert d.kl_p_q == pytest.approx(float(np.sum(p * np.log(3 * p))), rel=1e-12)


@pytest.mark.parametrize("w_true", [0.8, 1.5, 2.5])
def test_e14_same_theta_objective_is_not_maximum_likelihood(w_true):
    xs = np.random.default_rng(14).normal(size=4000) * np.sqrt(w_true ** 2 + 0.5)
    d = errata.same_theta_demo(xs, sigma2=0.5)
    # ML in closed form: w² = mean(x²) − σ²
    assert d.w_max_likelihood == pytest.approx(np.sqrt(np.mean(xs ** 2) - 0.5), abs=1e-3)
    assert d.w_em_step == pytest.approx(d.w_max_likelihood, abs=1e-3)
    assert d.w_same_theta > d.w_max_likelihood + 1.0


def test_errata_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="logits"):
        errata.factorisation_demo(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="rng"):
        errata.jensen_demo(0)
    with pytest.raises(ValueError, match="n"):
        errata.jensen_demo(np.random.default_rng(0), n=0)
    model = LinearGaussian(np.ones((2, 1)), np.zeros(2), 0.5)
    with pytest.raises(ValueError, match="q_means"):
        errata.fixed_theta_demo(model, np.zeros((1, 2)), np.zeros(3), np.zeros((3, 1)))

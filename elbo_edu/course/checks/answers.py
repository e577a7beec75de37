"""Which package functions *are* the answer of each exercise (the delegation check's lists).

A grader declares its answers with :func:`elbo_edu.course.grading.exercise`; while it runs the
student's function, a call into any of them -- directly, renamed, through ``importlib``, through
the backend seam (:mod:`elbo_edu.kernels.api`, either backend's method, or a numba kernel) --
fails the exercise (:mod:`elbo_edu.course.tracer`). NumPy and SciPy are not listed: the exercises
allow them, except SciPy's own log-sum-exp in the log-sum-exp exercise itself.
"""
from __future__ import annotations

__all__ = ["SEAM", "ANSWERS"]


def SEAM(op: str, *kernels: str) -> tuple:
    """The public seam function ``op``, both backends' methods, and the named numba kernels."""
    return (f"elbo_edu.kernels.api:{op}", f"elbo_edu.kernels.numpy_backend:NumpyBackend.{op}",
            f"elbo_edu.kernels.numba_backend:NumbaBackend.{op}",
            *(f"elbo_edu.kernels.numba_backend:{k}" for k in kernels))


_D = "elbo_edu.distributions:"
_LG = "elbo_edu.models.linear_gaussian:LinearGaussian."
_LSE = ("elbo_edu.special:logsumexp",)
_KL = (_D + "kl_std_normal", _D + "kl_normal", "elbo_edu.models.diagnostics:kl_per_dimension",
       "elbo_edu.models.free_bits:free_bits_kl", "elbo_edu.estimators.kl:mc_kl_normal",
       *SEAM("reparam_kl", "_reparam_kl"))
_KL_GRAD = (_D + "kl_std_normal_grad", _D + "kl_normal_grad",
            "elbo_edu.models.free_bits:free_bits_kl_grad",
            *SEAM("reparam_kl_backward", "_reparam_kl_bwd"))
_REPARAM = (_D + "reparameterize", "elbo_edu.vae:VAE.reparameterize", *SEAM("reparam_kl", "_reparam_kl"))
_REPARAM_GRAD = (_D + "reparameterize_grad", *SEAM("reparam_kl_backward", "_reparam_kl_bwd"))
_BERN = (_D + "bernoulli_log_prob", "elbo_edu.special:softplus", "elbo_edu.vae.likelihoods:Bernoulli",
         "elbo_edu.vae.likelihoods:Likelihood.log_prob", "elbo_edu.vae.likelihoods:Likelihood.loglik_and_grad",
         *SEAM("bernoulli_loglik_grad", "_bernoulli", "_bernoulli_f32", "_bernoulli_logp_f32"))
_BERN_GRAD = (_D + "bernoulli_log_prob_grad", "elbo_edu.vae.likelihoods:Bernoulli",
              "elbo_edu.vae.likelihoods:Likelihood.log_prob_grad",
              *SEAM("bernoulli_loglik_grad", "_bernoulli", "_bernoulli_f32"))
_GAUSS = (_D + "gaussian_log_prob", _D + "_gaussian_sum", "elbo_edu.vae.likelihoods:Gaussian",
          "elbo_edu.vae.likelihoods:Likelihood.log_prob", *SEAM("gaussian_loglik_grad", "_gaussian"))
_IWAE = (*_LSE, "elbo_edu.estimators.evidence:naive_log_evidence",
         "elbo_edu.estimators.evidence:iwae_bound", "elbo_edu.estimators.evidence:evidence_bounds",
         "elbo_edu.estimators.iwae_objective:iwae_objective",
         "elbo_edu.estimators.iwae_objective:iwae_loss",
         "elbo_edu.estimators.iwae_objective:iwae_loss_and_grads")
_VAE_LOSS = ("elbo_edu.vae:VAE.loss", "elbo_edu.vae:VAE.loss_and_grads", "elbo_edu.vae:VAE._objective",
             "elbo_edu.vae:VAE.log_likelihood", "elbo_edu.vae:VAE.log_prior", "elbo_edu.vae:VAE.log_q",
             "elbo_edu.vae:VAE.log_joint")

#: exercise id -> the package functions that implement it
ANSWERS = {
    "ex01_1": ("elbo_edu.estimators.density_estimation:gaussian_mle",),
    "ex01_2": ("elbo_edu.estimators.density_estimation:kde_log_density", *_LSE,
               *SEAM("kde_log_density", "_kde")),
    "ex01_3": ("elbo_edu.estimators.density_estimation:minibatch_gradient",
               "elbo_edu.estimators.density_estimation:minibatch_gradients",
               "elbo_edu.estimators.density_estimation:log_likelihood_grad"),
    "ex02_1": ("elbo_edu.nn.dense:Dense.backward", *SEAM("bias_act_backward", "_bias_act_bwd")),
    "ex02_2": ("elbo_edu.nn.losses:softmax_cross_entropy", "elbo_edu.nn.losses:SoftmaxCrossEntropy",
               _D + "log_softmax", _D + "categorical_log_prob", *_LSE),
    "ex02_3": ("elbo_edu.nn.losses:softmax_cross_entropy", "elbo_edu.nn.losses:SoftmaxCrossEntropy",
               _D + "softmax", _D + "categorical_log_prob_grad"),
    "ex03_1": ("elbo_edu.estimators.evidence:naive_log_evidence", *_LSE),
    "ex03_2": (_LG + "log_evidence", "elbo_edu.estimators.grid:grid_log_evidence"),
    "ex03_3": (_LG + "posterior", "elbo_edu.estimators.grid:grid_posterior"),
    "ex04_1": ("elbo_edu.estimators.kl:kl_discrete",),
    "ex04_2": ("elbo_edu.estimators.kl:mc_kl_normal", _D + "kl_normal"),
    "ex04_3": ("elbo_edu.estimators.kl:Mixture1D", "elbo_edu.estimators.kl:_forward_kl",
               "elbo_edu.estimators.kl:fit_gaussian_kl"),
    "ex05_1": (_D + "kl_normal", "elbo_edu.estimators.kl:mc_kl_normal"),
    "ex05_2": _KL,
    "ex05_3": _KL_GRAD,
    "ex06_1": (_LG + "elbo", "elbo_edu.models.posteriors:lg_full_elbo"),
    "ex06_2": (_D + "gaussian_entropy", "elbo_edu.models.posteriors:full_gaussian_entropy"),
    "ex06_3": (_LG + "kl_to_posterior", _LG + "log_evidence", _LG + "elbo", _LG + "posterior",
               _D + "kl_normal"),
    "ex07_1": _GAUSS,
    "ex07_2": _BERN,
    "ex07_3": _BERN_GRAD,
    "ex08_1": _REPARAM,
    "ex08_2": _REPARAM_GRAD,
    "ex08_3": ("elbo_edu.estimators.gradients:score_function_gradient",),
    "ex09_1": _KL + _KL_GRAD,
    "ex09_2": _REPARAM_GRAD,
    "ex09_3": _BERN + _BERN_GRAD,
    "ex09_4": _KL_GRAD + _REPARAM_GRAD + _VAE_LOSS,
    "ex10_1": (*_LSE, "scipy.special:logsumexp"),
    "ex10_2": _IWAE,
    "ex10_3": (_LG + "log_joint", _LG + "log_q", _LG + "log_likelihood_z",
               "elbo_edu.estimators.evidence:log_weights"),
    "ex11_1": (),
    "ex11_2": ("elbo_edu.models.diagnostics:active_units",),
    "ex11_3": _KL,
    "ex12_1": _IWAE + (_D + "softmax", _D + "log_softmax"),
    "ex12_2": ("elbo_edu.models.posteriors:full_gaussian_entropy", _D + "gaussian_entropy"),
    "ex12_3": ("elbo_edu.models.flows:PlanarFlow", "elbo_edu.models.flows:tanh_ridge_log_density"),
    "ex13_1": ("elbo_edu.models.cvae:CVAE.loss", "elbo_edu.models.cvae:CVAE.loss_and_grads",
               "elbo_edu.models.cvae:CVAE._objective") + _KL + _BERN,
    "ex13_2": ("elbo_edu.experiments.rate_distortion:rate_distortion",) + _VAE_LOSS + _KL + _BERN,
    "ex13_3": ("elbo_edu.models.free_bits:free_bits_kl", "elbo_edu.models.free_bits:free_bits_kl_grad",
               "elbo_edu.models.free_bits:free_bits_loss_and_grads") + _KL + _KL_GRAD,
}

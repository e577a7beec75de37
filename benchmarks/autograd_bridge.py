r"""Is the hand-written backward what a framework would compute? elbo_edu against PyTorch and JAX.

For each configuration below, one VAE is built in float64 and the *same* weights (read from its
public ``params`` dict, names like ``encoder.0.W``) and the *same* noise ``eps`` are handed to
PyTorch and to JAX, where the negative ELBO (chapter 09, D9.2)

.. math:: \mathcal L = \frac1N\sum_n\Big[-\log p_\theta(x_n\mid z_n)
          + \beta\,\mathrm{KL}\big(q_\phi(z\mid x_n)\,\Vert\,\mathcal N(0, I)\big)\Big],
          \qquad z_n = \mu_n + e^{\frac12\log\sigma^2_n}\odot\varepsilon_n

is written again from the model's configuration with each framework's own building blocks
(PyTorch: ``torch.distributions`` for the Gaussian and the KL, ``binary_cross_entropy_with_logits``;
JAX: ``jax.scipy.stats.norm``, ``optax.sigmoid_binary_cross_entropy``) and differentiated by
reverse-mode autograd. elbo_edu's ``loss_and_grads`` (chapter 09, D9.3: every backward written by
hand) runs on both kernel backends. Reported per configuration and backend: the loss differences
and, for each framework, the largest relative error over every parameter array,
``max|a - b| / max(max|a|, max|b|)`` (``elbo_edu.gradcheck.rel_error``). The script exits with
status 1 when any of them exceeds ``--tol`` (default 1e-10).

Needs the ``[bench]`` extra (torch, jax, optax); a framework that is not installed is skipped with
a message (and the run fails if neither is there). The continuous Bernoulli row runs only when
``elbo_edu.vae.likelihoods.make_likelihood("continuous-bernoulli")`` exists; its decoder output is
taken to be logits :math:`\ell`, with the normaliser written stably in logits,
:math:`\log C = \log(\ell/\tanh(\ell/2))` (a series near 0), in both frameworks.

A control row gives the frameworks a β larger by 1e-8; it must be flagged as a mismatch (the
run fails if it is not), which shows the comparison is sharp enough to catch a real slip.

Usage::

    python benchmarks/autograd_bridge.py --out benchmarks/results/autograd_bridge.json
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import numpy as np

from elbo_edu import kernels as K
from elbo_edu.gradcheck import rel_error
from elbo_edu.vae.likelihoods import make_likelihood
from elbo_edu.vae import VAE

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _machine import machine_info  # noqa: E402

# (label, VAE keyword arguments); x_dim 784 and z_dim 20 unless given
CASES = [
    ("bernoulli, β=1", dict(likelihood="bernoulli", beta=1.0)),
    ("bernoulli, β=0.25, tanh, 2 hidden", dict(likelihood="bernoulli", beta=0.25,
                                                 activation="tanh", hidden=(256, 64))),
    ("gaussian c=0.5, β=2", dict(likelihood="gaussian", obs_var=0.5, beta=2.0)),
    ("gaussian-learned scalar, β=1", dict(likelihood="gaussian-learned", obs_var=0.3)),
    ("gaussian-learned pixel, β=0.5, softplus", dict(likelihood="gaussian-learned",
                                                     learned_var="pixel", beta=0.5,
                                                     activation="softplus")),
    ("gaussian, β=4, leaky_relu", dict(likelihood="gaussian", beta=4.0,
                                       activation="leaky_relu")),
    ("continuous-bernoulli, β=1.5", dict(likelihood="continuous-bernoulli", beta=1.5)),
]
# the control: the frameworks get a beta larger by this factor, which must be detected as a
# mismatch (so the comparison is shown to be able to fail)
CONTROL = ("control: frameworks' β × (1 + 1e-8)", dict(likelihood="bernoulli", beta=1.0), 1e-8)
LEAKY_SLOPE = 0.01            # elbo_edu.nn.LeakyReLU's default, the one VAE(activation=...) uses


def has_likelihood(name: str) -> bool:
    try:
        make_likelihood(name)
    except ValueError:
        return False
    return True


def layer_indices(params: dict, part: str) -> list[int]:
    """The indices ``i`` of the ``part.i.W`` entries, in order (the Linear layers of an MLP)."""
    return sorted(int(k.split(".")[1]) for k in params if k.startswith(part + ".")
                  and k.endswith(".W"))


# ----------------------------------------------------------------------------------- PyTorch
def torch_loss_and_grads(params, cfg, x, eps):
    """The negative ELBO and its gradients by PyTorch's autograd, float64."""
    import torch
    import torch.nn.functional as F
    from torch.distributions import Normal, kl_divergence

    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    # softplus as logaddexp(h, 0): F.softplus returns h itself above h = 20 (an approximation)
    act = {"relu": F.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
           "softplus": lambda h: torch.logaddexp(h, torch.zeros_like(h)),
           "leaky_relu": lambda h: F.leaky_relu(h, LEAKY_SLOPE)}[cfg["activation"]]

    def mlp(part, h):
        idx = layer_indices(p, part)
        for j, i in enumerate(idx):
            h = h @ p[f"{part}.{i}.W"] + p[f"{part}.{i}.b"]
            if j < len(idx) - 1:
                h = act(h)
        return h

    xt, et = torch.from_numpy(x), torch.from_numpy(eps)
    zd = cfg["z_dim"]
    h = mlp("encoder", xt)
    mu, logvar = h[:, :zd], h[:, zd:]
    std = torch.exp(0.5 * logvar)
    kl = kl_divergence(Normal(mu, std), Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(-1)
    out = mlp("decoder", mu + std * et)
    lik = cfg["likelihood"]
    if lik == "bernoulli":
        log_px = -F.binary_cross_entropy_with_logits(out, xt, reduction="none").sum(-1)
    elif lik == "continuous-bernoulli":
        # not torch.distributions.ContinuousBernoulli: it goes through probabilities and loses
        # accuracy for large |logits| (error growing like e^|l|: 2e-10 relative at l = 20,
        # 2e-6 at l = 30, against 40-digit arithmetic)
        small = out.abs() < 1e-2
        safe = torch.where(small, torch.ones_like(out), out)
        u2 = (0.5 * out) ** 2
        series = np.log(2.0) + u2 / 3 - 7 * u2 ** 2 / 90 + 62 * u2 ** 3 / 2835
        log_norm = torch.where(small, series, torch.log(safe / torch.tanh(0.5 * safe)))
        log_px = (log_norm - F.binary_cross_entropy_with_logits(out, xt, reduction="none")).sum(-1)
    else:
        log_c = p["log_gamma"] if lik == "gaussian-learned" else \
            torch.tensor(np.log(cfg["obs_var"]), dtype=torch.float64)
        log_px = Normal(out, torch.exp(0.5 * log_c)).log_prob(xt).sum(-1)
    loss = torch.mean(-log_px + cfg["beta"] * kl)
    loss.backward()
    return float(loss.detach()), {k: v.grad.numpy().copy() for k, v in p.items()}


# --------------------------------------------------------------------------------------- JAX
def _jax_cb_log_norm(logits):
    r""":math:`\log C(\lambda)` of the continuous Bernoulli in terms of its logits ℓ:
    :math:`C = \ell/\tanh(\ell/2)`; near ℓ = 0 the series :math:`\log 2 + u^2/3 - 7u^4/90 +
    62u^6/2835` with :math:`u = \ell/2` (a double-``where`` keeps the unused branch's gradient
    finite)."""
    import jax.numpy as jnp
    small = jnp.abs(logits) < 1e-2
    safe = jnp.where(small, 1.0, logits)
    u2 = (0.5 * logits) ** 2
    series = jnp.log(2.0) + u2 / 3 - 7 * u2 ** 2 / 90 + 62 * u2 ** 3 / 2835
    return jnp.where(small, series, jnp.log(safe / jnp.tanh(0.5 * safe)))


def jax_loss_and_grads(params, cfg, x, eps):
    """The negative ELBO and its gradients by ``jax.value_and_grad``, float64."""
    import jax
    import jax.numpy as jnp
    import optax
    from jax.scipy.stats import norm

    jax.config.update("jax_enable_x64", True)
    act = {"relu": jax.nn.relu, "tanh": jnp.tanh, "softplus": jax.nn.softplus,
           "sigmoid": jax.nn.sigmoid,
           "leaky_relu": lambda h: jax.nn.leaky_relu(h, LEAKY_SLOPE)}[cfg["activation"]]
    zd, lik, beta = cfg["z_dim"], cfg["likelihood"], cfg["beta"]

    def mlp(p, part, h):
        idx = layer_indices(p, part)
        for j, i in enumerate(idx):
            h = h @ p[f"{part}.{i}.W"] + p[f"{part}.{i}.b"]
            if j < len(idx) - 1:
                h = act(h)
        return h

    def loss_fn(p, x, eps):
        h = mlp(p, "encoder", x)
        mu, logvar = h[:, :zd], h[:, zd:]
        kl = 0.5 * jnp.sum(mu ** 2 + jnp.exp(logvar) - 1.0 - logvar, axis=-1)
        out = mlp(p, "decoder", mu + jnp.exp(0.5 * logvar) * eps)
        if lik == "bernoulli":
            log_px = -optax.sigmoid_binary_cross_entropy(out, x).sum(-1)
        elif lik == "continuous-bernoulli":
            log_px = (_jax_cb_log_norm(out) - optax.sigmoid_binary_cross_entropy(out, x)).sum(-1)
        else:
            log_c = p["log_gamma"] if lik == "gaussian-learned" else jnp.log(cfg["obs_var"])
            log_px = norm.logpdf(x, out, jnp.exp(0.5 * log_c)).sum(-1)
        return jnp.mean(-log_px + beta * kl)

    pj = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in params.items()}
    loss, g = jax.value_and_grad(loss_fn)(pj, jnp.asarray(x), jnp.asarray(eps))
    return float(loss), {k: np.asarray(v, dtype=np.float64) for k, v in g.items()}


FRAMEWORKS = {"torch": torch_loss_and_grads, "jax": jax_loss_and_grads}


def framework_versions() -> dict:
    out = {}
    for name in ("torch", "jax", "optax"):
        try:
            out[name] = __import__(name).__version__
        except ImportError:
            out[name] = None
    return out


# ---------------------------------------------------------------------------------------- run
def run_case(kwargs: dict, batch: int, seed: int, frameworks: dict, backends,
             beta_shift: float = 0.0):
    """One configuration: a float64 VAE, one batch, one eps; every backend against every
    framework (given ``beta * (1 + beta_shift)``). Returns a list of result rows."""
    rng = np.random.default_rng(seed)
    kw = dict(kwargs)
    hidden = kw.pop("hidden", (400,))
    model = VAE(784, 20, hidden=hidden, dtype=np.float64, rng=rng, **kw)
    if "log_gamma" in model.params:      # a learned variance away from its constant start
        lg = model.params["log_gamma"]
        model.load_params({**model.params,
                           "log_gamma": lg + 0.3 * rng.standard_normal(lg.shape)})
    x = rng.uniform(0.0, 1.0, (batch, 784))           # grey levels: valid for every likelihood
    eps = rng.standard_normal((batch, model.z_dim))
    cfg = {**model.config(), "likelihood": model.likelihood.name}
    params = {k: np.array(v, dtype=np.float64) for k, v in model.params.items()}
    cfg["beta"] *= 1.0 + beta_shift
    ref = {name: fn(params, cfg, x, eps) for name, fn in frameworks.items()}
    rows = []
    for backend in backends:
        with K.use_backend(backend):
            loss, grads = model.loss_and_grads(x, eps=eps)
            grads = {k: np.array(v) for k, v in grads.items()}
        row = {"backend": backend, "loss": float(loss), "n_arrays": len(grads),
               "n_numbers": int(sum(g.size for g in grads.values()))}
        for name, (f_loss, f_grads) in ref.items():
            if set(f_grads) != set(grads):
                raise SystemExit(f"{name}: parameter names differ: {sorted(f_grads)} vs "
                                 f"{sorted(grads)}")
            errs = {k: rel_error(grads[k], f_grads[k]) for k in grads}
            worst = max(errs, key=errs.get)
            row[name] = {"loss_rel_diff": abs(loss - f_loss) / abs(f_loss),
                         "max_grad_rel_error": errs[worst], "worst_array": worst,
                         "per_array": errs}
        rows.append(row)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=32, help="rows of x per configuration")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tol", type=float, default=1e-10,
                    help="largest accepted relative error (loss and every gradient array)")
    ap.add_argument("--backends", default="numpy,numba", help="elbo_edu kernel backends to test")
    ap.add_argument("--out", default=None, help="JSON output file")
    args = ap.parse_args(argv)
    if args.batch < 1:
        ap.error("--batch: expected a positive integer")
    if not args.tol > 0:
        ap.error("--tol: expected a positive number")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    bad = [b for b in backends if b not in K.BACKENDS]
    if bad or not backends:
        ap.error(f"--backends: expected a comma-separated subset of {','.join(K.BACKENDS)}")

    versions = framework_versions()
    frameworks = {}
    for name, fn in FRAMEWORKS.items():
        if versions[name] is None or (name == "jax" and versions["optax"] is None):
            print(f"{name} is not installed: skipped (pip install -e '.[bench]')")
        else:
            frameworks[name] = fn
    if not frameworks:
        print("neither torch nor jax is installed: nothing to compare", file=sys.stderr)
        return 2
    info = machine_info()
    print(f"CPU: {info['cpu']}; numpy {np.__version__}; "
          + "; ".join(f"{k} {v}" for k, v in versions.items() if v))
    results, failed = [], False
    for label, kwargs in CASES:
        if not has_likelihood(kwargs["likelihood"]):
            print(f"{label}: skipped (elbo_edu has no likelihood {kwargs['likelihood']!r})")
            continue
        for row in run_case(kwargs, args.batch, args.seed, frameworks, backends):
            row["case"] = label
            for name in frameworks:
                r = row[name]
                r["ok"] = r["loss_rel_diff"] <= args.tol and r["max_grad_rel_error"] <= args.tol
                failed |= not r["ok"]
            results.append(row)
    label, kwargs, shift = CONTROL
    control = run_case(kwargs, args.batch, args.seed, frameworks, backends[:1], shift)[0]
    control["case"] = label
    control_caught = all(control[name]["max_grad_rel_error"] > args.tol for name in frameworks)
    for name in frameworks:
        control[name]["ok"] = control[name]["max_grad_rel_error"] <= args.tol

    head = "| configuration | backend | loss |"
    rule = "|---|---|---|"
    for name in frameworks:
        head += f" loss rel. diff {name} | max grad rel. error {name} (array) |"
        rule += "---|---|"
    print("\n" + head + "\n" + rule)
    for row in results + [control]:
        line = f"| {row['case']} | {row['backend']} | {row['loss']:.6f} |"
        for name in frameworks:
            r = row[name]
            mark = "" if r["ok"] else " **mismatch**"
            line += (f" {r['loss_rel_diff']:.1e} | {r['max_grad_rel_error']:.1e} "
                     f"(`{r['worst_array']}`){mark} |")
        print(line)
    n_arrays = sorted({row["n_arrays"] for row in results})
    print(f"\nbatch {args.batch}, seed {args.seed}, float64; each error is the largest over "
          f"every parameter array ({'/'.join(map(str, n_arrays))} arrays per model); "
          f"tolerance {args.tol:g}")
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"machine": info, "versions": {**versions,
                                                                 "numpy": np.__version__,
                                                                 "python": platform.python_version()},
                                   "batch": args.batch, "seed": args.seed, "tol": args.tol,
                                   "results": results, "control": control},
                                  indent=2) + "\n")
        print(f"written {out}")
    print("MISMATCH: a hand-written gradient differs from autograd" if failed
          else "all hand-written gradients equal autograd within the tolerance")
    if not control_caught:
        print("CONTROL NOT CAUGHT: a beta off by 1e-8 went unnoticed; the comparison is too "
              "loose to mean anything")
    else:
        print("the control (β off by 1e-8 in the frameworks) is flagged as a mismatch, as it must")
    return 1 if failed or not control_caught else 0


if __name__ == "__main__":
    sys.exit(main())

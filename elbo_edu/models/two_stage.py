r"""The two-stage VAE of Dai & Wipf, and the sample-quality score that measures it (D11.3).

A trained VAE's latent codes need not look like its prior: the *aggregate posterior*
:math:`q(z) = \frac1N\sum_n q(z\mid x_n)` can leave holes and clumps in :math:`\mathcal N(0, I)`,
and decoding prior samples that fall in the holes gives poor data. The two-stage remedy (Dai &
Wipf, *Diagnosing and Enhancing VAE Models*, 2019) fits a second, small VAE to draws from
:math:`q(z)`, that is to codes :math:`u = \mu_\phi(x_n) + \sigma_\phi(x_n)\odot\varepsilon` with
:math:`\varepsilon\sim\mathcal N(0, I)`; sampling then goes :math:`z_2\sim\mathcal N(0,I) \to
u\sim p_2(u\mid z_2) \to x = \text{decoder}_1(u)`, so the codes fed to the first decoder follow
:math:`q(z)` rather than the prior.

Why draws and not the means :math:`\mu_\phi(x_n)`: in the dimensions the first stage does not use,
:math:`q(z_j\mid x) \approx \mathcal N(0, 1)` for every x, so the means are all near 0 while
:math:`q(z_j)` is a unit Gaussian. Trained on means, the second stage would see data squeezed onto
the used dimensions, a lower-dimensional manifold again, which is the very problem the second
stage is there to avoid (its γ would collapse as the first one's did).

Sample quality is scored by the kernel two-sample statistic :func:`mmd2` (maximum mean
discrepancy, Gretton et al., *A Kernel Two-Sample Test*) between generated points and held-out
data: zero in expectation when the two distributions are equal, larger the more they differ. It
needs no density of the model and no classifier, and its unbiased estimator has a computable
spread, so two samplers can be compared by repeating the draw.
"""
from __future__ import annotations

import numpy as np

from .._checks import as_float_array, check_positive_float, check_positive_int
from ..train import fit

__all__ = ["mmd2", "median_bandwidth", "TwoStageVAE"]


def _sq_dists(a, b):
    return np.maximum(np.sum(a * a, 1)[:, None] - 2 * a @ b.T + np.sum(b * b, 1)[None, :], 0.0)


def median_bandwidth(x, y) -> float:
    """Median pairwise distance of the pooled sample (the usual kernel-width heuristic)."""
    z = np.concatenate([np.asarray(x, np.float64), np.asarray(y, np.float64)])
    d = _sq_dists(z, z)[np.triu_indices(len(z), 1)]
    return float(np.sqrt(np.median(d)))


def mmd2(x, y, bandwidth: float | None = None) -> float:
    r"""Unbiased squared MMD with a Gaussian kernel :math:`k(a,b)=e^{-\lVert a-b\rVert^2/(2h^2)}` (D11.3).

    .. math:: \widehat{\mathrm{MMD}}^2 = \frac{\sum_{i\ne j}k(x_i,x_j)}{m(m-1)}
              + \frac{\sum_{i\ne j}k(y_i,y_j)}{n(n-1)} - \frac{2}{mn}\sum_{i,j}k(x_i,y_j)

    Parameters
    ----------
    x : array (m, d)
    y : array (n, d)
    bandwidth : float, optional
        h; default :func:`median_bandwidth` of the pooled sample (fix it when comparing several
        samplers against one reference).
    """
    x = as_float_array(x, "x").astype(np.float64)
    y = as_float_array(y, "y").astype(np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or min(len(x), len(y)) < 2:
        raise ValueError(f"y: expected two samples (m, d) and (n, d) with m, n >= 2, got {x.shape} "
                         f"and {y.shape}")
    h = median_bandwidth(x, y) if bandwidth is None else check_positive_float(bandwidth, "bandwidth")
    c = -0.5 / h ** 2
    kxx, kyy, kxy = (np.exp(c * _sq_dists(a, b)) for a, b in ((x, x), (y, y), (x, y)))
    m, n = len(x), len(y)
    return float((kxx.sum() - m) / (m * (m - 1)) + (kyy.sum() - n) / (n * (n - 1))
                 - 2 * kxy.mean())


class TwoStageVAE:
    """A first-stage VAE plus a second VAE on its latent codes (D11.3).

    Parameters
    ----------
    first : elbo_edu.vae.VAE
        Trained on the data.
    second : elbo_edu.vae.VAE
        With ``x_dim == first.z_dim`` and a ``"gaussian-learned"`` likelihood, trained on draws from
        the first one's aggregate posterior (see :meth:`fit`).
    """

    def __init__(self, first, second):
        if second.x_dim != first.z_dim:
            raise ValueError(f"second: expected x_dim == first.z_dim = {first.z_dim}, got {second.x_dim}")
        self.first, self.second = first, second

    @classmethod
    def fit(cls, first, x, *, z_dim: int | None = None, hidden=(64, 64), epochs: int = 30,
            batch_size: int = 50, lr: float = 3e-3, draws_per_point: int = 2,
            seed: int = 0) -> "TwoStageVAE":
        r"""Fit the second stage (learned-variance Gaussian VAE) to draws from ``first``'s q(z).

        Each row of ``x`` contributes ``draws_per_point`` codes
        :math:`u = \mu_\phi(x) + \exp(\tfrac12\log\sigma^2_\phi(x))\odot\varepsilon` (D8.1).
        ``z_dim`` defaults to ``first.z_dim`` (as in Dai & Wipf). The first stage is not changed.

        Raises
        ------
        ValueError
            ``x`` not a 2-D float array of ``first.x_dim`` columns; a count not a positive integer.
        """
        from ..distributions import reparameterize
        from ..vae import VAE

        x = as_float_array(x, "x")
        draws = check_positive_int(draws_per_point, "draws_per_point")
        rng = np.random.default_rng(seed)
        codes = []
        for i in range(0, len(x), 1000):
            mu, logvar = (np.asarray(a, np.float64) for a in first.encode(x[i:i + 1000]))
            codes += [reparameterize(mu, logvar, rng.standard_normal(mu.shape)) for _ in range(draws)]
        z_dim = first.z_dim if z_dim is None else check_positive_int(z_dim, "z_dim")
        second = VAE(first.z_dim, z_dim, hidden=hidden, likelihood="gaussian-learned",
                     dtype=np.float64, rng=np.random.default_rng(seed))
        fit(second, np.concatenate(codes), epochs=check_positive_int(epochs, "epochs"),
            batch_size=batch_size, lr=lr, rng=np.random.default_rng(seed + 1))
        return cls(first, second)

    def sample_codes(self, n: int, rng: np.random.Generator) -> np.ndarray:
        r"""Latent codes drawn from the second stage: :math:`z_2\sim\mathcal N(0, I)`,
        :math:`u\sim\mathcal N(\text{decoder}_2(z_2), \gamma_2 I)`; shape (n, first.z_dim)."""
        z2 = rng.standard_normal((check_positive_int(n, "n"), self.second.z_dim))
        mean = np.asarray(self.second.decode(z2), np.float64)
        return mean + np.exp(0.5 * self.second.params["log_gamma"]) * rng.standard_normal(mean.shape)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Data-space samples: the first decoder's mean at :meth:`sample_codes`, (n, x_dim)."""
        u = self.sample_codes(n, rng).astype(self.first.dtype)
        return self.first.likelihood.mean(self.first.decode(u))

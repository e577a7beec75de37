"""The reference: the VAE of PyTorch's examples repository (vae/main.py), same maths.

784-400-20 encoder (``fc1``, ``fc21``, ``fc22``), 20-400-784 decoder (``fc3``, ``fc4``), ReLU,
a sigmoid output and ``binary_cross_entropy(reduction="sum")`` plus the closed-form KL, summed over
the batch; Adam with learning rate 1e-3. Only used by the benchmarks: torch is never a runtime
or test dependency of elbo_edu (install it with the ``bench`` extra).
"""
from __future__ import annotations

import time


def make_torch_contender(threads: int, seed: int):
    """``(epoch(x, order) -> seconds, test_loss(x) -> float)``, or ``None`` without torch."""
    try:
        import torch
        import torch.nn.functional as F
        from torch import nn
    except ImportError:
        return None
    torch.set_num_threads(threads)
    torch.manual_seed(seed)

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 400)
            self.fc21 = nn.Linear(400, 20)
            self.fc22 = nn.Linear(400, 20)
            self.fc3 = nn.Linear(20, 400)
            self.fc4 = nn.Linear(400, 784)

        def encode(self, x):
            h1 = F.relu(self.fc1(x))
            return self.fc21(h1), self.fc22(h1)

        def reparameterize(self, mu, logvar):
            std = torch.exp(0.5 * logvar)
            return mu + torch.randn_like(std) * std

        def decode(self, z):
            return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

        def forward(self, x):
            mu, logvar = self.encode(x.view(-1, 784))
            return self.decode(self.reparameterize(mu, logvar)), mu, logvar

    def loss_function(recon_x, x, mu, logvar):
        bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return bce + kld

    model = VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    with torch.no_grad():                  # start torch's OpenMP pool now (see bench_train.py)
        model(torch.zeros(128, 784))

    def epoch(x, order):
        xt = torch.from_numpy(x)
        model.train()
        t0 = time.perf_counter()
        for idx in order:
            data = xt[torch.from_numpy(idx)]
            optimizer.zero_grad()
            recon, mu, logvar = model(data)
            loss = loss_function(recon, data, mu, logvar)
            loss.backward()
            optimizer.step()
        return time.perf_counter() - t0

    def test_loss(x):
        model.eval()
        xt, tot = torch.from_numpy(x), 0.0
        with torch.no_grad():
            for i in range(0, len(x), 1000):
                data = xt[i:i + 1000]
                recon, mu, logvar = model(data)
                tot += loss_function(recon, data, mu, logvar).item()
        return tot / len(x)

    return epoch, test_loss

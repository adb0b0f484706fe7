"""PyTorch's CPU time for the bench's comparison workloads (deno task bench --torch).

Times, on this machine and with --threads threads, what src/bench/ times on the adapter:
  matmul  F.linear 1024x1024 @ 1024x1024^T + bias, fp32, in GFLOP/s (2 N K M FLOPs);
  mlp     one MLP VAE training step (784-500-2 tanh, Kingma & Welling; Bernoulli decoder
          from logits, analytic KL, batch 200, Adam 1e-3), in images/s;
  conv    one conv VAE training step (the README's conv VAE: convs 1->32 5x5, 32->64 5x5,
          64->128 3x3 with ReLU and max pool 2; head 1152 -> 2 x 16; transposed convs 5x5
          stride 2 pad 1 16->128->64->32->1, each with batch norm (train mode) and ReLU;
          head 961 -> 784 logits; Bernoulli; batch 256, Adam 1e-3), in images/s.
A training step gathers its batch from a pool of 10,000 binary images, zeroes the gradients,
runs forward, loss, backward and Adam, as src/bench/training.ts does on the GPU. The images
are random (timing does not depend on the pixel values), so no data set is needed.

Warm-up steps first, then as many steps as fill --seconds (at least a few). Progress goes to
stderr; stdout gets one JSON object:
  {"torch": version, "python": version, "threads": n, "blas": [paths] or null,
   "workloads": {"matmul": {"shape", "ms", "iters", "gflops"},
                 "mlp" | "conv": {"shape", "ms", "iters", "images_per_s"}}}
--tiny shrinks every size (matmul 64^3, batch 8, one timed step) to check the script quickly.
"""

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

WORKLOADS = ("matmul", "mlp", "conv")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, required=True, help="torch.set_num_threads")
    p.add_argument("--seconds", type=float, default=8.0, help="time to fill per training workload")
    p.add_argument("--only", default=",".join(WORKLOADS), help="comma list of workloads")
    p.add_argument("--tiny", action="store_true", help="tiny sizes, one timed step")
    args = p.parse_args()
    only = [w for w in args.only.split(",") if w]
    for w in only:
        if w not in WORKLOADS:
            p.error(f"--only takes workloads among {', '.join(WORKLOADS)}; got '{w}'")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    out = {}
    if "matmul" in only:
        out["matmul"] = _matmul(64 if args.tiny else 1024, args)
    if "mlp" in only:
        out["mlp"] = _training("mlp", MlpVae(), 8 if args.tiny else 200, args)
    if "conv" in only:
        out["conv"] = _training("conv", ConvVae(), 8 if args.tiny else 256, args)
    print(json.dumps({
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "threads": torch.get_num_threads(),
        "blas": _blas_libraries(),
        "workloads": out,
    }))


def _blas_libraries() -> list[str] | None:
    """The BLAS libraries this process has loaded (Linux), or None where that cannot be read.

    Debian's torch calls whichever libblas.so.3 the alternatives system points at: the
    reference BLAS (blas/libblas.so.3, one thread, unoptimized) unless OpenBLAS or BLIS is
    installed. matmul, linear layers and transposed convs (im2col + gemm) call it; conv2d
    goes through oneDNN.
    """
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
    except OSError:
        return None
    return sorted({os.path.realpath(p) for p in paths})


class MlpVae(nn.Module):
    """Encoder 784 -> 500 tanh -> [mu | logvar] (2 + 2); decoder 2 -> 500 tanh -> 784 logits."""

    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(784, 500), nn.Tanh(), nn.Linear(500, 4))
        self.dec = nn.Sequential(nn.Linear(2, 500), nn.Tanh(), nn.Linear(500, 784))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _elbo_loss(self.enc(x), self.dec, x)


class ConvVae(nn.Module):
    """The course's conv VAE at latent 16."""

    def __init__(self, latent: int = 16) -> None:
        super().__init__()
        self.latent = latent
        self.enc = nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(128 * 3 * 3, 2 * latent),
        )
        layers: list[nn.Module] = [nn.Unflatten(1, (latent, 1, 1))]
        for ci, co in ((latent, 128), (128, 64), (64, 32), (32, 1)):
            layers += [nn.ConvTranspose2d(ci, co, 5, stride=2, padding=1), nn.BatchNorm2d(co), nn.ReLU()]
        self.dec = nn.Sequential(*layers, nn.Flatten(), nn.Linear(31 * 31, 784))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _elbo_loss(self.enc(x.view(-1, 1, 28, 28)), self.dec, x)


def _elbo_loss(h: torch.Tensor, dec: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """-ELBO per image, one reparameterized sample: Bernoulli NLL from logits plus analytic KL."""
    mu, logvar = h.chunk(2, dim=1)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    recon = F.binary_cross_entropy_with_logits(dec(z), x, reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu * mu - logvar.exp())
    return (recon + kl) / x.shape[0]


def _matmul(n: int, args: argparse.Namespace) -> dict:
    x, w, b = torch.rand(n, n) - 0.5, torch.rand(n, n) - 0.5, torch.rand(n) - 0.5
    run = lambda: F.linear(x, w, b)
    ms, iters = _time(run, warmup=1 if args.tiny else 3, seconds=0 if args.tiny else args.seconds / 4,
                      min_iters=1 if args.tiny else 10)
    r = {"shape": f"{n}x{n}->{n}", "ms": ms, "iters": iters, "gflops": 2 * n**3 / (ms * 1e6)}
    print(f"torch: matmul {r['shape']}: {r['gflops']:.2f} GFLOP/s", file=sys.stderr)
    return r


def _training(name: str, model: nn.Module, batch: int, args: argparse.Namespace) -> dict:
    pool_size = 64 if args.tiny else 10_000
    pool = (torch.rand(pool_size, 784) < 0.13).float()  # about MNIST's share of ink
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    state = {"i": 0, "loss": torch.zeros(())}

    def step() -> None:
        idx = torch.randint(pool_size, (batch,))
        opt.zero_grad(set_to_none=True)
        loss = model(pool[idx])
        loss.backward()
        opt.step()
        state["loss"] = loss.detach()

    ms, iters = _time(step, warmup=1 if args.tiny else 3, seconds=0 if args.tiny else args.seconds,
                      min_iters=1 if args.tiny else 3)
    loss = state["loss"].item()
    if not math.isfinite(loss):
        raise SystemExit(f"Cannot report PyTorch's {name} step: the last loss is {loss}")
    r = {"shape": f"batch {batch}", "ms": ms, "iters": iters, "images_per_s": batch * 1000 / ms}
    print(f"torch: {name} train step, {r['shape']}: {r['images_per_s']:.0f} images/s "
          f"({iters} steps)", file=sys.stderr)
    return r


def _time(run, warmup: int, seconds: float, min_iters: int) -> tuple[float, int]:
    """Milliseconds per call of `run` over as many calls as fill `seconds`, after warm-up."""
    for _ in range(max(warmup, 1)):
        t = time.perf_counter()
        run()
    last = time.perf_counter() - t  # the last warm-up call: the steadiest
    iters = max(min_iters, min(1000, math.ceil(seconds / max(last, 1e-6))))
    t0 = time.perf_counter()
    for _ in range(iters):
        run()
    return (time.perf_counter() - t0) * 1000 / iters, iters


if __name__ == "__main__":
    main()

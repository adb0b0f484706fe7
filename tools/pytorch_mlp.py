"""PyTorch definition of the project's MLP VAE (src/mlp/mlp_net.ts), for `deno task export`.

Its layers are named as the project's layout names them (enc.fc1 .. enc.fc{n+1}, dec.fc1 ..
dec.fc{n+1}; Linear weights (out, in)), so an MLP checkpoint's export loads with strict=True:

    import json, sys; sys.path.insert(0, "tools")
    from safetensors import safe_open
    from safetensors.torch import load_file
    from pytorch_mlp import MlpVae
    with safe_open(FILE, "pt") as f:
        args = json.loads(f.metadata()["module_args"])
    model = MlpVae(**args)
    model.load_state_dict(load_file(FILE), strict=True)

The keyword arguments are the checkpoint's config (`module_args` in the export's metadata).
The encoder's last layer gives 2 L numbers [a | b]; encode() turns them into [mu | logvar] as
the "logvar" head (as they are) or the "sigmoid" head (mu = sigmoid(a), logvar = 2 log
sigmoid(b): kernels/sigmoid_head_forward.wgsl) does. decode() gives the likelihood's head
(N, pixels, width), before any output activation (the likelihood applies that).
"""

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn


def _activation(kind: str, slope: float) -> nn.Module:
    """src/ops/activation.ts's kinds."""
    if kind == "tanh":
        return nn.Tanh()
    if kind == "relu":
        return nn.ReLU()
    if kind == "leaky_relu":
        return nn.LeakyReLU(slope)
    if kind == "sigmoid":
        return nn.Sigmoid()
    raise ValueError(f"Cannot build the MLP VAE: unknown activation {kind!r}; expected "
                     "tanh, relu, leaky_relu or sigmoid")


def _chain(widths: list[int], kind: str, slope: float) -> nn.Sequential:
    """Linear + activation layers fc1 .. fc{n}, then a last linear layer with none."""
    layers: list[tuple[str, nn.Module]] = []
    for i in range(1, len(widths)):
        layers.append((f"fc{i}", nn.Linear(widths[i - 1], widths[i])))
        if i < len(widths) - 1:
            layers.append((f"act{i}", _activation(kind, slope)))
    return nn.Sequential(OrderedDict(layers))


class MlpVae(nn.Module):
    """pixels -> hidden... -> 2 latent; latent -> hidden reversed -> pixels * width."""

    def __init__(self, pixels: int = 784, hidden: int | list[int] = 500, latent: int = 2,
                 activation: str = "tanh", decoder_activation: str | None = None,
                 slope: float = 0.01, head: str = "logvar", width: int = 1) -> None:
        super().__init__()
        if head not in ("logvar", "sigmoid"):
            raise ValueError(f"Cannot build the MLP VAE: head {head!r}, expected logvar or sigmoid")
        widths = [hidden] if isinstance(hidden, int) else list(hidden)
        self.pixels, self.latent, self.width, self.head = pixels, latent, width, head
        self.enc = _chain([pixels, *widths, 2 * latent], activation, slope)
        self.dec = _chain([latent, *widths[::-1], pixels * width],
                          decoder_activation or activation, slope)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """h (N, 2L) = [mu | logvar] of q(z | x) for x (N, pixels)."""
        h = self.enc(x.reshape(-1, self.pixels))
        if self.head == "logvar":
            return h
        a, b = h.chunk(2, dim=1)
        return torch.cat([torch.sigmoid(a), 2 * F.logsigmoid(b)], dim=1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The likelihood's head (N, pixels, width) for z (N, L)."""
        return self.dec(z).view(-1, self.pixels, self.width)

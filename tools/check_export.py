#!/usr/bin/python3
"""Checks `deno task export` files in PyTorch: each loads into its module with strict=True.

  /usr/bin/python3 tools/check_export.py FILE.torch.safetensors ...   # loads, one forward pass
  /usr/bin/python3 tools/check_export.py CASE.json ...                # and compares with ours

The module is the file's metadata `module` ("tools/pytorch_reference.py:ConvVae") built with
`module_args`. Every tensor must be f32 but num_batches_tracked (int64); the module must take
the file with load_state_dict(strict=True). A case (tests/export_test.ts writes them) also holds
inputs x (N, 784), z (N, L) and what the project's GPU model computed from them in eval mode,
h = [mu | logvar] (N, 2L) and the decoder head (N, 784 W), plus the steps trained; the module's
results must match within atol + rtol |ours|. Uses the safetensors package where installed,
else reads the format itself (8-byte little-endian header length, JSON header, raw
little-endian data). Prints one line per file; exits 1 on any mismatch, 2 on bad usage.
"""

import importlib
import json
import struct
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # importing the tools' modules leaves no __pycache__ in tools/

import numpy as np

try:
    import torch
except ImportError:
    print("Cannot check exports: this python3 has no torch. Install Debian's python3-torch and "
          "run it with /usr/bin/python3.", file=sys.stderr)
    sys.exit(2)

TOOLS = Path(__file__).resolve().parent
DTYPES = {"F64": "<f8", "F32": "<f4", "I64": "<i8", "I32": "<i4", "U32": "<u4", "U8": "u1"}


def read_safetensors(path: str) -> tuple[dict[str, torch.Tensor], dict[str, str], str]:
    """(tensors, metadata, which reader)."""
    try:
        from safetensors import safe_open
        from safetensors.torch import load_file
        with safe_open(path, "pt") as f:
            meta = f.metadata() or {}
        return load_file(path), meta, "safetensors"
    except ImportError:
        pass
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = memoryview(raw)[8 + n:]
    tensors = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        a = np.frombuffer(data[begin:end], dtype=DTYPES[t["dtype"]]).reshape(t["shape"])
        tensors[name] = torch.from_numpy(a.copy())
    return tensors, meta, "hand-parsed"


def build(meta: dict[str, str]) -> torch.nn.Module:
    """The module the export names, e.g. tools/pytorch_reference.py:ConvVae(latent=16, width=1)."""
    file, cls = meta["module"].split(":")
    sys.path.insert(0, str(TOOLS))
    module = importlib.import_module(Path(file).stem)
    return getattr(module, cls)(**json.loads(meta["module_args"]))


def forward(model: torch.nn.Module, x: torch.Tensor, z: torch.Tensor):
    """(h (N, 2L), head (N, 784 W)) in eval mode."""
    with torch.no_grad():
        h = model.encode(x) if hasattr(model, "encode") else model.enc(x.view(-1, 1, 28, 28))
        return h, model.decode(z).reshape(len(z), -1)


def close(name: str, got: torch.Tensor, want: torch.Tensor, atol: float, rtol: float) -> str:
    """'' where |got - want| <= atol + rtol |want| everywhere, else what differs."""
    got, want = got.double().flatten(), want.double().flatten()
    if got.shape != want.shape:
        return f"{name}: {got.numel()} values, ours {want.numel()}"
    err = (got - want).abs()
    bad = (err > atol + rtol * want.abs()) | ~torch.isfinite(got)
    if not bad.any():
        return ""
    i = int(bad.nonzero()[0])
    return (f"{name}: {int(bad.sum())} of {want.numel()} differ (max abs err "
            f"{err.max().item():.3e}; [{i}] PyTorch {got[i].item():.6g}, ours {want[i].item():.6g})")


def check(path: str) -> str:
    """'' where `path` (an export or a case) passes, else why not."""
    case = json.loads(Path(path).read_text()) if path.endswith(".json") else None
    weights = case["weights"] if case else path
    tensors, meta, reader = read_safetensors(weights)
    if "module" not in meta or "module_args" not in meta:
        return f"{weights}: not a `deno task export` file (its metadata names no module)"
    for name, t in tensors.items():
        want = torch.int64 if name.endswith(".num_batches_tracked") else torch.float32
        if t.dtype != want:
            return f"{weights}: {name} is {t.dtype}, PyTorch keeps {want}"
    model = build(meta)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as e:
        return f"{weights}: load_state_dict(strict=True) refused it: {e}"
    model.eval()
    if case is None:
        latent = model.latent
        h, head = forward(model, torch.rand(2, 784), torch.randn(2, latent))
        if not (torch.isfinite(h).all() and torch.isfinite(head).all()):
            return f"{weights}: the forward pass gave non-finite values"
        print(f"ok {weights}: {len(tensors)} tensors ({reader}) into {meta['module']}, "
              f"forward pass finite")
        return ""
    tracked = [int(t) for n, t in tensors.items() if n.endswith(".num_batches_tracked")]
    if any(t != case["steps"] for t in tracked):
        return f"{weights}: num_batches_tracked {tracked}, trained {case['steps']} steps"
    n = case["n"]
    x = torch.tensor(case["x"], dtype=torch.float32).view(n, 784)
    z = torch.tensor(case["z"], dtype=torch.float32).view(n, -1)
    h, head = forward(model, x, z)
    atol, rtol = case["atol"], case["rtol"]
    problems = [p for p in (close("h = [mu | logvar]", h, torch.tensor(case["h"]), atol, rtol),
                            close("decoder head", head, torch.tensor(case["head"]), atol, rtol))
                if p]
    if problems:
        return f"{weights}: " + "; ".join(problems)
    err = max((h.flatten().double() - torch.tensor(case["h"]).double()).abs().max().item(),
              (head.flatten().double() - torch.tensor(case["head"]).double()).abs().max().item())
    print(f"ok {weights}: {len(tensors)} tensors ({reader}) into {meta['module']}, strict; "
          f"h and decoder head of {n} images match ours (max abs err {err:.2e})")
    return ""


def main() -> None:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    failed = [p for p in map(check, sys.argv[1:]) if p]
    for p in failed:
        print(f"FAIL {p}", file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

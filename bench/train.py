"""Training throughput of MVPT (default config, 5.6 M parameters): segments per second.

    python bench/train.py                 # CPU (and CUDA fp32 + AMP when a GPU is present)
    python bench/train.py --steps 5 --json out.json

A "segment" is one real (non-padded) segment of one video through both towers, forward and
backward, with the segment- and track-level InfoNCE of a full training step (AdamW update
included). Inputs are random features of the default dims (visual 512, music 256), batch
64 x L 30, so no dataset is needed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from engine.model.config import MVPTConfig  # noqa: E402
from engine.model.losses import info_nce  # noqa: E402
from engine.model.mvpt import MVPT, count_parameters  # noqa: E402


def bench(device: str, amp: bool, steps: int, batch: int, L: int, warmup: int = 2) -> dict:
    torch.manual_seed(0)
    model = MVPT(MVPTConfig(visual_dim=512, music_dim=256, seq_len=L)).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    v = torch.randn(batch, L, 512, device=device)
    m = torch.randn(batch, L, 256, device=device)
    mask = torch.ones(batch, L, dtype=torch.bool, device=device)
    dtype = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else torch.float16

    def step() -> None:
        with torch.autocast(device, dtype=dtype, enabled=amp):
            ov, om = model(v, m, mask)
        d = ov.segments.shape[-1]
        loss = info_nce(ov.segments.reshape(-1, d), om.segments.reshape(-1, d)) + info_nce(ov.cls, om.cls)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    for _ in range(warmup):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    return {"device": device if device == "cpu" else torch.cuda.get_device_name(), "amp": amp,
            "batch": batch, "L": L, "steps": steps, "params": count_parameters(model),
            "seconds_per_step": dt / steps, "segments_per_s": batch * L * steps / dt,
            "threads": torch.get_num_threads()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=5, help="timed steps on CPU (CUDA runs 10x as many)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--seq-len", type=int, default=30)
    p.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--no-cpu", action="store_true")
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    rows = []
    if not a.no_cpu:
        rows.append(bench("cpu", False, a.steps, a.batch, a.seq_len))
    if torch.cuda.is_available():
        rows.append(bench("cuda", False, a.steps * 10, a.batch, a.seq_len, warmup=5))
        rows.append(bench("cuda", True, a.steps * 10, a.batch, a.seq_len, warmup=5))
    for r in rows:
        print(f"{r['device']:<24} amp={str(r['amp']):<5} batch {r['batch']}x{r['L']}: "
              f"{r['seconds_per_step'] * 1000:8.1f} ms/step  {r['segments_per_s']:10.0f} segments/s")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

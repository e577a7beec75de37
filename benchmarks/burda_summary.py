"""Summarise the VAE-k / IWAE-k runs of the reproduced-results page: elbo_edu against PyTorch.

Reads elbo_edu run folders (their ``evaluation.json``, written by ``elbo-edu evaluate``) and the
JSON files of ``benchmarks/burda_torch.py``, and prints for each (implementation, objective) the
seeds, the test NLL of every run, its mean and range, the active units, then the margins the
paper reports (IWAE-k minus VAE-1) and elbo_edu minus PyTorch with its standard error over seeds
(Welch). Usage::

    python benchmarks/burda_summary.py --elbo-edu 'runs/vae1_s*' 'runs/iwae5_s*' \
        --torch 'results/torch_*.json'
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import statistics
import sys
from pathlib import Path


def _elbo_edu(pattern):
    rows = []
    for d in sorted(glob.glob(pattern)):
        ev, cfg = Path(d) / "evaluation.json", Path(d) / "config.json"
        if not ev.is_file():
            continue
        e, c = json.loads(ev.read_text()), json.loads(cfg.read_text())["train"]
        name = ("vae" if c.get("objective", "elbo") == "elbo" else c["objective"]) + str(c["k"])
        rows.append({"impl": "elbo_edu", "objective": name, "seed": c["seed"],
                     "nll": e["iwae_nll"], "neg_elbo": e["test_loss"], "au": e["active_units"]})
    return rows


def _torch(pattern):
    rows = []
    for f in sorted(glob.glob(pattern)):
        r = json.loads(Path(f).read_text())
        rows.append({"impl": "torch", "objective": f"{r['objective']}{r['k']}", "seed": r["seed"],
                     "nll": r["test_nll"], "neg_elbo": r["test_neg_elbo"],
                     "au": r["active_units"]})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--elbo-edu", nargs="+", default=[], help="glob(s) of run folders")
    p.add_argument("--torch", nargs="+", default=[], help="glob(s) of burda_torch.py outputs")
    p.add_argument("--out", default=None, help="JSON output")
    a = p.parse_args(argv)
    rows = [r for g in a.elbo_edu for r in _elbo_edu(g)] + [r for g in a.torch for r in _torch(g)]
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["impl"], r["objective"]), []).append(r)
    summary = {}
    print("| implementation | objective | seeds | test NLL per seed | mean | range | "
          "neg. ELBO mean | active units |")
    print("|---|---|---|---|---|---|---|---|")
    for (impl, obj), rs in sorted(groups.items()):
        rs.sort(key=lambda r: r["seed"])
        nll = [r["nll"] for r in rs]
        s = {"seeds": [r["seed"] for r in rs], "nll": nll, "mean": statistics.mean(nll),
             "sd": statistics.stdev(nll) if len(nll) > 1 else float("nan"),
             "neg_elbo": statistics.mean(r["neg_elbo"] for r in rs),
             "au": [r["au"] for r in rs]}
        summary[f"{impl} {obj}"] = s
        print(f"| {impl} | {obj} | {','.join(map(str, s['seeds']))} | "
              f"{', '.join(f'{v:.2f}' for v in nll)} | {s['mean']:.2f} | "
              f"{min(nll):.2f}–{max(nll):.2f} | {s['neg_elbo']:.2f} | "
              f"{min(s['au'])}–{max(s['au'])} |")
    print()
    for impl in ("elbo_edu", "torch"):
        v, i = summary.get(f"{impl} vae1"), summary.get(f"{impl} iwae5")
        if v and i:
            print(f"{impl}: IWAE-5 - VAE-1 = {i['mean'] - v['mean']:+.2f} nats")
    for obj in ("vae1", "iwae5"):
        e, t = summary.get(f"elbo_edu {obj}"), summary.get(f"torch {obj}")
        if e and t and len(e["nll"]) > 1 and len(t["nll"]) > 1:
            se = math.sqrt(e["sd"] ** 2 / len(e["nll"]) + t["sd"] ** 2 / len(t["nll"]))
            print(f"{obj}: elbo_edu - torch = {e['mean'] - t['mean']:+.2f} ± {se:.2f} nats "
                  f"(standard error over seeds)")
    if a.out:
        Path(a.out).write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Summarise the VAE-k / IWAE-k runs of the reproduced-results page: elbo_edu against PyTorch.

Reads elbo_edu run folders (their ``evaluation.json``, written by ``elbo-edu evaluate``, and
``metrics.jsonl`` for the epoch times) and the JSON files of ``benchmarks/burda_torch.py``. A run
folder does not record the kernel backend it was trained with, so the folders trained with the
default numba backend go to ``--elbo-edu`` and those trained with ``ELBO_EDU_BACKEND=numpy`` to
``--elbo-edu-numpy``. Printed: every run (seed, test NLL with its standard error over the test
images, negative ELBO, active units, mean epoch seconds), then for each (implementation,
objective) the NLL of every seed, its mean and range and the ranges of the other columns, then
the margins the paper reports (IWAE-k minus VAE-1) and each elbo_edu backend minus PyTorch with
its standard error over seeds (Welch), and numpy minus numba, seed by seed and for the
means. Usage::

    python benchmarks/burda_summary.py --elbo-edu 'runs/vae1_s*' 'runs/iwae5_s*' \
        --elbo-edu-numpy 'runs_numpy/*_s*' --torch 'results/torch_*.json'
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import statistics
import sys
from pathlib import Path


def _elbo_edu(pattern, impl="elbo_edu"):
    rows = []
    for d in sorted(glob.glob(pattern)):
        ev, cfg = Path(d) / "evaluation.json", Path(d) / "config.json"
        if not ev.is_file():
            continue
        e, c = json.loads(ev.read_text()), json.loads(cfg.read_text())["train"]
        name = ("vae" if c.get("objective", "elbo") == "elbo" else c["objective"]) + str(c["k"])
        metrics = Path(d) / "metrics.jsonl"
        secs = [json.loads(line)["seconds"] for line in metrics.read_text().splitlines()
                if line.strip()] if metrics.is_file() else []
        rows.append({"impl": impl, "objective": name, "seed": c["seed"],
                     "nll": e["iwae_nll"], "se": e.get("iwae_nll_se"), "neg_elbo": e["test_loss"],
                     "au": e["active_units"],
                     "epoch_s": statistics.mean(secs) if secs else None})
    return rows


def _torch(pattern):
    rows = []
    for f in sorted(glob.glob(pattern)):
        r = json.loads(Path(f).read_text())
        rows.append({"impl": "torch", "objective": f"{r['objective']}{r['k']}", "seed": r["seed"],
                     "nll": r["test_nll"], "se": r.get("test_nll_se"),
                     "neg_elbo": r["test_neg_elbo"], "au": r["active_units"],
                     "epoch_s": statistics.mean(r["epoch_seconds"])
                     if r.get("epoch_seconds") else None})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--elbo-edu", nargs="+", default=[],
                   help="glob(s) of run folders trained with the numba backend (the default)")
    p.add_argument("--elbo-edu-numpy", nargs="+", default=[],
                   help="glob(s) of run folders trained with ELBO_EDU_BACKEND=numpy")
    p.add_argument("--torch", nargs="+", default=[], help="glob(s) of burda_torch.py outputs")
    p.add_argument("--out", default=None, help="JSON output")
    a = p.parse_args(argv)
    rows = ([r for g in a.elbo_edu for r in _elbo_edu(g)]
            + [r for g in a.elbo_edu_numpy for r in _elbo_edu(g, "elbo_edu-numpy")]
            + [r for g in a.torch for r in _torch(g)])
    print("| implementation | objective | seed | test NLL ± SE | neg. ELBO | active units | "
          "epoch s |")
    print("|---|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: (r["impl"], r["objective"], r["seed"])):
        se = "" if r["se"] is None else f" ± {r['se']:.2f}"
        sec = "–" if r["epoch_s"] is None else f"{r['epoch_s']:.1f}"
        print(f"| {r['impl']} | {r['objective']} | {r['seed']} | {r['nll']:.2f}{se} | "
              f"{r['neg_elbo']:.2f} | {r['au']} | {sec} |")
    print()
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["impl"], r["objective"]), []).append(r)
    summary = {}
    print("| implementation | objective | seeds | test NLL per seed | mean | range | "
          "neg. ELBO range | active units | epoch s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (impl, obj), rs in sorted(groups.items()):
        rs.sort(key=lambda r: r["seed"])
        nll = [r["nll"] for r in rs]
        s = {"seeds": [r["seed"] for r in rs], "nll": nll, "mean": statistics.mean(nll),
             "sd": statistics.stdev(nll) if len(nll) > 1 else float("nan"),
             "neg_elbo": statistics.mean(r["neg_elbo"] for r in rs),
             "neg_elbos": [r["neg_elbo"] for r in rs], "au": [r["au"] for r in rs],
             "epoch_s": [r["epoch_s"] for r in rs if r["epoch_s"] is not None]}
        summary[f"{impl} {obj}"] = s
        print(f"| {impl} | {obj} | {','.join(map(str, s['seeds']))} | "
              f"{', '.join(f'{v:.2f}' for v in nll)} | {s['mean']:.2f} | "
              f"{min(nll):.2f}–{max(nll):.2f} | "
              f"{min(s['neg_elbos']):.2f}–{max(s['neg_elbos']):.2f} | "
              f"{min(s['au'])}–{max(s['au'])} | "
              + (f"{min(s['epoch_s']):.1f}–{max(s['epoch_s']):.1f} |" if s["epoch_s"] else "– |"))
    print()
    impls = ("elbo_edu", "elbo_edu-numpy", "torch")
    for impl in impls:
        v, i = summary.get(f"{impl} vae1"), summary.get(f"{impl} iwae5")
        if v and i:
            paired = {r: n for r, n in zip(v["seeds"], v["nll"])}
            per_seed = [n - paired[r] for r, n in zip(i["seeds"], i["nll"]) if r in paired]
            extra = (f" (per seed {min(per_seed):+.2f} to {max(per_seed):+.2f})"
                     if per_seed else "")
            print(f"{impl}: IWAE-5 - VAE-1 = {i['mean'] - v['mean']:+.2f} nats{extra}")
    for obj in ("vae1", "iwae5"):
        for impl in impls[:2]:
            e, t = summary.get(f"{impl} {obj}"), summary.get(f"torch {obj}")
            if e and t and len(e["nll"]) > 1 and len(t["nll"]) > 1:
                se = math.sqrt(e["sd"] ** 2 / len(e["nll"]) + t["sd"] ** 2 / len(t["nll"]))
                print(f"{obj}: {impl} - torch = {e['mean'] - t['mean']:+.2f} ± {se:.2f} nats "
                      f"(standard error over seeds)")
        a_, b_ = summary.get(f"elbo_edu-numpy {obj}"), summary.get(f"elbo_edu {obj}")
        if a_ and b_:
            numba = dict(zip(b_["seeds"], b_["nll"]))
            d = [n - numba[r] for r, n in zip(a_["seeds"], a_["nll"]) if r in numba]
            if d:
                print(f"{obj}: numpy - numba backend, seed by seed: "
                      + ", ".join(f"{x:+.2f}" for x in d))
            if len(a_["nll"]) > 1 and len(b_["nll"]) > 1:
                se = math.sqrt(a_["sd"] ** 2 / len(a_["nll"]) + b_["sd"] ** 2 / len(b_["nll"]))
                print(f"{obj}: numpy - numba backend, means: "
                      f"{a_['mean'] - b_['mean']:+.2f} ± {se:.2f} nats")
    if a.out:
        Path(a.out).write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

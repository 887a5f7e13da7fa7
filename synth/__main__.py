"""``python -m synth``: write the demo trial or a synthetic trial of any size.

    python -m synth demo  --out demo/exports
    python -m synth trial --subjects 1000 --sites 10 --seed 7 --out /tmp/trial1000
    python -m synth corrupt --out /tmp/corrupt     # one invalid export per contract rule

Same arguments, same bytes. See ``synth/__init__.py`` for what the trial contains.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

from synth import DEMO, corrupt_variants, generate_trial, write_demo, write_trial


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m synth",
        description="Seeded synthetic site exports of jRCTs031230358 (no real patient data). "
                    "Same arguments -> same bytes.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="the demo trial committed in demo/exports: "
                          f"{DEMO['n_subjects']} screened at {DEMO['n_sites']} sites "
                          f"(10 enrolled), data cut {DEMO['data_cut']}, site 02 in CP932")
    demo.add_argument("--out", type=Path, default=Path("demo/exports"),
                      help="folder to write site01/, site02/ into (default: demo/exports)")
    trial = sub.add_parser("trial", help="a trial of any size, one folder per site")
    trial.add_argument("--subjects", type=int, required=True, help="screened subjects (dm rows)")
    trial.add_argument("--sites", type=int, default=1, help="sites (at most 999 subjects each)")
    trial.add_argument("--seed", type=int, default=1)
    trial.add_argument("--data-cut", type=dt.date.fromisoformat,
                       default=dt.date.fromisoformat(DEMO["data_cut"]), help="YYYY-MM-DD")
    trial.add_argument("--no-export-json", action="store_true",
                       help="omit export.json (the data cut is then the latest date in the rows)")
    trial.add_argument("--cp932-sites", default="", help="comma-separated site IDs written in CP932")
    trial.add_argument("--out", type=Path, required=True)
    corrupt = sub.add_parser("corrupt", help="invalid variants of one valid site export, each "
                             "breaking exactly one contract rule; variants.json lists each "
                             "variant's path and the problem line the ETL must print")
    corrupt.add_argument("--seed", type=int, default=4)
    corrupt.add_argument("--subjects", type=int, default=12)
    corrupt.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.command == "demo":
        paths = write_demo(args.out)
    elif args.command == "corrupt":
        cut = dt.date.fromisoformat(DEMO["data_cut"])
        base = generate_trial(args.seed, args.subjects, 1, cut)["01"]
        manifest = {}
        paths = []
        for variant in corrupt_variants(base, cut):
            path = variant.write(args.out)
            paths.append(path)
            manifest[variant.name] = {"path": str(path), "rule": variant.rule,
                                      "expected": variant.expected}
        (args.out / "variants.json").write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    else:
        frames = generate_trial(args.seed, args.subjects, args.sites, args.data_cut)
        encodings = {s: "cp932" for s in args.cp932_sites.split(",") if s}
        paths = write_trial(frames, args.out, None if args.no_export_json else args.data_cut,
                            encodings)
    for p in paths:
        print(p)
    print(f"{len(paths)} site export(s) written in {time.perf_counter() - start:.1f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Writes the teacher's examples (make-data.ts) whose own tokens, after the view, hold a given token: the
decisions of one kind (an answer: "}"; a wait: " Waiting"), for a training phase that weighs them up.

    /usr/bin/python3 tools/demo-model/select.py --token "}" --out answers.jsonl train.jsonl blind.jsonl
"""
import argparse
import json
import os

TOKENIZER = os.path.join(os.path.dirname(__file__), "..", "..", "engine", "models", "hogwild-demo", "tokenizer.json")


def main():
    ap = argparse.ArgumentParser(usage="%(prog)s --token TOKEN --out OUT INPUT [INPUT ...]",
                                 description="The teacher's examples whose own tokens hold a given token.")
    ap.add_argument("--token", help="a token of the demo model's vocabulary, e.g. ' Waiting' (required)")
    ap.add_argument("--out", help="the examples kept (required)")
    ap.add_argument("inputs", nargs="*", help="the examples to read (make-data.ts's JSONL)")
    a = ap.parse_args()
    # checked here, not by argparse, so that an unknown flag is named before a missing one
    for name, given in (("--token", a.token is not None), ("--out", a.out is not None), ("inputs", a.inputs)):
        if not given:
            ap.error(f"{name} is required")
    with open(TOKENIZER) as f:
        vocab = json.load(f)["model"]["vocab"]
    if a.token not in vocab:
        raise SystemExit(f"select.py: --token {a.token!r} is not in the demo model's vocabulary ({TOKENIZER})")
    token, kept, seen = vocab[a.token], 0, 0
    with open(a.out, "w") as out:
        for path in a.inputs:
            with open(path) as f:
                for line in f:
                    seen += 1
                    e = json.loads(line)
                    if token in e["ids"][e["start"]:]:
                        out.write(line)
                        kept += 1
    print(f"select.py: {kept} of {seen} examples hold {a.token!r} → {a.out}")


if __name__ == "__main__":
    main()

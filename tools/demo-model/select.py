"""Writes the teacher's examples (make-data.ts) whose own tokens, after the view, hold a given token: the
decisions of one kind (an answer: "}"; a wait: " Waiting"), for a training phase that weighs them up.

    /usr/bin/python3 tools/demo-model/select.py --token "}" --out answers.jsonl train.jsonl blind.jsonl
"""
import argparse
import json
import os

TOKENIZER = os.path.join(os.path.dirname(__file__), "..", "..", "engine", "models", "hogwild-demo", "tokenizer.json")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--token", required=True, help="a token of the demo model's vocabulary, e.g. ' Waiting'")
    ap.add_argument("--out", required=True)
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()
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

"""Trains the demo model (engine/models/hogwild-demo) on the teacher's examples (make-data.ts).

A Llama-architecture transformer (RMSNorm, RoPE, grouped-query attention, SwiGLU, tied embeddings) written
out in plain PyTorch, trained with the loss on the teacher's tokens only, and saved as a standard Hugging
Face folder in float32: config.json and model.safetensors. It reads two kinds of records, mixed at will:
examples (a view as one sequence, the teacher's tokens after it) and whole runs (make-data.ts --runs), whose
tokens attend as the engine's shared cache computes them (RunLayout). It also writes the reference logits of a few
held-out examples and runs (tests/fixtures/hogwild-demo-reference.safetensors), which the engine must match.

    /usr/bin/python3 tools/demo-model/train.py --data tools/demo-model/data/train.jsonl --minutes 60

Seeded; on 2 CPU cores (torch.set_num_threads(2)) it trains at a few thousand tokens a second.
"""
import argparse
import json
import math
import os
import random
import struct
import time


def arguments():
    ap = argparse.ArgumentParser(
        description="Trains the demo model on the teacher's examples (tools/demo-model/retrain.sh runs it in phases: "
        "each phase's --minutes is how long it takes).")
    ap.add_argument("--data", nargs="+", default=[os.path.join(os.path.dirname(__file__), "data", "train.jsonl")])
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--tokens-per-batch", type=int, default=4096)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--init", action="store_true", help="start from the model folder's weights")
    ap.add_argument("--view-weight", type=float, default=0.25, help="the loss weight of the view's own tokens")
    ap.add_argument("--answer-weight", type=float, default=1.0, help="the loss weight of answers (boxed)")
    return ap


# --help and a bad flag are answered before PyTorch loads (it may not be installed: retrain.sh installs it).
ARGS = arguments().parse_args() if __name__ == "__main__" else None

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:
    raise SystemExit(f"train.py: {e}: install PyTorch (Debian: apt-get install python3-torch, as retrain.sh does)")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL_DIR = os.path.join(ROOT, "engine", "models", "hogwild-demo")
REFERENCE = os.path.join(ROOT, "tests", "fixtures", "hogwild-demo-reference.safetensors")

CONFIG = dict(
    hidden_size=128,
    intermediate_size=384,
    num_hidden_layers=4,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=32,
    rms_norm_eps=1e-5,
    rope_theta=10000.0,
    max_position_embeddings=2048,
)


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def rope(x, cos, sin):
    return x * cos + rotate_half(x) * sin


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        H, hd = c["hidden_size"], c["head_dim"]
        self.heads, self.kv, self.hd = c["num_attention_heads"], c["num_key_value_heads"], hd
        self.input_layernorm = RMSNorm(H, c["rms_norm_eps"])
        self.q_proj = nn.Linear(H, self.heads * hd, bias=False)
        self.k_proj = nn.Linear(H, self.kv * hd, bias=False)
        self.v_proj = nn.Linear(H, self.kv * hd, bias=False)
        self.o_proj = nn.Linear(self.heads * hd, H, bias=False)
        self.post_attention_layernorm = RMSNorm(H, c["rms_norm_eps"])
        self.gate_proj = nn.Linear(H, c["intermediate_size"], bias=False)
        self.up_proj = nn.Linear(H, c["intermediate_size"], bias=False)
        self.down_proj = nn.Linear(c["intermediate_size"], H, bias=False)

    def forward(self, x, attend):
        B, T, _ = x.shape
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(B, T, self.heads, self.hd).transpose(1, 2)
        k = self.k_proj(h).view(B, T, self.kv, self.hd).transpose(1, 2)
        v = self.v_proj(h).view(B, T, self.kv, self.hd).transpose(1, 2)
        rep = self.heads // self.kv
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        y = attend(q, k, v).transpose(1, 2).reshape(B, T, -1)
        x = x + self.o_proj(y)
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


def rope_table(c, n):
    """cos and sin of every position below n, [n, head_dim]."""
    hd = c["head_dim"]
    inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    ang = torch.arange(n, dtype=torch.float64)[:, None] * inv[None, :]
    return torch.cat([ang.cos(), ang.cos()], -1).float(), torch.cat([ang.sin(), ang.sin()], -1).float()


def causal(c, T):
    """Attention over one sequence: position t sees positions up to t."""
    cos, sin = rope_table(c, T)
    mask = torch.full((T, T), float("-inf")).triu(1)
    scale = 1 / math.sqrt(c["head_dim"])

    def attend(q, k, v):
        return ((rope(q, cos, sin) @ rope(k, cos, sin).transpose(-1, -2)) * scale + mask).softmax(-1) @ v

    return attend


class RunLayout:
    """
    A run's attention as the shared cache computes it (make-data.ts --runs, teacher.ts RunRecord). Token i,
    written by row r at pass p, sees token j of block b when r's view holds b, j was written at pass p or
    before, and j's place in that view (b's offset there plus j's index in b) is at or before i's own. The
    score rotates i's query by i's position relative to b's start in its view and j's key by its index in b,
    as the engine rotates queries per block: keys are computed once, where they are written, and never again.
    """

    def __init__(self, c, rec):
        self.c = c
        blk, pos, pas, row = (torch.tensor(rec[k]) for k in ("block", "pos", "pass", "row"))
        vs = torch.tensor(rec["row_view_start"])
        R, N = len(rec["row_q"]), len(blk)
        nb = max(max(rec["view_block"]), max(rec["block"])) + 1
        off = torch.full((R, nb), -1, dtype=torch.long)  # each row's offset of each block, -1: not in its view
        off[torch.repeat_interleave(torch.arange(R), vs[1:] - vs[:-1]), torch.tensor(rec["view_block"])] = torch.tensor(
            rec["view_offset"]
        )
        o = off[row]  # [N, blocks]
        rel = (o[torch.arange(N), blk] + pos)[:, None] - o  # each token's view position past each block's start
        self.order = torch.argsort(blk * (int(pos.max()) + 1) + pos)  # keys block by block
        kb, kp = blk[self.order], pos[self.order]
        visible = (o[:, kb] >= 0) & (pas[self.order][None, :] <= pas[:, None]) & (rel[:, kb] - kp[None, :] >= 0)
        self.mask = torch.zeros(visible.shape).masked_fill(~visible, float("-inf"))
        bounds = torch.searchsorted(kb, torch.arange(nb + 1))
        self.blocks = [(b, int(bounds[b]), int(bounds[b + 1])) for b in range(nb) if bounds[b + 1] > bounds[b]]
        cos, sin = rope_table(c, int(max(rel.max(), pos.max())) + 1)
        at = rel.clamp(min=0)
        self.q_rot = {b: (cos[at[:, b]], sin[at[:, b]]) for b, _, _ in self.blocks}
        self.k_rot = (cos[kp], sin[kp])

    def attend(self, q, k, v):
        k, v = k[..., self.order, :], v[..., self.order, :]
        kt = rope(k, *self.k_rot).transpose(-1, -2)
        qh = rotate_half(q)  # rope(q, cos, sin) = q * cos + qh * sin, once for every block's rotation
        scores = torch.cat([(q * self.q_rot[b][0] + qh * self.q_rot[b][1]) @ kt[..., s:e] for b, s, e in self.blocks], -1)
        return ((scores / math.sqrt(self.c["head_dim"]) + self.mask).softmax(-1)) @ v


class Model(nn.Module):
    def __init__(self, c, vocab):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(vocab, c["hidden_size"])
        self.layers = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        nn.init.normal_(self.embed_tokens.weight, std=0.02)
        for layer in self.layers:
            for lin in (layer.q_proj, layer.k_proj, layer.v_proj, layer.gate_proj, layer.up_proj):
                nn.init.normal_(lin.weight, std=0.02)
            for lin in (layer.o_proj, layer.down_proj):
                nn.init.normal_(lin.weight, std=0.02 / math.sqrt(2 * c["num_hidden_layers"]))

    def forward(self, ids, attend=None):
        """Logits of every position: of one sequence each row of `ids`, or of a run's tokens (RunLayout.attend)."""
        attend = attend or causal(self.c, ids.shape[1])
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x, attend)
        return self.norm(x) @ self.embed_tokens.weight.T


def batches(examples, tokens_per_batch, rng):
    """Examples of similar length together, up to `tokens_per_batch` padded tokens a batch."""
    order = sorted(range(len(examples)), key=lambda i: len(examples[i]["ids"]) + rng.random())
    out, cur, longest = [], [], 0
    for i in order:
        n = len(examples[i]["ids"])
        if cur and max(longest, n) * (len(cur) + 1) > tokens_per_batch:
            out.append(cur)
            cur, longest = [], 0
        cur.append(i)
        longest = max(longest, n)
    if cur:
        out.append(cur)
    rng.shuffle(out)
    return out


def tensors(examples, idx, pad, view_weight=0.0, answer=None):
    """
    Token ids, next-token targets (-100: none) and weights: the teacher's tokens 1, the view after its prompt
    `view_weight` (the others' finished steps hold the same additions, and far more of them), the prompt 0
    (a problem's terms are random: learning to guess them only adds noise). `answer`, when given, is (the id
    that closes a box, a weight): the teacher's tokens of a decision that closes a box (an answer, the
    finisher's) weigh that much instead of 1.
    """
    T = max(len(examples[i]["ids"]) for i in idx)
    ids = torch.full((len(idx), T), pad, dtype=torch.long)
    target = torch.full((len(idx), T), -100, dtype=torch.long)
    weight = torch.zeros((len(idx), T))
    for r, i in enumerate(idx):
        e = examples[i]["ids"]
        ids[r, : len(e)] = torch.tensor(e)
        s = examples[i]["start"]
        target[r, : len(e) - 1] = torch.tensor(e[1:])  # position t predicts token t+1
        weight[r, max(examples[i]["prompt"] - 1, 0) : s - 1] = view_weight
        # the answer and the finisher's are one decision in many, and the one that grades the rest
        weight[r, s - 1 : len(e) - 1] = answer[1] if answer and answer[0] in e[s:] else 1.0
    return ids, target, weight


RUN_FIELDS = ("ids", "block", "pos", "pass", "row", "row_q", "row_view_start", "view_block", "view_offset", "target", "plan")


def is_run(record):
    return "row_view_start" in record


def run_tensors(rec, answer=None):
    """A run's token ids [1, N], targets (-100: none) and weights: 1 a teacher's token, `answer` as in tensors."""
    target = torch.tensor(rec["target"])
    weight = (target >= 0).float()
    if answer:
        plan = torch.tensor(rec["plan"])
        boxed = plan[(target == answer[0]) & (plan >= 0)].unique()
        weight[torch.isin(plan, boxed) & (target >= 0)] = answer[1]
    return torch.tensor([rec["ids"]]), target.masked_fill(target < 0, -100)[None], weight[None]


def save_safetensors(path, named):
    header, blobs, at = {}, [], 0
    for name, t in named:
        t = t.detach().contiguous()
        dtype = "I32" if t.dtype == torch.int32 else "F32"
        b = (t if dtype == "I32" else t.float()).numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    js = json.dumps(header).encode()
    js += b" " * ((8 - len(js) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(js)))
        f.write(js)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def hf_names(model):
    """The model's parameters under their Hugging Face names, in file order."""
    named = [("model.embed_tokens.weight", model.embed_tokens.weight)]
    for i, L in enumerate(model.layers):
        p = f"model.layers.{i}."
        named += [
            (p + "input_layernorm.weight", L.input_layernorm.weight),
            (p + "self_attn.q_proj.weight", L.q_proj.weight),
            (p + "self_attn.k_proj.weight", L.k_proj.weight),
            (p + "self_attn.v_proj.weight", L.v_proj.weight),
            (p + "self_attn.o_proj.weight", L.o_proj.weight),
            (p + "post_attention_layernorm.weight", L.post_attention_layernorm.weight),
            (p + "mlp.gate_proj.weight", L.gate_proj.weight),
            (p + "mlp.up_proj.weight", L.up_proj.weight),
            (p + "mlp.down_proj.weight", L.down_proj.weight),
        ]
    named.append(("model.norm.weight", model.norm.weight))
    return named


def load_model(model, path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + n])
    with torch.no_grad():
        for name, p in hf_names(model):
            a, b = header[name]["data_offsets"]
            p.copy_(torch.frombuffer(bytearray(data[8 + n + a : 8 + n + b]), dtype=torch.float32).view(p.shape))


def save_model(model, vocab, eos):
    named = hf_names(model)
    save_safetensors(os.path.join(MODEL_DIR, "model.safetensors"), named)
    config = dict(
        architectures=["LlamaForCausalLM"],
        model_type="llama",
        vocab_size=vocab,
        hidden_act="silu",
        tie_word_embeddings=True,
        attention_bias=False,
        mlp_bias=False,
        rope_scaling=None,
        torch_dtype="float32",
        bos_token_id=None,
        eos_token_id=eos,
        **CONFIG,
    )
    with open(os.path.join(MODEL_DIR, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")


def prepared(records, idx, pad, view_weight=0.0, answer=None):
    """A batch of examples or one run: token ids, targets, weights, and its attention (None: causal)."""
    if is_run(records[idx[0]]):
        (rec,) = (records[i] for i in idx)  # a run alone: its attention is its own
        return (*run_tensors(rec, answer), RunLayout(CONFIG, rec).attend)
    return (*tensors(records, idx, pad, view_weight, answer), None)


def evaluate(model, records, pad):
    """Token accuracy on the teacher's tokens, and the share of records whose every token is right."""
    model.eval()
    right = total = whole = 0
    with torch.no_grad():
        for i in range(len(records)):
            ids, target, weight, attend = prepared(records, [i], pad)
            logits = model(ids, attend)
            m = weight == 1.0
            ok = logits.argmax(-1)[m] == target[m]
            right += int(ok.sum())
            total += int(m.sum())
            whole += int(ok.all())
    model.train()
    return right / max(total, 1), whole / max(len(records), 1)


def run_batches(runs, tokens_per_batch, rng):
    """Runs together up to `tokens_per_batch` tokens a batch (one run alone when it is longer)."""
    order = list(range(len(runs)))
    rng.shuffle(order)
    out, cur, n = [], [], 0
    for i in order:
        if cur and n + len(runs[i]["ids"]) > tokens_per_batch:
            out.append(cur)
            cur, n = [], 0
        cur.append(i)
        n += len(runs[i]["ids"])
    return out + ([cur] if cur else [])


def main():
    a = ARGS
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    rng = random.Random(a.seed)
    with open(os.path.join(MODEL_DIR, "tokenizer.json")) as f:
        tok = json.load(f)
    vocab = len(tok["model"]["vocab"])
    eos = tok["model"]["vocab"]["<|end|>"]
    examples = []
    for path in a.data:
        with open(path) as f:
            examples += [json.loads(l) for l in f if l.strip()]
    rng.shuffle(examples)
    # held out: 300 examples of each kind there is (their first tokens' accuracy, and the reference logits)
    views, runs = [e for e in examples if not is_run(e)], [e for e in examples if is_run(e)]
    held, views, runs = views[:300] + runs[:300], views[300:], runs[300:]
    model = Model(CONFIG, vocab)
    if a.init:
        load_model(model, os.path.join(MODEL_DIR, "model.safetensors"))
    params = sum(p.numel() for p in model.parameters())
    print(f"train: {len(views)} examples, {len(runs)} runs, {params} parameters, vocabulary {vocab}", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.98), weight_decay=0.01)
    t0 = time.time()
    end = t0 + 60 * a.minutes
    step = seen = 0
    last_report = last_save = t0
    while time.time() < end:
        # a batch holds examples or runs: each kind batched as its length wants, the batches shuffled together
        mixed = [(views, b) for b in batches(views, a.tokens_per_batch, rng)] if views else []
        mixed += [(runs, b) for b in run_batches(runs, a.tokens_per_batch, rng)]
        rng.shuffle(mixed)
        for records, idx in mixed:
            now = time.time()
            if now >= end:
                break
            frac = (now - t0) / (end - t0)
            lr = a.lr * min(1.0, (step + 1) / 200) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
            for g in opt.param_groups:
                g["lr"] = lr
            answer = (tok["model"]["vocab"]["}"], a.answer_weight)
            # a batch of runs goes one run at a time (measured: twice as fast as one merged run), the loss
            # weighed over the whole batch all the same
            parts = [prepared(records, p, eos, a.view_weight, answer)
                     for p in ([[i] for i in idx] if is_run(records[idx[0]]) else [idx])]
            total = sum(float(weight.sum()) for _, _, weight, _ in parts)
            opt.zero_grad()
            loss = 0.0
            for ids, target, weight, attend in parts:
                losses = F.cross_entropy(
                    model(ids, attend).reshape(-1, vocab), target.reshape(-1), ignore_index=-100, reduction="none"
                )
                part_loss = (losses * weight.reshape(-1)).sum() / total
                part_loss.backward()
                loss += part_loss.item()
                seen += target.numel()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            if now - last_report > 120:
                acc, whole = evaluate(model, held[:50] + held[-50:], eos)
                print(
                    f"{(now - t0) / 60:5.1f} min  step {step}  loss {loss:.3f}  lr {lr:.2e}  "
                    f"{seen / (now - t0):.0f} tok/s  held-out: tokens {acc:.3f}, whole plans {whole:.3f}",
                    flush=True,
                )
                last_report = now
            if now - last_save > 300:
                save_model(model, vocab, eos)
                last_save = now
    save_model(model, vocab, eos)
    acc, whole = evaluate(model, held, eos)
    print(f"done: {step} steps, {seen} tokens in {(time.time() - t0) / 60:.1f} min; held-out tokens {acc:.4f}, "
          f"whole plans {whole:.4f}", flush=True)
    # the engine must give these logits: of plain sequences, and of runs replayed pass by pass through its cache
    model.eval()
    named = []
    with torch.no_grad():
        for s, e in enumerate(held[:3]):
            ids = torch.tensor([e["ids"]])
            named += [(f"seq{s}.ids", ids[0].int()), (f"seq{s}.logits", model(ids)[0])]
        for s, e in enumerate([e for e in held if is_run(e) and len(e["ids"]) < 700][:2]):
            logits = model(torch.tensor([e["ids"]]), RunLayout(CONFIG, e).attend)[0]
            at = torch.nonzero(torch.tensor(e["target"]) >= 0)[:, 0][:48]
            named += [(f"run{s}.{k}", torch.tensor(e[k]).int()) for k in RUN_FIELDS]
            named += [(f"run{s}.at", at.int()), (f"run{s}.logits", logits[at])]
    save_safetensors(REFERENCE, named)


if __name__ == "__main__":
    main()

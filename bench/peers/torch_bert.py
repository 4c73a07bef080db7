#!/usr/bin/python3
"""PyTorch peer of bench/model_forward.cpp: the same BERT forward pass, timed the same way.

Builds Hugging Face's BertModel (eager attention, eval mode; the dropout modules are there for
torch_bert_train.py, which reuses these classes in train mode) out of plain torch.nn modules --
transformers is not needed -- loads a model folder's config.json + model.safetensors, times
forward() at the requested shapes and prints one JSON object on stdout. Diagnostics go to stderr.

Run with Debian's interpreter (apt install python3-torch; torch 1.13 uses the system OpenBLAS):
    /usr/bin/python3 bench/peers/torch_bert.py --model DIR --threads 2 --shapes 1x128,8x128
Other jobs:
    --check FILE          recompute the inputs stored in FILE (a safetensors file written by
                          bench_model_forward) and report the max abs difference to the
                          last_hidden_state / pooler_output stored beside them
    --golden FILE         the same against an HF golden outputs.safetensors (bert.* names)
    --export-onnx PATH    export this model to ONNX (opset 14, dynamic batch and sequence axes)
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
from torch import nn

_NP_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
    "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_,
}


def load_safetensors(path):
    """name -> torch tensor. Only the format itself is assumed: u64 header length, JSON, data."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: shorter than the 8-byte header length")
    header_len = int.from_bytes(data[:8], "little")
    if 8 + header_len > len(data):
        raise ValueError(f"{path}: header length {header_len} runs past the end of the file")
    header = json.loads(data[8:8 + header_len])
    body = memoryview(data)[8 + header_len:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = info["dtype"]
        begin, end = info["data_offsets"]
        if dtype == "BF16":
            raw = np.frombuffer(body[begin:end], dtype=np.int16).copy()
            t = torch.from_numpy(raw).view(torch.bfloat16).float()
        elif dtype in _NP_DTYPES:
            t = torch.from_numpy(np.frombuffer(body[begin:end], dtype=_NP_DTYPES[dtype]).copy())
        else:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {dtype}")
        tensors[name] = t.reshape(info["shape"])
    return tensors


# hidden_act -> module, as transformers' ACT2FN maps them.
def activation(name):
    if name == "gelu":
        return nn.GELU()  # exact erf form
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return nn.GELU(approximate="tanh")
    if name == "relu":
        return nn.ReLU()
    if name in ("silu", "swish"):
        return nn.SiLU()
    raise ValueError(f"hidden_act {name!r} is not supported by this peer")


class BertEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])
        # A buffer sliced to the sequence length (as HF does) keeps the ONNX export's sequence
        # axis dynamic.
        self.register_buffer(
            "position_ids", torch.arange(c["max_position_embeddings"]).expand((1, -1)),
            persistent=False)

    def forward(self, input_ids, token_type_ids):
        seq = input_ids.size(1)
        # HF's summation order: (word + token_type) + position.
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        x = x + self.position_embeddings(self.position_ids[:, :seq])
        return self.dropout(self.LayerNorm(x))


class BertSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.num_heads = c["num_attention_heads"]
        self.head_size = c["hidden_size"] // self.num_heads
        self.query = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.key = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.value = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.dropout = nn.Dropout(c["attention_probs_dropout_prob"])

    def heads(self, x):  # [B, S, H] -> [B, heads, S, head_size]
        return x.view(x.size(0), x.size(1), self.num_heads, self.head_size).permute(0, 2, 1, 3)

    def forward(self, x, additive_mask):
        q, k, v = self.heads(self.query(x)), self.heads(self.key(x)), self.heads(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_size)
        probs = self.dropout(torch.softmax(scores + additive_mask, dim=-1))
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        return ctx.view(ctx.size(0), ctx.size(1), -1)


class DenseLayerNorm(nn.Module):
    """BertSelfOutput / BertOutput: LayerNorm(dense(x) + residual)."""

    def __init__(self, n_in, n_out, c):
        super().__init__()
        self.dense = nn.Linear(n_in, n_out)
        self.LayerNorm = nn.LayerNorm(n_out, eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, x, residual):
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class BertAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = DenseLayerNorm(c["hidden_size"], c["hidden_size"], c)

    def forward(self, x, additive_mask):
        return self.output(self.self(x, additive_mask), x)


class BertIntermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])
        self.act = activation(c["hidden_act"])

    def forward(self, x):
        return self.act(self.dense(x))


class BertLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = DenseLayerNorm(c["intermediate_size"], c["hidden_size"], c)

    def forward(self, x, additive_mask):
        a = self.attention(x, additive_mask)
        return self.output(self.intermediate(a), a)


class BertEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(c) for _ in range(c["num_hidden_layers"])])

    def forward(self, x, additive_mask):
        for layer in self.layer:
            x = layer(x, additive_mask)
        return x


class BertPooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])

    def forward(self, x):
        return torch.tanh(self.dense(x[:, 0]))


class BertModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = BertEmbeddings(c)
        self.encoder = BertEncoder(c)
        self.pooler = BertPooler(c)

    def forward(self, input_ids, attention_mask, token_type_ids):
        # HF's get_extended_attention_mask: (1 - mask) * float32 min, added to the scores.
        mask = attention_mask[:, None, None, :].to(torch.float32)
        additive_mask = (1.0 - mask) * torch.finfo(torch.float32).min
        hidden = self.encoder(self.embeddings(input_ids, token_type_ids), additive_mask)
        return hidden, self.pooler(hidden)


CONFIG_DEFAULTS = {
    "vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
    "intermediate_size": 3072, "hidden_act": "gelu", "max_position_embeddings": 512,
    "type_vocab_size": 2, "layer_norm_eps": 1e-12, "position_embedding_type": "absolute",
    "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "classifier_dropout": None,
}


def load_model(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        config = {**CONFIG_DEFAULTS, **json.load(f)}
    if config["position_embedding_type"] != "absolute":
        raise ValueError("only position_embedding_type 'absolute' is supported")
    model = BertModel(config)
    weights = load_safetensors(os.path.join(model_dir, "model.safetensors"))
    # BertForSequenceClassification files prefix the encoder with "bert."; the head is not needed.
    state = {}
    for name, t in weights.items():
        if name.startswith("bert."):
            state[name[len("bert."):]] = t
        elif not name.startswith("classifier."):
            state[name] = t
    state.pop("embeddings.position_ids", None)  # a buffer some older checkpoints stored
    missing, unexpected = model.load_state_dict(state, strict=False)
    # A checkpoint without pooler (BertModel(add_pooling_layer=False)) keeps a random pooler:
    # tolerated, but every other parameter must come from the file.
    missing = [m for m in missing if not m.startswith("pooler.")]
    if missing or unexpected:
        raise ValueError(f"{model_dir}: missing {missing}, unexpected {unexpected}")
    return model.eval(), config


def random_inputs(batch, seq, vocab, seed):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1000, vocab, (batch, seq), generator=g) if vocab > 1000 else \
        torch.randint(1, vocab, (batch, seq), generator=g)
    ids[:, 0] = 101 if vocab > 101 else 0
    return ids, torch.ones(batch, seq, dtype=torch.int64), torch.zeros(batch, seq, dtype=torch.int64)


def parse_shapes(text):
    shapes = []
    for item in text.split(","):
        b, s = item.lower().split("x")
        shapes.append((int(b), int(s)))
    return shapes


def time_shape(model, config, batch, seq, warmup, repeats):
    ids, mask, types = random_inputs(batch, seq, config["vocab_size"], seed=batch * 1000 + seq)
    for _ in range(warmup):
        model(ids, mask, types)
    runs = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(repeats):
        t0 = time.perf_counter()
        model(ids, mask, types)
        runs.append((time.perf_counter() - t0) * 1e3)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    median = statistics.median(runs)
    return {
        "batch": batch, "seq": seq, "median_ms": median, "min_ms": min(runs), "runs_ms": runs,
        "tokens_per_s": batch * seq / (median / 1e3),
        # CPU seconds per wall second over the timed runs: how many cores were really busy.
        "cores_busy": cpu / wall if wall > 0 else 0.0,
    }


def compare(model, path, prefix):
    """Recomputes the inputs of a safetensors file; max abs diff to its stored outputs."""
    t = load_safetensors(path)
    hidden, pooled = model(t["input_ids"], t["attention_mask"], t["token_type_ids"])
    out = {"file": path}
    for name, ours in (("last_hidden_state", hidden), ("pooler_output", pooled)):
        theirs = t.get(prefix + name)
        if theirs is not None:
            out[name + "_max_abs_diff"] = (ours - theirs).abs().max().item()
    return out


def export_onnx(model, config, path):
    ids, mask, types = random_inputs(2, 16, config["vocab_size"], seed=7)
    dynamic = {name: {0: "batch", 1: "sequence"} for name in
               ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")}
    dynamic["pooler_output"] = {0: "batch"}
    tmp = path + ".tmp"
    torch.onnx.export(
        model, (ids, mask, types), tmp, opset_version=14, do_constant_folding=True,
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["last_hidden_state", "pooler_output"], dynamic_axes=dynamic)
    os.replace(tmp, path)  # a reader never sees a half-written model


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", required=True, help="folder with config.json + model.safetensors")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--shapes", default="1x128,8x128,4x512", help="BATCHxSEQ,...")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--check", help="safetensors file with inputs + bertkit's outputs")
    p.add_argument("--golden", help="HF golden outputs.safetensors (bert.* output names)")
    p.add_argument("--export-onnx", help="write the model as ONNX to this path")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    result = {
        "peer": "pytorch", "torch_version": torch.__version__,
        "threads_requested": args.threads, "torch_num_threads": torch.get_num_threads(),
        "blas": "system BLAS (Debian python3-torch links libblas.so.3)",
    }
    with torch.inference_mode():
        model, config = load_model(args.model)
        if args.export_onnx:
            export_onnx(model, config, args.export_onnx)
            result["onnx"] = args.export_onnx
        if args.golden:
            result["golden"] = compare(model, args.golden, "bert.")
        if args.check:
            result["check"] = compare(model, args.check, "")
        result["results"] = [time_shape(model, config, b, s, args.warmup, args.repeats)
                             for b, s in parse_shapes(args.shapes)] if args.shapes else []
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one line for the caller, not a traceback
        print(f"torch_bert.py: error: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)

#!/usr/bin/python3
"""PyTorch peer of bench/model_train_step.cpp: one Trainer step of BertForSequenceClassification.

The model is torch_bert.py's BertModel (Hugging Face's modules rebuilt from torch.nn, dropout
included) plus HF's head: dropout(classifier_dropout or hidden_dropout_prob) and Linear(H,
num_labels). A step is what transformers.Trainer does per batch: model.zero_grad(), forward in
train mode with cross-entropy, backward, clip_grad_norm_(1.0), torch.optim.AdamW over Trainer's
two parameter groups (weight decay on all but biases and LayerNorm weights) and a linear
warmup/decay LambdaLR step. Prints one JSON object on stdout; diagnostics go to stderr.

    /usr/bin/python3 bench/peers/torch_bert_train.py --model DIR --shape 4x128 --threads 2
    /usr/bin/python3 bench/peers/torch_bert_train.py --model DIR --check check.safetensors
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_bert import BertModel, CONFIG_DEFAULTS, load_safetensors, random_inputs  # noqa: E402

LEARNING_RATE = 5e-5   # the values bench/model_train_step.cpp uses
WEIGHT_DECAY = 0.01
MAX_GRAD_NORM = 1.0
WARMUP_STEPS = 2
TRAINING_STEPS = 1000


class BertForSequenceClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.num_labels = c.get("num_labels") or len(c.get("id2label", {})) or 2
        self.bert = BertModel(c)
        p = c["classifier_dropout"] if c["classifier_dropout"] is not None else \
            c["hidden_dropout_prob"]
        self.dropout = nn.Dropout(p)
        self.classifier = nn.Linear(c["hidden_size"], self.num_labels)

    def forward(self, input_ids, attention_mask, token_type_ids):
        _, pooled = self.bert(input_ids, attention_mask, token_type_ids)
        return self.classifier(self.dropout(pooled))


def load_model(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        config = {**CONFIG_DEFAULTS, **json.load(f)}
    model = BertForSequenceClassification(config)
    state = load_safetensors(os.path.join(model_dir, "model.safetensors"))
    state.pop("bert.embeddings.position_ids", None)
    model.load_state_dict(state, strict=True)
    return model, config


def trainer_optimizer(model, lr):
    """Trainer.create_optimizer: decay for every parameter except biases and LayerNorm weights."""
    decay = [n for n, _ in model.named_parameters() if "bias" not in n and "LayerNorm" not in n]
    groups = [
        {"params": [p for n, p in model.named_parameters() if n in decay],
         "weight_decay": WEIGHT_DECAY},
        {"params": [p for n, p in model.named_parameters() if n not in decay],
         "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), eps=1e-8)


def linear_schedule(optimizer):
    def lr_lambda(step):
        if step < WARMUP_STEPS:
            return step / max(1, WARMUP_STEPS)
        return max(0.0, (TRAINING_STEPS - step) / max(1, TRAINING_STEPS - WARMUP_STEPS))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)


def train_step(model, optimizer, scheduler, ids, mask, types, labels):
    model.zero_grad()
    logits = model(ids, mask, types)
    loss = nn.functional.cross_entropy(logits.view(-1, model.num_labels), labels.view(-1))
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
    optimizer.step()
    scheduler.step()
    return loss.item(), norm.item()


def check(model_dir, path):
    """One eval-mode step on bertkit's check batch; differences to what bertkit computed."""
    model, _ = load_model(model_dir)
    model.eval()  # no dropout: both sides compute the same deterministic step
    t = load_safetensors(path)
    lr = t["lr"].item()
    optimizer = trainer_optimizer(model, lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    model.zero_grad()
    logits = model(t["input_ids"], t["attention_mask"], t["token_type_ids"])
    loss = nn.functional.cross_entropy(logits, t["labels"])
    loss.backward()
    params = dict(model.named_parameters())
    grad_rel = 0.0
    well_conditioned = {}
    for name, p in params.items():
        theirs = t.get("grad." + name)
        if theirs is not None:
            scale = max(theirs.abs().max().item(), 1e-30)
            grad_rel = max(grad_rel, (p.grad - theirs).abs().max().item() / scale)
            # AdamW's first step moves each weight by lr * g / (|g| + eps): about lr * sign(g),
            # and ill-conditioned where |g| is near eps or where float noise flips the sign of a
            # ~0 gradient. Compare the update where the gradient is clearly non-zero (float noise
            # in the gradients is ~1e-6 of the largest, so 1e-3 of it is well clear).
            well_conditioned[name] = p.grad.abs() > 1e-3 * scale
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM).item()
    before = {name: p.detach().clone() for name, p in params.items() if name in well_conditioned}
    optimizer.step()
    scheduler.step()
    update_rel = 0.0
    compared = 0
    for name, p in params.items():
        theirs = t.get("param_after." + name)
        if theirs is not None and name in well_conditioned:
            mask = well_conditioned[name]
            ours_update = (p.detach() - before[name])[mask]
            theirs_update = (theirs - before[name])[mask]
            if ours_update.numel():
                update_rel = max(update_rel, (ours_update - theirs_update).abs().max().item() / lr)
            compared += int(mask.sum().item())
    ref_norm = t["grad_norm"].item()
    return {
        "loss_abs_diff": abs(loss.item() - t["loss"].item()),
        "grad_norm_rel_diff": abs(norm - ref_norm) / max(abs(ref_norm), 1e-30),
        "grad_max_rel_diff": grad_rel,
        # max |update difference| / lr over the weights whose gradient exceeds 1e-3 x the
        # tensor's largest.
        "update_max_rel_diff": update_rel,
        "updates_compared": compared,
        "loss": loss.item(),
    }


def rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return -1.0


def time_shape(args):
    batch, seq = (int(x) for x in args.shape.lower().split("x"))
    torch.manual_seed(args.seed)
    model, config = load_model(args.model)
    model.train(not args.no_dropout)
    rss_after_load = rss_mib()
    optimizer = trainer_optimizer(model, LEARNING_RATE)
    scheduler = linear_schedule(optimizer)
    ids, mask, types = random_inputs(batch, seq, config["vocab_size"], seed=batch * 1000 + seq)
    labels = torch.randint(0, model.num_labels, (batch,), generator=torch.Generator().manual_seed(seq))
    first = last = None
    for _ in range(args.warmup):
        first, _ = train_step(model, optimizer, scheduler, ids, mask, types, labels)
    runs = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        last, _ = train_step(model, optimizer, scheduler, ids, mask, types, labels)
        runs.append((time.perf_counter() - t0) * 1e3)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    median = statistics.median(runs)
    return {
        "batch": batch, "seq": seq, "median_ms": median, "min_ms": min(runs), "runs_ms": runs,
        "samples_per_s": batch / (median / 1e3), "tokens_per_s": batch * seq / (median / 1e3),
        "cores_busy": cpu / wall if wall > 0 else 0.0,
        "rss_after_load_mib": rss_after_load,
        # ru_maxrss is in KiB on Linux.
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "loss_first": first, "loss_last": last,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", required=True, help="folder with config.json + model.safetensors")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--shape", help="BATCHxSEQ to time")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--no-dropout", action="store_true", help="time eval-mode steps")
    p.add_argument("--check", help="safetensors file with bertkit's check step")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    result = {"peer": "pytorch", "torch_version": torch.__version__,
              "torch_num_threads": torch.get_num_threads()}
    if args.check:
        result["check"] = check(args.model, args.check)
    if args.shape:
        result.update(time_shape(args))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one line for the caller, not a traceback
        print(f"torch_bert_train.py: error: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)

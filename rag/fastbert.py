"""A minimal BERT or MPNet encoder (mean pooling, L2 normalisation) that reads a sentence-transformers
model folder's own weights. It exists for start-up time: importing sentence-transformers/transformers costs
about 3.8 s here, torch + tokenizers about 1.2 s, so one-shot `rag search` embeds its query with this; and
for ingest speed: `encode_many` sorts texts by length (little padding) and can run in bfloat16 where the
CPU computes it natively (AMX or AVX512-BF16: twice as fast here, cosines within 1e-4 of float32).
Its float32 vectors equal sentence-transformers' within 1e-5 (tests/test_search_real.py checks)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def supports(folder: Path) -> bool:
    """True when `folder` holds a BERT or MPNet model with mean pooling, which this encoder reproduces
    exactly."""
    try:
        modules = [m["type"].rsplit(".", 1)[-1] for m in json.loads((folder / "modules.json").read_text())]
        config = json.loads((folder / "config.json").read_text())
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError, KeyError):
        return False
    return (
        modules in (["Transformer", "Pooling", "Normalize"], ["Transformer", "Pooling"])
        and config.get("model_type") in ("bert", "mpnet")
        and config.get("position_embedding_type", "absolute") == "absolute"
        and config.get("hidden_act") == "gelu"
        and pooling.get("pooling_mode_mean_tokens") is True
        and not any(v for k, v in pooling.items() if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens")
        and (folder / "model.safetensors").exists()
        and (folder / "tokenizer.json").exists()
    )


def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AMX tiles or AVX512-BF16); elsewhere it is emulated
    and slower than float32."""
    import torch

    return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())


class FastBert:
    """Encode texts with the weights of a BERT or MPNet sentence-transformers model, without transformers.
    MPNet differs from BERT in its weights' names, its position ids (counted from the padding id + 1), no
    token types, and a relative-position bias added to every layer's attention scores."""

    def __init__(self, folder: Path) -> None:
        import torch
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        self.torch = torch
        config = json.loads((folder / "config.json").read_text())
        st_config = json.loads((folder / "sentence_bert_config.json").read_text())
        self.heads, self.layers = config["num_attention_heads"], config["num_hidden_layers"]
        self.mpnet = config["model_type"] == "mpnet"
        self.pad = config.get("pad_token_id", 0)
        self.buckets = config.get("relative_attention_num_buckets", 32)
        self.eps = config["layer_norm_eps"]
        self.w = load_file(str(folder / "model.safetensors"))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=st_config.get("max_seq_length", 512))
        self.tokenizer.enable_padding(pad_id=config.get("pad_token_id", 0))
        self.dim = config["hidden_size"]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised mean-pooled embeddings, one row per text."""
        with self.torch.inference_mode():  # no autograd, and the caller's grad mode left as it was
            return self._forward(texts)[0]

    def encode_many(
        self, texts: Sequence[str], *, batch: int = 32, bf16: bool = False, tokens: bool = False
    ) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        """Normalised embeddings of `texts` (one row each, in order), encoded in batches of similar length;
        with `tokens`, each text's token ids and normalised contextual token vectors (special tokens left
        out). `bf16`: compute in bfloat16 when the CPU has native support for it (else float32)."""
        torch = self.torch
        lengths = [len(e.ids) for e in self.tokenizer.encode_batch(list(texts))]
        order = sorted(range(len(texts)), key=lengths.__getitem__)
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        per_text: list[tuple[np.ndarray, np.ndarray]] = [(np.zeros(0, np.int32), np.zeros((0, self.dim)))] * len(texts)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16 and native_bf16()):
            for start in range(0, len(order), batch):
                rows = order[start : start + batch]
                pooled, x, encoded = self._forward([texts[r] for r in rows])
                vectors[rows] = pooled
                if tokens:
                    x = torch.nn.functional.normalize(x.float(), dim=-1)
                    for j, row in enumerate(rows):
                        keep = [i for i, special in enumerate(encoded[j].special_tokens_mask) if not special]
                        ids = np.asarray(encoded[j].ids, dtype=np.int32)[keep]
                        per_text[row] = (ids, x[j, keep].numpy().astype(np.float32))
        return vectors, per_text if tokens else []

    def encode_tokens(self, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
        """The embedding of `text`, its token ids, normalised contextual token vectors and word pieces
        (the special tokens left out)."""
        with self.torch.inference_mode():
            pooled, x, batch = self._forward([text])
            keep = [i for i, special in enumerate(batch[0].special_tokens_mask) if not special]
            tokens = self.torch.nn.functional.normalize(x[0, keep], dim=-1).numpy().astype(np.float32)
        ids = np.asarray(batch[0].ids, dtype=np.int32)[keep]
        return pooled[0], ids, tokens, tuple(batch[0].tokens[i] for i in keep)

    def _forward(self, texts: Sequence[str]):
        torch, F, w = self.torch, self.torch.nn.functional, self.w
        batch = self.tokenizer.encode_batch(list(texts))
        ids = torch.tensor([b.ids for b in batch])
        mask = torch.tensor([b.attention_mask for b in batch], dtype=torch.float32)
        x = self._embed(ids, mask, batch)
        bias = (1.0 - mask)[:, None, None, :] * torch.finfo(torch.float32).min
        if self.mpnet:
            bias = bias + self._position_bias(ids.shape[1])
        n, t, d = x.shape
        head = d // self.heads
        names = _MPNET if self.mpnet else _BERT
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            q, k, v = (
                F.linear(x, w[f"{p}{names[part]}.weight"], w[f"{p}{names[part]}.bias"])
                .view(n, t, self.heads, head)
                .transpose(1, 2)
                for part in ("q", "k", "v")
            )
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=bias).transpose(1, 2).reshape(n, t, d)
            attended = F.linear(context, w[f"{p}{names['o']}.weight"], w[f"{p}{names['o']}.bias"])
            x = self._norm(x + attended, f"{p}{names['norm']}")
            inner = F.gelu(F.linear(x, w[f"{p}intermediate.dense.weight"], w[f"{p}intermediate.dense.bias"]))
            out = F.linear(inner, w[f"{p}output.dense.weight"], w[f"{p}output.dense.bias"])
            x = self._norm(x + out, f"{p}output.LayerNorm")
        x = x.float()
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1e-9)
        return F.normalize(pooled, dim=-1).numpy().astype(np.float32), x, batch

    def _embed(self, ids, mask, batch):
        torch, w = self.torch, self.w
        if self.mpnet:  # positions count real tokens from pad + 1; no token types
            positions = (torch.cumsum(mask, dim=1) * mask).long() + self.pad
            x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][positions]
        else:
            types = torch.tensor([b.type_ids for b in batch])
            x = (
                w["embeddings.word_embeddings.weight"][ids]
                + w["embeddings.position_embeddings.weight"][torch.arange(ids.shape[1])]
                + w["embeddings.token_type_embeddings.weight"][types]
            )
        return self._norm(x, "embeddings.LayerNorm")

    def _position_bias(self, length: int):
        """MPNet's relative-position bias (heads × length × length): T5-style buckets, half per direction,
        exact below 8 tokens apart, logarithmic up to 128."""
        torch = self.torch
        relative = torch.arange(length)[None, :] - torch.arange(length)[:, None]
        half = self.buckets // 2
        exact = half // 2
        n = -relative
        bucket = (n < 0).long() * half
        n = n.abs()
        large = exact + (torch.log(n.float().clamp(min=1) / exact) / math.log(128 / exact) * (half - exact)).long()
        bucket = bucket + torch.where(n < exact, n, large.clamp(max=half - 1))
        return self.w["encoder.relative_attention_bias.weight"][bucket].permute(2, 0, 1)[None]

    def _norm(self, x, name: str):
        return self.torch.nn.functional.layer_norm(
            x, (x.shape[-1],), self.w[f"{name}.weight"], self.w[f"{name}.bias"], self.eps
        )


_BERT = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "o": "attention.output.dense",
    "norm": "attention.output.LayerNorm",
}
_MPNET = {
    "q": "attention.attn.q",
    "k": "attention.attn.k",
    "v": "attention.attn.v",
    "o": "attention.attn.o",
    "norm": "attention.LayerNorm",
}

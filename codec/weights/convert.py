"""Tensor-name conversion between Kyutai's native checkpoint and the HF `MimiModel` file.

Rules from transformers' `convert_mimi_checkpoint_to_pytorch.py` (docs/mimi.md,
"Checkpoints"). The native names are this package's own state-dict names. HF files come in
two layouts: the flat one on the hub (`encoder.layers.*`, `encoder_transformer.layers.*`,
...) and the nested one `transformers` 5.x writes with `save_pretrained`
(`encoder.encoder_seanet.layers.*`, `decoder.upsample.*`, ...). Both load.
"""

from __future__ import annotations

import torch

_RULES = [
    ("conv.conv.conv", "conv"),
    ("convtr.convtr.convtr", "conv"),
    ("conv.conv", "conv"),
    ("convtr.convtr", "conv"),
    ("quantizer.rvq_first.vq", "quantizer.semantic_residual_vector_quantizer"),
    ("quantizer.rvq_first", "quantizer.semantic_residual_vector_quantizer"),
    ("quantizer.rvq_rest.vq", "quantizer.acoustic_residual_vector_quantizer"),
    ("quantizer.rvq_rest", "quantizer.acoustic_residual_vector_quantizer"),
    ("_codebook", "codebook"),
    ("_initialized", "initialized"),
    ("embedding_sum", "embed_sum"),
    ("encoder.model", "encoder.layers"),
    ("decoder.model", "decoder.layers"),
    ("encoder_transformer.transformer", "encoder_transformer"),
    ("decoder_transformer.transformer", "decoder_transformer"),
    ("linear1", "mlp.fc1"),
    ("linear2", "mlp.fc2"),
    ("self_attn.out_proj", "self_attn.o_proj"),
    ("norm1", "input_layernorm"),
    ("norm2", "post_attention_layernorm"),
    ("layer_scale_1", "self_attn_layer_scale"),
    ("layer_scale_2", "mlp_layer_scale"),
]

# flat hub layout -> nested layout of transformers >= 5 (prefix rewrites)
_NESTED = [
    ("encoder.layers.", "encoder.encoder_seanet.layers."),
    ("encoder_transformer.", "encoder.encoder_transformer."),
    ("downsample.", "encoder.downsample."),
    ("upsample.", "decoder.upsample."),
    ("decoder_transformer.", "decoder.decoder_transformer."),
    ("decoder.layers.", "decoder.decoder_seanet.layers."),
]

HF_MARKERS = ("semantic_residual_vector_quantizer", "acoustic_residual_vector_quantizer")
NATIVE_MARKERS = ("rvq_first", "rvq_rest")


def native_to_hf_name(name: str) -> str:
    for old, new in _RULES:
        name = name.replace(old, new)
    return name


def nested_to_flat(name: str) -> str:
    for flat, nested in _NESTED:
        if name.startswith(nested):
            return flat + name[len(nested) :]
    return name


def _perm(w: torch.Tensor, heads: int) -> torch.Tensor:
    """Interleaved-pair rows -> half-split rows, per head (for q and k only)."""
    d_out, d_in = w.shape
    return w.view(heads, d_out // heads // 2, 2, d_in).transpose(1, 2).reshape(d_out, d_in)


def _unperm(w: torch.Tensor, heads: int) -> torch.Tensor:
    d_out, d_in = w.shape
    return w.view(heads, 2, d_out // heads // 2, d_in).transpose(1, 2).reshape(d_out, d_in)


def native_to_hf(sd: dict[str, torch.Tensor], heads: int) -> dict[str, torch.Tensor]:
    """Native state dict -> flat HF state dict (q/k rows permuted for half-split RoPE)."""
    out: dict[str, torch.Tensor] = {}
    for name, t in sd.items():
        hf = native_to_hf_name(name)
        if hf.endswith("self_attn.in_proj_weight"):
            base = hf[: -len("in_proj_weight")]
            q, k, v = t.chunk(3, dim=0)
            out[base + "q_proj.weight"] = _perm(q, heads).contiguous()
            out[base + "k_proj.weight"] = _perm(k, heads).contiguous()
            out[base + "v_proj.weight"] = v.contiguous()
        else:
            out[hf] = t
    return out


def hf_to_native(
    sd: dict[str, torch.Tensor], native_names: list[str], heads: int
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """HF state dict (flat or nested) -> native names. Returns (state dict, unused HF keys).

    `native_names` are the names the target model expects; names missing from the HF file
    are simply absent from the result, so the caller's strict check reports them.
    """
    flat = {nested_to_flat(k): v for k, v in sd.items()}
    used: set[str] = set()
    out: dict[str, torch.Tensor] = {}
    for name in native_names:
        hf = native_to_hf_name(name)
        if hf.endswith("self_attn.in_proj_weight"):
            base = hf[: -len("in_proj_weight")]
            parts = [base + p + "_proj.weight" for p in ("q", "k", "v")]
            if all(p in flat for p in parts):
                q, k, v = (flat[p] for p in parts)
                if q.dim() == 2 and k.dim() == 2 and q.shape[0] % (2 * heads) == 0:
                    q, k = _unperm(q, heads), _unperm(k, heads)
                out[name] = torch.cat([q, k, v], dim=0)
                used.update(parts)
        elif hf in flat:
            out[name] = flat[hf]
            used.add(hf)
    # map unused keys back to the names the user's file had
    back = {nested_to_flat(k): k for k in sd}
    unused = sorted(back[k] for k in flat if k not in used)
    return out, unused

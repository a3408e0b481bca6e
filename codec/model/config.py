"""Codec hyperparameters as one dataclass, with the released Mimi config and smaller ones.

Every size the model needs comes from here (docs/mimi.md lists the released values).
Configs are stored as JSON beside weights (our own keys) and can also be read from and
written to a Hugging Face `MimiConfig` `config.json`.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any


@dataclasses.dataclass(frozen=True)
class CodecConfig:
    """Hyperparameters of a Mimi-style codec (defaults: the released `kyutai/mimi`)."""

    name: str = "mimi"
    sample_rate: int = 24_000
    channels: int = 1
    # SEANet
    dimension: int = 512  # latent width = transformer d_model
    n_filters: int = 64
    n_residual_layers: int = 1
    ratios: tuple[int, ...] = (8, 6, 5, 4)  # decoder order; the encoder runs them reversed
    kernel_size: int = 7
    last_kernel_size: int = 3
    residual_kernel_size: int = 3
    dilation_base: int = 2
    compress: int = 2
    # 25 Hz <-> 12.5 Hz resampling
    frame_rate: float = 12.5
    # transformers (one stack each side)
    num_heads: int = 8
    num_layers: int = 8
    dim_feedforward: int = 2048
    context: int = 250  # attention window in 25 Hz steps, the current step included
    max_period: float = 10_000.0
    layer_scale: float = 0.01
    norm_eps: float = 1e-5
    # split residual vector quantizer
    n_q: int = 32
    n_q_semantic: int = 1
    codebook_size: int = 2048
    codebook_dim: int = 256

    # ---- derived sizes -------------------------------------------------------------
    @property
    def hop_length(self) -> int:
        """Samples per encoder step (25 Hz for Mimi): the product of the ratios."""
        return math.prod(self.ratios)

    @property
    def encoder_rate(self) -> float:
        return self.sample_rate / self.hop_length

    @property
    def resample_stride(self) -> int:
        """Encoder steps per codec frame (2 for Mimi)."""
        stride = self.encoder_rate / self.frame_rate
        if abs(stride - round(stride)) > 1e-9 or round(stride) < 1:
            raise ValueError(
                f"encoder rate {self.encoder_rate} Hz is not a multiple of "
                f"the frame rate {self.frame_rate} Hz"
            )
        return round(stride)

    @property
    def frame_size(self) -> int:
        """Samples per codec frame (1920 for Mimi, 80 ms)."""
        return self.hop_length * self.resample_stride

    @property
    def head_dim(self) -> int:
        return self.dimension // self.num_heads

    @property
    def bits_per_code(self) -> float:
        return math.log2(self.codebook_size)

    def bitrate(self, k: int) -> float:
        """Nominal bit/s when k codebooks are sent (137.5·k for Mimi)."""
        return k * self.bits_per_code * self.frame_rate

    def validate(self) -> None:
        if self.channels != 1:
            raise ValueError("only mono codecs are supported (channels=1)")
        if self.dimension % self.num_heads or self.head_dim % 2:
            raise ValueError("dimension must split into heads of even size")
        if not 1 <= self.n_q_semantic < self.n_q:
            raise ValueError("need 1 <= n_q_semantic < n_q")
        _ = self.resample_stride

    # ---- presets ------------------------------------------------------------------
    @classmethod
    def mimi(cls) -> CodecConfig:
        """The released Mimi (kyutai/mimi): 96.2 M stored values, 32 codebooks of 2048."""
        return cls()

    @classmethod
    def tiny(cls) -> CodecConfig:
        """A ~150 k-parameter Mimi for fast tests; same frame layout and 32 codebooks."""
        return cls(
            name="tiny",
            dimension=32,
            n_filters=4,
            num_heads=2,
            num_layers=2,
            dim_feedforward=64,
            codebook_size=64,
            codebook_dim=16,
        )

    @classmethod
    def demo(cls) -> CodecConfig:
        """The bundled demo codec: Mimi's layout, narrower and shallower, 32 codebooks."""
        return cls(
            name="demo",
            dimension=256,
            n_filters=16,
            num_heads=4,
            num_layers=2,
            dim_feedforward=512,
            codebook_size=256,
            codebook_dim=64,
        )

    # ---- (de)serialisation --------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["ratios"] = list(self.ratios)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CodecConfig:
        if "hidden_size" in d or d.get("model_type") == "mimi":
            return cls.from_hf_dict(d)
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - fields)
        if unknown:
            raise ValueError(f"unknown codec config keys: {', '.join(unknown)}")
        kw = dict(d)
        if "ratios" in kw:
            kw["ratios"] = tuple(int(r) for r in kw["ratios"])
        cfg = cls(**kw)
        cfg.validate()
        return cfg

    def to_hf_dict(self) -> dict[str, Any]:
        """A `transformers` MimiConfig dictionary describing the same model."""
        return {
            "model_type": "mimi",
            "architectures": ["MimiModel"],
            "sampling_rate": self.sample_rate,
            "frame_rate": self.frame_rate,
            "audio_channels": self.channels,
            "hidden_size": self.dimension,
            "num_filters": self.n_filters,
            "num_residual_layers": self.n_residual_layers,
            "upsampling_ratios": list(self.ratios),
            "kernel_size": self.kernel_size,
            "last_kernel_size": self.last_kernel_size,
            "residual_kernel_size": self.residual_kernel_size,
            "dilation_growth_rate": self.dilation_base,
            "use_causal_conv": True,
            "pad_mode": "constant",
            "compress": self.compress,
            "trim_right_ratio": 1.0,
            "codebook_size": self.codebook_size,
            "codebook_dim": self.codebook_dim,
            "vector_quantization_hidden_dimension": self.codebook_dim,
            "num_quantizers": self.n_q,
            "num_semantic_quantizers": self.n_q_semantic,
            "upsample_groups": self.dimension,
            "num_hidden_layers": self.num_layers,
            "num_attention_heads": self.num_heads,
            "num_key_value_heads": self.num_heads,
            "head_dim": self.head_dim,
            "intermediate_size": self.dim_feedforward,
            "hidden_act": "gelu",
            "norm_eps": self.norm_eps,
            "layer_scale_initial_scale": self.layer_scale,
            "rope_theta": self.max_period,
            "sliding_window": self.context,
            "max_position_embeddings": 8000,
            "use_conv_shortcut": False,
            "normalize": False,
            "use_cache": False,
        }

    @classmethod
    def from_hf_dict(cls, d: dict[str, Any]) -> CodecConfig:
        """Read a `transformers` MimiConfig dictionary; refuses settings we do not model."""
        checks = {
            "use_causal_conv": True,
            "pad_mode": "constant",
            "use_conv_shortcut": False,
            "normalize": False,
            "trim_right_ratio": 1.0,
            "audio_channels": 1,
        }
        for key, want in checks.items():
            if key in d and d[key] != want:
                raise ValueError(f"unsupported Mimi config: {key}={d[key]!r} (need {want!r})")
        hidden = int(d.get("hidden_size", 512))
        heads = int(d.get("num_attention_heads", 8))
        if int(d.get("num_key_value_heads", heads)) != heads:
            raise ValueError("unsupported Mimi config: grouped key/value heads")
        if int(d.get("upsample_groups", hidden)) != hidden:
            raise ValueError("unsupported Mimi config: upsample_groups != hidden_size")
        if int(d.get("head_dim", hidden // heads)) != hidden // heads:
            raise ValueError("unsupported Mimi config: head_dim != hidden_size / heads")
        cdim = int(d.get("codebook_dim", 256))
        if int(d.get("vector_quantization_hidden_dimension", cdim)) != cdim:
            raise ValueError("unsupported Mimi config: codebook_dim != vq hidden dimension")
        cfg = cls(
            name=str(d.get("_name", "mimi")),
            sample_rate=int(d.get("sampling_rate", 24_000)),
            dimension=hidden,
            n_filters=int(d.get("num_filters", 64)),
            n_residual_layers=int(d.get("num_residual_layers", 1)),
            ratios=tuple(int(r) for r in d.get("upsampling_ratios", (8, 6, 5, 4))),
            kernel_size=int(d.get("kernel_size", 7)),
            last_kernel_size=int(d.get("last_kernel_size", 3)),
            residual_kernel_size=int(d.get("residual_kernel_size", 3)),
            dilation_base=int(d.get("dilation_growth_rate", 2)),
            compress=int(d.get("compress", 2)),
            frame_rate=float(d.get("frame_rate", 12.5)),
            num_heads=heads,
            num_layers=int(d.get("num_hidden_layers", 8)),
            dim_feedforward=int(d.get("intermediate_size", 2048)),
            context=int(d.get("sliding_window", 250) or 250),
            max_period=float(d.get("rope_theta", 10_000.0)),
            layer_scale=float(d.get("layer_scale_initial_scale", 0.01)),
            norm_eps=float(d.get("norm_eps", 1e-5)),
            n_q=int(d.get("num_quantizers", 32)),
            n_q_semantic=int(d.get("num_semantic_quantizers", 1)),
            codebook_size=int(d.get("codebook_size", 2048)),
            codebook_dim=cdim,
        )
        cfg.validate()
        return cfg

    def save_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load_json(cls, path: str | Path) -> CodecConfig:
        return cls.from_dict(json.loads(Path(path).read_text()))

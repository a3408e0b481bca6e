"""What the tokens mean: colours from the codebooks' geometry, each level's share of the
latent, maps of a codebook, and two clips compared token by token (numpy; torch only to
read the model's tables).

A token id is a label: entries 17 and 18 of a codebook are unrelated vectors, so colouring
by id shows noise. Here an entry's colour comes from where its centroid vector lies among
the codebook's entries (the first three principal components, mapped into CIELAB and then
sRGB): near entries get near colours, a repeated sound shows as a repeated colour.
Shapes: a codebook table is [S, d] (S entries); codes are [n_q, F] for one channel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from ..model.runner import BACKGROUND_CHUNK_FRAMES, ChunkPacer, as_tensor, frame_spans

# ---- codebook geometry ---------------------------------------------------------------------


def codebook_tables(model) -> list[np.ndarray]:
    """Every codebook's entries, [S, d] float32 each, codebook 0 (semantic) first."""
    q = model.quantizer
    with torch.no_grad():
        tables = [t.cpu().numpy() for t in q.rvq_first.tables()]
        tables += [t.cpu().numpy() for t in q.rvq_rest.tables()]
    return [np.asarray(t, np.float32) for t in tables]


def principal_coords(table: np.ndarray, m: int = 3) -> np.ndarray:
    """table [S, d] -> [S, m]: the entries on the first m principal components.

    Deterministic: each component's sign is fixed so that its largest loading is positive
    (an SVD may return either sign). Components beyond the table's rank are zero.
    """
    x = np.asarray(table, np.float64)
    x = x - x.mean(axis=0)
    # The components are the top eigenvectors of the d x d scatter matrix: the same axes
    # an SVD of the S x d table gives, at a fraction of the cost (d = 256 << S = 2048).
    evals, evecs = np.linalg.eigh(x.T @ x)
    order = np.argsort(evals)[::-1][: min(m, len(evals))]
    keep = order[evals[order] > evals.max(initial=0.0) * 1e-12]
    vt = evecs[:, keep].T
    signs = np.sign(vt[np.arange(len(vt)), np.argmax(np.abs(vt), axis=1)])
    signs[signs == 0] = 1.0
    coords = x @ (vt * signs[:, None]).T
    if coords.shape[1] < m:
        coords = np.pad(coords, ((0, 0), (0, m - coords.shape[1])))
    return coords


def _lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """CIELAB (D65) [N, 3] -> sRGB [N, 3] in 0..1 (clipped)."""
    L, a, b = lab[:, 0], lab[:, 1], lab[:, 2]
    fy = (L + 16) / 116
    fx, fz = fy + a / 500, fy - b / 200

    def finv(t):
        return np.where(t > 6 / 29, t**3, 3 * (6 / 29) ** 2 * (t - 4 / 29))

    xyz = np.stack([0.95047 * finv(fx), finv(fy), 1.08883 * finv(fz)], axis=1)
    m = np.array([[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]])
    rgb = xyz @ m.T
    rgb = np.where(rgb <= 0.0031308, 12.92 * rgb, 1.055 * np.abs(rgb) ** (1 / 2.4) - 0.055)
    return np.clip(rgb, 0.0, 1.0)


def entry_colours(table: np.ndarray) -> np.ndarray:
    """table [S, d] -> colours [S, 3] uint8 (sRGB): lightness from the first principal
    component, the two colour axes of CIELAB from the next two. Equal entries get equal
    colours; entries close in the codebook get close colours."""
    return colours_from_coords(principal_coords(table, 3))


def colours_from_coords(pc: np.ndarray) -> np.ndarray:
    """[S, 3] principal coordinates -> colours [S, 3] uint8 (see `entry_colours`)."""
    scale = np.maximum(pc.std(axis=0), 1e-12)
    u = np.tanh(pc / (2.0 * scale))  # about +-0.76 at 3 standard deviations
    lab = np.stack([55 + 33 * u[:, 0], 70 * u[:, 1], 70 * u[:, 2]], axis=1)
    return np.round(255 * _lab_to_srgb(lab)).astype(np.uint8)


@dataclass(frozen=True, eq=False)
class CodebookGeometry:
    """Per codebook: entry colours [S, 3] uint8, a 2-D map [S, 2] (principal components),
    and the mean distance between two different entries (the scale of `distance`)."""

    colours: tuple[np.ndarray, ...]
    maps: tuple[np.ndarray, ...]
    spread: tuple[float, ...]
    tables: tuple[np.ndarray, ...] = field(repr=False)

    @classmethod
    def of(cls, model) -> CodebookGeometry:
        tables = codebook_tables(model)
        coords = [principal_coords(t, 3) for t in tables]  # one PCA per codebook
        return cls(
            tuple(colours_from_coords(pc) for pc in coords),
            tuple(pc[:, :2].astype(np.float32) for pc in coords),
            tuple(mean_pair_distance(t) for t in tables),
            tuple(tables),
        )

    def rgb(self, codes: np.ndarray) -> np.ndarray:
        """codes [n, F] (rows are codebooks 0..n-1) -> an image [n, F, 3] uint8."""
        out = np.empty((*codes.shape, 3), np.uint8)
        for q in range(codes.shape[0]):
            out[q] = self.colours[q][codes[q]]
        return out


def mean_pair_distance(table: np.ndarray, pairs: int = 4096, seed: int = 0) -> float:
    """Mean Euclidean distance between two different entries of a codebook (sampled)."""
    s = len(table)
    if s < 2:
        return 0.0
    rng = np.random.default_rng(seed)
    i = rng.integers(0, s, pairs)
    j = (i + rng.integers(1, s, pairs)) % s  # never the same entry
    return float(np.linalg.norm(table[i] - table[j], axis=1).mean())


# ---- what each level adds ---------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Contributions:
    """For one channel: norms [n_q, F] of each level's vector in the latent (codebook 0's
    P_sem(e_0), level q's P_ac(e_q)), and residual [n_q, F], the norm of what the first
    k + 1 levels leave of the latent (row k); relative to the latent's own norm [F]."""

    norms: np.ndarray
    residual: np.ndarray
    latent_norm: np.ndarray

    @property
    def mean_norm(self) -> np.ndarray:
        """[n_q]: each level's average share over the clip (norm / latent norm)."""
        return (self.norms / np.maximum(self.latent_norm, 1e-12)).mean(axis=1)

    @property
    def mean_residual(self) -> np.ndarray:
        return (self.residual / np.maximum(self.latent_norm, 1e-12)).mean(axis=1)


@torch.inference_mode()
def contributions(model, latent: torch.Tensor, codes: torch.Tensor) -> list[Contributions]:
    """latent [B, D, F] (unquantized) and codes [B, K, F] -> one Contributions per item.

    The residual after all K levels is latent - quantized latent (the decode's input).
    """
    vecs = model.quantizer.level_vectors(codes)  # [B, K, D, F]
    z = latent.to(vecs.dtype)
    norms = torch.linalg.vector_norm(vecs, dim=2)  # [B, K, F]
    resid = torch.linalg.vector_norm(z[:, None] - torch.cumsum(vecs, dim=1), dim=2)
    zn = torch.linalg.vector_norm(z, dim=1)  # [B, F]
    return [
        Contributions(norms[b].cpu().numpy(), resid[b].cpu().numpy(), zn[b].cpu().numpy())
        for b in range(codes.shape[0])
    ]


# ---- two clips, token by token ----------------------------------------------------------------


@dataclass(frozen=True)
class Alignment:
    """Frame pairs (i in clip A, j in clip B) that stand for the same moment.

    method "offset": j = i + offset_frames over the overlap; "dtw": a monotonic path
    (dynamic time warping) where lengths or tempo differ. similarity: the mean cosine
    similarity of the aligned features.
    """

    method: str
    pairs: np.ndarray  # [P, 2] int
    offset_frames: int = 0
    similarity: float = 0.0
    scope: str = ""  # what part was aligned when not all of it

    def to_dict(self) -> dict:
        d = {"method": self.method, "pairs": len(self.pairs), "similarity": self.similarity}
        if self.method == "offset":
            d["offset_frames"] = self.offset_frames
        if self.scope:
            d["scope"] = self.scope
        return d


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    x = x - x.mean(axis=0)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def best_offset(a: np.ndarray, b: np.ndarray, max_offset: int | None = None) -> tuple[int, float]:
    """(offset, mean cosine similarity): b[i + offset] ~ a[i]. a [Fa, d], b [Fb, d]."""
    ua, ub = _unit(a), _unit(b)
    fa, fb = len(ua), len(ub)
    lim = max(fa, fb) if max_offset is None else max_offset
    best, best_s = 0, -np.inf
    for off in range(-min(lim, fa - 1), min(lim, fb - 1) + 1):
        i0, i1 = max(0, -off), min(fa, fb - off)
        if i1 - i0 < max(4, min(fa, fb) // 4):  # too little overlap to judge
            continue
        s = float(np.einsum("ij,ij->i", ua[i0:i1], ub[i0 + off : i1 + off]).mean())
        if s > best_s + 1e-12:
            best, best_s = off, s
    return best, best_s


def dtw_path(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, float]:
    """(path [P, 2], mean cosine similarity along it) of a [Fa, d] against b [Fb, d].

    Cost 1 - cosine similarity; steps (1, 0), (0, 1), (1, 1). Each row's recursion
    D[j] = c[j] + min(A[j], D[j-1]) is solved in closed form with a cumulative minimum, so
    the work is O(Fa) numpy passes over Fb.
    """
    ua, ub = _unit(a), _unit(b)
    cost = 1.0 - ua @ ub.T  # [Fa, Fb]
    fa, fb = cost.shape
    d = np.empty((fa, fb))
    step = np.zeros((fa, fb), np.int8)  # 0 diagonal, 1 from above, 2 from the left
    d[0] = np.cumsum(cost[0])
    step[0, 1:] = 2
    for i in range(1, fa):
        diag = np.concatenate([[np.inf], d[i - 1, :-1]])
        up = d[i - 1]
        a_min = np.minimum(diag, up)
        c = np.cumsum(cost[i])
        c_before = np.concatenate([[0.0], c[:-1]])
        best = np.minimum.accumulate(a_min - c_before)
        d[i] = c + best
        from_left = (a_min - c_before) > best + 1e-15  # the minimum came from further left
        step[i] = np.where(from_left, 2, np.where(diag <= up, 0, 1))
    i, j, path = fa - 1, fb - 1, []
    while True:
        path.append((i, j))
        if i == 0 and j == 0:
            break
        s = step[i, j] if i > 0 else 2
        if j == 0:
            s = 1
        i, j = (i - 1, j - 1) if s == 0 else (i - 1, j) if s == 1 else (i, j - 1)
    p = np.array(path[::-1], np.int64)
    return p, float(1.0 - cost[p[:, 0], p[:, 1]].mean())


DTW_MAX_FRAMES = 3750  # 5 minutes at 12.5 Hz: beyond, the first 5 minutes are aligned


def align(a: np.ndarray, b: np.ndarray, method: str = "auto") -> Alignment:
    """Align two clips' per-frame features a [Fa, d] and b [Fb, d].

    "offset": the whole-frame shift with the best mean cosine similarity; "dtw": dynamic
    time warping; "auto": the offset when the shorter clip lies whole inside the longer one
    at that shift and matches nearly as well as the warped path does (a delayed copy),
    else DTW (another reading: other lengths, other tempo).
    """
    off, s_off = best_offset(a, b)
    fa, fb = len(a), len(b)
    i0, i1 = max(0, -off), min(fa, fb - off)
    offset = Alignment(
        "offset", np.stack([np.arange(i0, i1), np.arange(i0, i1) + off], 1), off, s_off
    )
    if method == "offset":
        return offset
    n = min(fa, DTW_MAX_FRAMES), min(fb, DTW_MAX_FRAMES)
    path, s_dtw = dtw_path(a[: n[0]], b[: n[1]])
    scope = "" if n == (fa, fb) else f"the first {DTW_MAX_FRAMES} frames of each"
    dtw = Alignment("dtw", path, 0, s_dtw, scope)
    if method == "dtw":
        return dtw
    whole = i1 - i0 == min(fa, fb)
    return offset if whole and s_off >= s_dtw - 0.02 else dtw


def agreement(
    codes_a: np.ndarray, codes_b: np.ndarray, alignment: Alignment, geometry: CodebookGeometry
) -> list[dict]:
    """Per codebook, over the aligned frame pairs: `agreement` (share of pairs with equal
    ids) and `distance` (mean distance between the two entries, in units of the
    codebook's mean distance between different entries: 0 equal, about 1 unrelated)."""
    i, j = alignment.pairs[:, 0], alignment.pairs[:, 1]
    out = []
    for q in range(min(codes_a.shape[0], codes_b.shape[0])):
        ta, tb = codes_a[q, i], codes_b[q, j]
        table = geometry.tables[q]
        dist = np.linalg.norm(table[ta] - table[tb], axis=1).mean() if len(i) else math.nan
        spread = geometry.spread[q] or 1.0
        out.append(
            {
                "index": q,
                "agreement": float(np.mean(ta == tb)) if len(i) else math.nan,
                "distance": float(dist / spread),
            }
        )
    return out


def latent_features(latent) -> np.ndarray:
    """[F, D] from one channel's unquantized latent [D, F] (tensor or array): what `align`
    compares by default. It does not depend on the ids being compared, so an alignment
    never favours equal tokens."""
    z = latent.detach().cpu().numpy() if isinstance(latent, torch.Tensor) else latent
    return np.ascontiguousarray(np.asarray(z, np.float32).T)


def semantic_features(geometry: CodebookGeometry, codes: np.ndarray) -> np.ndarray:
    """[F, d]: codebook 0's entry vectors of a clip (the other alignment the app offers)."""
    return geometry.tables[0][codes[0]]


# ---- one clip's summary ------------------------------------------------------------------------


def clip_summary(
    codes: np.ndarray, codebook_size: int, frame_rate: float, contrib: Contributions | None
) -> list[dict]:
    """Per codebook of codes [n_q, F]: usage (share of entries used), entropy_bits, change
    rate, and mean contribution (the level's average norm relative to the latent's)."""
    from .token_stats import token_stats

    stats = token_stats(codes, codebook_size, frame_rate)
    mean = contrib.mean_norm if contrib is not None else None
    return [
        {
            "index": s["codebook"],
            "usage": s["used_share"],
            "entropy_bits": s["entropy_bits"],
            "change_rate": s["change_rate"],
            "mean_contribution": float(mean[q]) if mean is not None else math.nan,
        }
        for q, s in enumerate(stats)
    ]


def entry_usage(codes_row: np.ndarray, size: int) -> np.ndarray:
    """How often each entry of a codebook occurs in a clip's row of codes [F] -> [size]."""
    return np.bincount(np.asarray(codes_row, np.int64), minlength=size)


# ---- a clip's tokens, in one pass of the encoder -----------------------------------------------


@dataclass(frozen=True, eq=False)
class ClipTokens:
    """One channel of a clip: codes [n_q, F], the unquantized latent [D, F] they quantize,
    and each level's contribution (Contributions)."""

    codes: np.ndarray
    latent: np.ndarray
    contrib: Contributions

    @property
    def frames(self) -> int:
        return int(self.codes.shape[1])


@torch.inference_mode()
def analyse_clip(codec, x: np.ndarray) -> ClipTokens:
    """x [T] float32 at the codec rate -> its ClipTokens (the encoder runs once: the codes
    are the latent's quantization, equal to `codec.encode`)."""
    xt = as_tensor(np.asarray(x, np.float32), torch.float32).view(1, 1, -1)
    latent = codec.encode_latent(xt)  # [1, D, F]
    codes = codec.model.quantizer.encode(latent.to(codec.device)).cpu()  # [1, n_q, F]
    (contrib,) = contributions(codec.model, latent.to(codec.device), codes.to(codec.device))
    return ClipTokens(codes[0].numpy(), latent[0].cpu().numpy(), contrib)


def compare_clips(
    a: ClipTokens, b: ClipTokens, geometry: CodebookGeometry, on: str = "latent"
) -> tuple[Alignment, list[dict]]:
    """Align b to a (on the latents, or on codebook 0's entries with on="semantic") and
    measure each codebook's agreement and distance over the aligned frames."""
    if on == "latent":
        fa, fb = latent_features(a.latent), latent_features(b.latent)
    elif on == "semantic":
        fa, fb = semantic_features(geometry, a.codes), semantic_features(geometry, b.codes)
    else:
        raise ValueError(f"align on 'latent' or 'semantic', not {on!r}")
    al = align(fa, fb)
    return al, agreement(a.codes, b.codes, al, geometry)


# ---- the window's token views: one comparison, and a second clip ------------------------------


@dataclass(frozen=True, eq=False)
class TokenAnalysis:
    """For each channel of a comparison: the levels' Contributions and, per codebook, how
    often each entry occurs (usage [n_q, S] counts)."""

    generation: int  # the comparison's codes this was computed from
    contrib: tuple[Contributions, ...]
    usage: tuple[np.ndarray, ...]


class TokenAnalysisRun:
    """`analyse_comparison` as work that can stop and go on: `run(cancel, pacer)` returns
    the TokenAnalysis, or raises Cancelled keeping what it has done (the encoder's state,
    the chunks' contributions so far), so that the next `run` goes on from there instead of
    from frame 0. Background work that steps aside for the user keeps its run and calls it
    again. One thread at a time; for the comparison's codes of `generation`."""

    def __init__(self, codec, comparison) -> None:
        codes = comparison.codes
        if codes is None:
            raise ValueError("nothing is encoded yet")
        self.codec, self.comparison = codec, comparison
        self.codes, self.generation = codes, comparison.generation
        self._contrib: list[Contributions] = []  # finished channels
        self._start_channel()

    def _start_channel(self) -> None:
        self._state = self.codec.model.init_encoder_state()
        self._parts: list[Contributions] = []
        self.frame = 0  # next frame of the current channel

    @property
    def channel(self) -> int:
        return len(self._contrib)

    def matches(self, codec, comparison) -> bool:
        """Still the analysis of these codes (the same comparison, codec and generation)."""
        return (
            codec is self.codec
            and comparison is self.comparison
            and comparison.generation == self.generation
        )

    @torch.inference_mode()
    def run(self, cancel=None, pacer: int | ChunkPacer | None = None) -> TokenAnalysis:
        """Go on until done, in chunks of BACKGROUND_CHUNK_FRAMES frames (`pacer`: that
        many frames, or a ChunkPacer's), `cancel()` checked before each (then Cancelled,
        the work so far kept)."""
        from ..errors import check_cancelled

        model, fs = self.codec.model, self.codec.frame_size
        while self.channel < self.codes.shape[0]:
            ch, codes = self.channel, self.codes[self.channel]
            x = np.asarray(self.comparison.x24[ch], np.float32)
            xt = as_tensor(x, torch.float32).view(1, 1, -1)
            for f0, f1 in frame_spans(self.frame, codes.shape[1], pacer or BACKGROUND_CHUNK_FRAMES):
                check_cancelled(cancel, "token analysis")
                chunk = xt[..., f0 * fs : f1 * fs].to(self.codec.device)
                z = model.encode_latent(chunk, self._state)
                c = torch.from_numpy(np.ascontiguousarray(codes[:, f0 : f0 + z.shape[-1]]))[None]
                self._parts.append(contributions(model, z, c.to(self.codec.device))[0])
                self.frame = f0 + z.shape[-1]
            parts = self._parts
            self._contrib.append(
                Contributions(
                    np.concatenate([p.norms for p in parts], axis=1),
                    np.concatenate([p.residual for p in parts], axis=1),
                    np.concatenate([p.latent_norm for p in parts]),
                )
            )
            self._start_channel()
        size = self.codec.codebook_size
        usage = tuple(np.stack([entry_usage(row, size) for row in ch]) for ch in self.codes)
        return TokenAnalysis(self.generation, tuple(self._contrib), usage)


def analyse_comparison(
    codec, comparison, cancel=None, pacer: ChunkPacer | None = None
) -> TokenAnalysis:
    """The TokenAnalysis of a coded comparison (codec.session.comparison.Comparison), in
    one go (a TokenAnalysisRun run to its end); pacer: the chunks of its encoding pass."""
    return TokenAnalysisRun(codec, comparison).run(cancel, pacer)


@dataclass(frozen=True, eq=False)
class TokenComparison:
    """A second clip (name, codes [n_q, Fb]) aligned to channel `channel` of a comparison:
    the Alignment and per-codebook agreement rows (see `agreement`)."""

    name: str
    channel: int
    codes_a: np.ndarray
    codes_b: np.ndarray
    alignment: Alignment
    rows: tuple[dict, ...]
    generation: int


def compare_with_file(
    codec, geometry, comparison, channel: int, path, on: str = "latent", progress=None, cancel=None
) -> TokenComparison:
    """Read `path` (channel 0, or the same channel when it has one), code it, and compare its
    tokens with channel `channel` of the comparison."""
    from pathlib import Path

    from ..audio.reader import read_resampled

    codes, gen = comparison.codes, comparison.generation
    if codes is None:
        raise ValueError("nothing is encoded yet")
    xb, _ = read_resampled(path, codec.sample_rate, progress, cancel)
    b = analyse_clip(codec, xb[min(channel, xb.shape[0] - 1)])
    a = analyse_clip(codec, comparison.x24[channel])
    al, rows = compare_clips(a, b, geometry, on)
    return TokenComparison(Path(path).name, channel, a.codes, b.codes, al, tuple(rows), gen)

"""Live coding one SEANet hop at a time: the lowest latency the codec allows.

In a live loop the first decoded sample of a frame waits for the frame's last input
sample and then for the compute that follows it. A frame's code depends on all of its
input, but most of the codec does not run at the frame rate: the SEANet encoder and the
encoder transformer run at the hop rate (`frame_size / resample_stride` samples: 960 for
Mimi, 40 ms, 25 Hz), and only the downsampling conv joins two hops into one 12.5 Hz frame.
The decoder mirrors it: the upsampling conv-transpose makes two hop-rate steps of each
frame, and the decoder transformer and the SEANet decoder are causal at that rate. So:

- each hop is encoded as soon as it is recorded (SEANet encoder + encoder transformer);
  the first hop's share of the work is done while the second is still being recorded;
- after the frame's last hop come the downsampling, the quantizer and the upsampling, then
  the first hop of audio is decoded and can go to the speaker before the second is.

What follows the frame's last input sample is then one hop of encoder, the quantizer's
search for the K levels to be decoded (the others are found after the audio went out)
and one hop of decoder. The output is the frame-by-frame stream's (and so the batch
decode's) up to float rounding: the transformers see one row per call instead of two.

The same object codes whole frames too (input a frame at a time, `decode(whole=True)`):
the same calls as the frame-by-frame step, for a machine where the codec barely keeps up
and the hop stream's extra calls (about 1.4x the compute per frame) would not fit.

The state is explicit: one `HopStream` per live session, fed in order, `reset()` to start
again. It runs in one thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import torch

from .modules.conv import ConvState
from .runner import as_tensor

if TYPE_CHECKING:
    from .codec import MimiCodec


def _hold_all(states: Any) -> None:
    """Put every conv state of a SEANet state tree in `hold` mode (pieces of any length)."""
    if isinstance(states, list):
        for st in states:
            _hold_all(st)
    elif isinstance(states, ConvState):
        states.hold = True


class HopStream:
    """`encode(x [1, 1, n], levels)`, any n: the input as it arrives -> codes [1, K, f] of
    the f >= 0 frames it completed (`all_codes()` then gives all n_q levels);
    `decode(codes [1, K, 1])` -> the frame's audio, hop by hop ([1, 1, hop] each, on the
    CPU), each computed only when the previous one was taken."""

    def __init__(self, codec: MimiCodec) -> None:
        self.codec = codec
        self.model = codec.model
        self.hops = codec.config.resample_stride  # hops per frame
        self.hop = codec.frame_size // self.hops  # samples per hop
        self.reset()

    def reset(self) -> None:
        self._enc = self.model.init_encoder_state()
        _hold_all(self._enc.seanet)
        self._dec = self.model.init_decoder_state()
        self._held: list[torch.Tensor] = []  # this frame's encoded hops so far, [1, D, 1] each
        self._later: list = []  # the last encode's frames: their other levels, on demand
        self._decoding = False
        self.samples = 0  # samples taken in
        self.frames = 0  # frames encoded

    @property
    def pending(self) -> int:
        """Samples of the current frame taken in so far (0 at a frame boundary)."""
        return self.samples - self.frames * self.codec.frame_size

    @torch.inference_mode()
    def encode(self, x: Any, levels: int | None = None) -> torch.Tensor:
        """x [1, 1, n] float32 at the codec rate, any n >= 0 -> codes [1, K, f] int64 (CPU)
        of the f frames it completed, K = `levels` (default all n_q). With fewer levels
        the search for the others waits for `all_codes()`: a live loop decodes its K first
        and finds the rest after the audio went out (the quantizer's share of the time
        between a frame's last sample and its first sound shrinks by n_q / K)."""
        x = as_tensor(x, torch.float32)
        if x.dim() != 3 or x.shape[:2] != (1, 1):
            raise ValueError(f"input must be [1, 1, n], got {list(x.shape)}")
        k = self.codec.num_codebooks if levels is None else self.codec.check_k(levels)
        m = self.model
        self.samples += x.shape[-1]
        h = m.encoder(x.to(self.codec.device), self._enc.seanet)  # [1, D, hops completed]
        codes, self._later = [], []
        if h.shape[-1]:  # the transformer over all new hops at once (causal: the same)
            self._held.extend(m.encoder_transformer(h, self._enc.transformer).split(1, dim=-1))
        while len(self._held) >= self.hops:
            frame, self._held = self._held[: self.hops], self._held[self.hops :]
            z = m.downsample(torch.cat(frame, dim=-1), self._enc.downsample)
            self.frames += 1
            now, later = m.quantizer.encode_prefix(z, k)
            codes.append(now.cpu())
            self._later.append(later)
        if not codes:
            return torch.zeros(1, k, 0, dtype=torch.int64)
        return codes[0] if len(codes) == 1 else torch.cat(codes, dim=-1)

    def all_codes(self) -> torch.Tensor:
        """Every level's codes [1, n_q, f] of the frames the last `encode` completed."""
        with torch.inference_mode():
            got = [later().cpu() for later in self._later]
        if not got:
            return torch.zeros(1, self.codec.num_codebooks, 0, dtype=torch.int64)
        return got[0] if len(got) == 1 else torch.cat(got, dim=-1)

    def decode(self, codes: Any, whole: bool = False) -> Iterator[torch.Tensor]:
        """codes [1, K, 1] (the K-prefix to decode) -> yields the frame's `hops` pieces of
        audio [1, 1, hop] float32 (CPU), in order; `whole`: the frame in one piece
        [1, 1, frame_size], decoded in one pass (fewer calls: for a machine where the
        codec barely keeps up). Take them all before the next decode."""
        c = self.codec.check_codes(codes)
        if c.shape != (1, c.shape[1], 1):
            raise ValueError(f"codes must be [1, K, 1], got {list(c.shape)}")
        if self._decoding:
            raise RuntimeError("the previous frame's decode was not taken to its end")
        self._decoding = True
        try:
            with torch.inference_mode():
                m = self.model
                q = m.quantizer.decode(c.to(self.codec.device))
                steps = m.upsample(q, self._dec.upsample)  # [1, D, hops]
            spans = [(0, self.hops)] if whole else [(i, i + 1) for i in range(self.hops)]
            for a, b in spans:
                with torch.inference_mode():
                    h = m.decoder_transformer(steps[..., a:b], self._dec.transformer)
                    y = m.decoder(h, self._dec.seanet).cpu()
                yield y
        finally:
            self._decoding = False

"""The toolbar: play, A/B, loudness match, loop, difference, streaming check, the K slider
with its bitrate, the channel. It shows state; the window connects it to the controllers."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QButtonGroup, QComboBox, QLabel, QPushButton, QSlider, QToolBar

from codec.model.info import CodecInfo

# what B can be: the codec's decode at K, one group of the split quantizer alone, or what
# K codebooks miss
PARTS = (
    ("codec", "all", "B is the decode of the first K codebooks"),
    ("semantic", "semantic", "B is codebook 0's part of the latent alone, through the decoder"),
    ("acoustic", "acoustic", "B is codebooks 1..K-1's part of the latent alone"),
    ("residual", "residual", "B is the original minus the decode at K: what K codebooks miss"),
)


def bitrate_text(k: int, info: CodecInfo | None, moshi_k: int) -> str:
    """'K =  8 · 1.10 kbps  (Moshi's setting)' for the codec `info` describes."""
    if info is None:
        return f"K = {k:2d}"
    tag = "  (Moshi's setting)" if k == moshi_k and info.num_codebooks >= moshi_k else ""
    return f"K = {k:2d} · {info.bitrate(k) / 1000:.2f} kbps{tag}"


def _toggle(text: str, tip: str = "") -> QPushButton:
    b = QPushButton(text)
    b.setCheckable(True)
    b.setToolTip(tip)
    return b


class TransportBar(QToolBar):
    def __init__(self, moshi_k: int) -> None:
        super().__init__("Transport")
        self.setMovable(False)
        self.moshi_k = moshi_k
        self.play_btn = QPushButton("▶ Play")
        self.a_btn, self.b_btn = QPushButton("A original"), QPushButton("B")
        group = QButtonGroup(self)
        for b in (self.a_btn, self.b_btn):
            b.setCheckable(True)
            group.addButton(b)
        self.a_btn.setChecked(True)
        self.b_btn.setEnabled(False)
        self.match_btn = _toggle(
            "Match loudness",
            "play B at A's integrated loudness (BS.1770), so the louder one is not simply "
            "preferred; lowered where B would clip",
        )
        self.gain_label = QLabel("")
        self.gain_label.setMinimumWidth(90)
        self.part_box = QComboBox()
        for label, part, tip in PARTS:
            self.part_box.addItem(label, part)
            self.part_box.setItemData(self.part_box.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.part_box.setToolTip("what B plays and shows (Tab switches A and B)")
        self.loop_btn = _toggle("Loop", "loop the visible part of the waveform")
        self.diff_btn = _toggle("Difference", "draw B - A on the waveforms")
        self.stream_btn = _toggle(
            "Streaming check",
            "code the clip frame by frame through the streaming encoder and decoder and "
            "compare with the batch path: equal codes, largest sample difference, and the "
            "difference trace (violet) on the waveforms",
        )
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(1, 1)
        self.slider.setEnabled(False)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setFixedWidth(170)
        self.k_label = QLabel("K")
        self.k_label.setMinimumWidth(200)
        self.channel_box = QComboBox()
        for w in (
            self.play_btn,
            self.a_btn,
            self.b_btn,
            self.part_box,
            self.match_btn,
            self.gain_label,
        ):
            self.addWidget(w)
        self.addSeparator()
        for w in (self.loop_btn, self.diff_btn, self.stream_btn):
            self.addWidget(w)
        self.addSeparator()
        self.addWidget(self.slider)  # the K readout beside it says what it is
        self.addWidget(self.k_label)
        self.addSeparator()
        self.addWidget(QLabel(" channel "))
        self.addWidget(self.channel_box)
        self.info: CodecInfo | None = None

    def set_codec(self, info: CodecInfo) -> None:
        self.info = info
        self.slider.blockSignals(True)
        self.slider.setRange(1, info.num_codebooks)
        self.slider.blockSignals(False)
        self.slider.setTickInterval(max(1, info.num_codebooks // 4))
        self.slider.setEnabled(True)
        self.slider.setToolTip(
            f"codebooks decoded, 1..{info.num_codebooks}; {self.moshi_k} is Moshi's setting"
        )

    def set_k(self, k: int) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(k)
        self.slider.blockSignals(False)
        self.k_label.setText(bitrate_text(k, self.info, self.moshi_k))

    def set_playing(self, playing: bool) -> None:
        self.play_btn.setText("⏸ Pause" if playing else "▶ Play")

    def set_ab(self, which: str) -> None:
        (self.a_btn if which == "A" else self.b_btn).setChecked(True)

    def set_channels(self, n: int) -> None:
        self.channel_box.blockSignals(True)
        self.channel_box.clear()
        self.channel_box.addItems([f"{c + 1}" for c in range(n)])
        self.channel_box.blockSignals(False)

    def set_gain(self, text: str, tip: str) -> None:
        self.gain_label.setText(text)
        self.gain_label.setToolTip(tip)

"""“See what the network sees”: the 28×28 image the model receives, enlarged, and its probabilities."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from .suggestions import Prediction

ZOOM = 7  # 28 px -> 196 px, nearest neighbour: every model pixel stays a crisp square
BARS = 10


def image_to_pixmap(image: np.ndarray, zoom: int = ZOOM) -> QPixmap:
    """A (28, 28) uint8 image (255 = ink) as the model sees it: white ink on black, enlarged."""
    # Nearest-neighbour enlargement in numpy: much cheaper than QImage.scaled() on every update.
    big = np.ascontiguousarray(np.asarray(image, dtype=np.uint8).repeat(zoom, axis=0).repeat(zoom, axis=1))
    h, w = big.shape
    return QPixmap.fromImage(QImage(big.data, w, h, w, QImage.Format.Format_Grayscale8))


class ProbabilityBars(QWidget):
    """The model's most likely classes as horizontal bars."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.items: list[tuple[str, float]] = []
        self.setMinimumHeight(BARS * 18)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(220, BARS * 18)

    def set_probabilities(self, classes: list[str], probs: np.ndarray) -> None:
        if len(probs) == 0:
            self.items = []
        else:
            order = np.argsort(-probs)[:BARS]
            self.items = [(classes[i], float(probs[i])) for i in order]
        self.update()

    def paintEvent(self, event):
        painter = QPainter(self)
        row = self.height() / BARS
        label_w = self.width() * 0.45
        metrics = painter.fontMetrics()
        for i, (label, p) in enumerate(self.items):
            y = i * row
            text = metrics.elidedText(label, Qt.TextElideMode.ElideRight, int(label_w) - 4)
            painter.setPen(QColor("#333333"))
            painter.drawText(
                QRectF(0, y, label_w - 4, row),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                text,
            )
            bar_w = (self.width() - label_w - 36) * p
            painter.fillRect(QRectF(label_w, y + row * 0.2, max(bar_w, 1.0), row * 0.6), QColor("#0b57d0"))
            painter.drawText(
                QRectF(label_w + bar_w + 3, y, 40, row),
                Qt.AlignmentFlag.AlignVCenter,
                f"{p * 100:.0f}%" if p >= 0.005 else "<1%",
            )
        painter.end()


class NetworkView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.image = np.zeros((28, 28), dtype=np.uint8)
        self._pending: Prediction | None = None
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setToolTip("The 28×28 image the network receives (white = ink)")
        self.bars = ProbabilityBars()
        title = QLabel("What the network sees")
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(title)
        layout.addWidget(self.picture)
        layout.addWidget(self.bars)
        self._set_image(self.image)

    def _set_image(self, image: np.ndarray) -> None:
        self.image = image
        self.picture.setPixmap(image_to_pixmap(image))

    def show_prediction(self, prediction: Prediction) -> None:
        if self.isVisible():  # hidden: skip the work, the next update after showing catches up
            self._set_image(prediction.image)
            self.bars.set_probabilities(prediction.classes, prediction.probs)
        else:
            self._pending = prediction

    def showEvent(self, event):
        pending = self._pending
        if pending is not None:
            self._pending = None
            self._set_image(pending.image)
            self.bars.set_probabilities(pending.classes, pending.probs)
        super().showEvent(event)

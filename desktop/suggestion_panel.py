"""The suggestions: the top five guesses with their confidence, or "keep drawing…" while unsure.

Clicking a guess asks for the AutoDraw-style replace; guesses without a reference drawing are shown
disabled, with a tooltip that says why.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from .suggestions import TOP, Prediction

DRAW_SOMETHING = "Draw something…"
KEEP_DRAWING = "Keep drawing…"


class SuggestionPanel(QWidget):
    chosen = Signal(str)  # a class label
    thresholdChanged = Signal(float)

    def __init__(self, threshold: float, parent=None):
        super().__init__(parent)
        self.threshold = threshold
        self.has_reference = lambda label: False
        self.labels: list[str] = []
        self.probabilities: list[float] = []

        self.headline = QLabel(DRAW_SOMETHING)
        self.headline.setObjectName("headline")
        self.headline.setWordWrap(True)
        font = self.headline.font()
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.headline.setFont(font)

        self.caption = QLabel("")
        self.caption.setWordWrap(True)

        self.buttons: list[QPushButton] = []
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.caption)
        for _ in range(TOP):
            button = QPushButton()
            policy = button.sizePolicy()
            policy.setRetainSizeWhenHidden(True)  # the panel keeps its size: the canvas never jumps
            button.setSizePolicy(policy)
            button.setVisible(False)
            button.setStyleSheet("text-align: left; padding: 6px 10px;")
            button.clicked.connect(self._clicked)
            self.buttons.append(button)
            layout.addWidget(button)

        self.threshold_label = QLabel()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setValue(round(threshold * 100))
        self.slider.setToolTip("Below this confidence Inkling says “keep drawing” instead of guessing")
        self.slider.valueChanged.connect(self._slider_moved)
        layout.addSpacing(8)
        layout.addWidget(self.threshold_label)
        layout.addWidget(self.slider)
        layout.addStretch(1)
        self._update_threshold_label()

    # --- state ----------------------------------------------------------------------------------------

    @property
    def confident(self) -> bool:
        return bool(self.probabilities) and self.probabilities[0] >= self.threshold

    def show_prediction(self, prediction: Prediction) -> None:
        self.labels = [s.label for s in prediction.top]
        self.probabilities = [s.p for s in prediction.top]
        self._refresh()

    def set_threshold(self, value: float) -> None:
        self.slider.setValue(round(value * 100))  # -> _slider_moved

    def _slider_moved(self, value: int) -> None:
        self.threshold = value / 100.0
        self._update_threshold_label()
        self._refresh()
        self.thresholdChanged.emit(self.threshold)

    def _update_threshold_label(self) -> None:
        self.threshold_label.setText(f"Confidence threshold: {round(self.threshold * 100)}%")

    def _refresh(self) -> None:
        if not self.labels:
            self.headline.setText(DRAW_SOMETHING)
            self.caption.setText("Inkling guesses what you draw, live.")
        elif self.confident:
            self.headline.setText(f"Is it {with_article(self.labels[0])}?")
            self.caption.setText("Click a suggestion to replace your doodle with a clean drawing.")
        else:
            self.headline.setText(KEEP_DRAWING)
            self.caption.setText("Not sure yet. Best guesses so far:")
        for i, button in enumerate(self.buttons):
            if i >= len(self.labels):
                button.setVisible(False)
                continue
            label, p = self.labels[i], self.probabilities[i]
            button.setText(f"{label}   {p * 100:.0f}%")
            # Only touch what changed: this runs after every stroke and must stay cheap.
            if button.property("label") != label:
                button.setProperty("label", label)
                usable = self.has_reference(label)
                button.setEnabled(usable)
                tip = (
                    f"Replace your drawing with a clean {label}"
                    if usable
                    else f"No reference drawing for “{label}”"
                )
                button.setToolTip(tip)
            bold = i == 0 and self.confident
            if button.font().bold() != bold:
                font = button.font()
                font.setBold(bold)
                button.setFont(font)
            if button.isHidden():
                button.setVisible(True)

    def _clicked(self) -> None:
        label = self.sender().property("label")
        if label:
            self.chosen.emit(str(label))


def with_article(label: str) -> str:
    if label[:1].isupper():  # The Eiffel Tower, The Mona Lisa
        return label
    return f"{'an' if label[:1] in 'aeiou' else 'a'} {label}"

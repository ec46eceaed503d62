"""The suggestions: a picture, name and confidence for each likely guess, or "keep drawing…" while unsure.

Only guesses that matter are listed (see ``listed``): never a row at "0%". Clicking a guess (or Return,
for the top one) asks for the AutoDraw-style replace; guesses without a picture are shown disabled,
with a tooltip that says why. Pictures are rendered on first use, just after the row is shown, so a new
guess never delays the suggestions.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from .suggestions import TOP, Prediction

DRAW_SOMETHING = "Draw something…"
KEEP_DRAWING = "Keep drawing…"
PICTURE = 44  # pixels: the side of a suggestion's picture
MIN_LISTED = 0.01  # a guess under 1% is never listed (it would read "0%")
COVERED = 0.95  # once the rows above hold this much probability, the rest are not listed
RELATIVE = 0.05  # nor is a guess under this fraction of the top one


def listed(probabilities: list[float]) -> int:
    """How many of the ranked guesses to list: the top one always, then those that still matter."""
    count, mass = 0, 0.0
    for i, p in enumerate(probabilities):
        if i and (p < MIN_LISTED or mass >= COVERED or p < RELATIVE * probabilities[0]):
            break
        count, mass = count + 1, mass + p
    return count


class SuggestionPanel(QWidget):
    chosen = Signal(str)  # a class label
    thresholdChanged = Signal(float)

    def __init__(self, threshold: float, parent=None):
        super().__init__(parent)
        self.threshold = threshold
        self.has_reference = lambda label: False  # whether accepting the label has a picture to place
        self.picture = lambda label, size: None  # its thumbnail: QPixmap or None
        self.labels: list[str] = []  # the model's ranked guesses (top five)
        self.probabilities: list[float] = []
        self.shown = 0  # how many of them are listed as rows
        self._blank = QPixmap(PICTURE, PICTURE)
        self._blank.fill(Qt.GlobalColor.transparent)
        self._icon_timer = QTimer(self)
        self._icon_timer.setSingleShot(True)
        self._icon_timer.timeout.connect(self._load_pictures)

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
            self._blank_row(button)  # always there, blank when unlisted: the panel never changes size
            button.setStyleSheet("text-align: left; padding: 4px 10px;")
            button.setIconSize(QSize(PICTURE, PICTURE))
            button.setIcon(QIcon(self._blank))
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
        self.shown = listed(self.probabilities)
        self._refresh()

    @property
    def listed_labels(self) -> list[str]:
        return self.labels[: self.shown]

    @property
    def top_choice(self) -> str | None:
        """The first listed guess that can be accepted (what Return accepts)."""
        return next((label for label in self.listed_labels if self.has_reference(label)), None)

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
            self.caption.setText("Click a picture (Return: the first) to put it in place of your doodle.")
        else:
            self.headline.setText(KEEP_DRAWING)
            self.caption.setText("Not sure yet. Best guesses so far:")
        for i, button in enumerate(self.buttons):
            if i >= self.shown:
                if button.property("label") is not None:
                    self._blank_row(button)
                continue
            label, p = self.labels[i], self.probabilities[i]
            button.setText(f"{label}   {p * 100:.0f}%")
            # Only touch what changed: this runs after every stroke and must stay cheap.
            if button.property("label") != label:
                button.setProperty("label", label)
                button.setProperty("picture", None)  # rendered just after this update (_load_pictures)
                button.setIcon(QIcon(self._blank))
                usable = self.has_reference(label)
                button.setEnabled(usable)
                tip = f"Replace your doodle with a clean {label}" if usable else f"No picture for “{label}”"
                button.setToolTip(tip)
                if not self._icon_timer.isActive():
                    self._icon_timer.start(0)
            bold = i == 0 and self.confident
            if button.font().bold() != bold:
                font = button.font()
                font.setBold(bold)
                button.setFont(font)
            if button.isFlat():
                button.setFlat(False)

    def _blank_row(self, button: QPushButton) -> None:
        """An unlisted row: flat, empty and disabled, so nothing shows (cheaper than hiding it and showing
        it again, which this would otherwise do after most strokes)."""
        button.setProperty("label", None)
        button.setText("")
        button.setIcon(QIcon(self._blank))
        button.setToolTip("")
        button.setEnabled(False)
        button.setFlat(True)

    @property
    def rows(self) -> list[QPushButton]:
        """The listed rows, best first."""
        return self.buttons[: self.shown]

    def _load_pictures(self) -> None:
        for button in self.buttons:
            label = button.property("label")
            if label and button.property("picture") != label:
                pixmap = self.picture(str(label), PICTURE)
                button.setIcon(QIcon(pixmap if pixmap is not None else self._blank))
                button.setProperty("picture", label)

    def _clicked(self) -> None:
        label = self.sender().property("label")
        if label:
            self.chosen.emit(str(label))


def with_article(label: str) -> str:
    if label[:1].isupper():  # The Eiffel Tower, The Mona Lisa
        return label
    return f"{'an' if label[:1] in 'aeiou' else 'a'} {label}"

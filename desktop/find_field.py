"""Find by name: a search field that completes any class the model knows (taught ones included), also by
the art's own names ("baby angel" finds angel), and says which class was chosen."""

from __future__ import annotations

from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtWidgets import QCompleter, QLineEdit

ALIAS_ARROW = " → "  # "baby angel → angel": an art name that leads to its class


class FindField(QLineEdit):
    chosen = Signal(str)  # the class, when a name is picked or typed in full and Return pressed

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setPlaceholderText("Find a picture by name (Ctrl+F)")
        self.setClearButtonEnabled(True)
        self._labels: dict[str, str] = {}  # lower-case entry -> class
        self._model = QStringListModel(self)
        completer = QCompleter(self._model, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.activated.connect(self._pick)
        self.setCompleter(completer)
        self.returnPressed.connect(self.choose)

    def set_names(self, classes: list[str], aliases: dict[str, str] | None = None) -> None:
        """The classes to find, and other names (alias -> class) that lead to them."""
        entries = {c.lower(): c for c in classes}
        shown = sorted(classes, key=str.lower)
        for alias, label in sorted((aliases or {}).items()):
            if label in classes and alias.lower() not in entries:
                entry = f"{alias}{ALIAS_ARROW}{label}"
                entries[entry.lower()] = entries[alias.lower()] = label
                shown.append(entry)
        self._labels = entries
        self._model.setStringList(shown)

    def find(self, text: str) -> str | None:
        """The class a typed or chosen entry names (exactly, ignoring case), or None."""
        return self._labels.get(text.strip().lower())

    def choose(self) -> bool:
        """Choose what the field names (Return): emits ``chosen``; False when it names no class."""
        return self._pick(self.text())

    def _pick(self, text: str) -> bool:
        label = self.find(text)
        if label is None:
            return False
        self.clear()
        self.chosen.emit(label)
        return True

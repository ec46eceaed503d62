"""The Teach panel: name a new thing, add drawings of it from the canvas, rename, delete, export, import.

Each class in the list shows its drawings and, from two drawings on, how well it is learned (the share
of its own drawings recognised when each is left out of the teaching); under the list, the selected
class's figure in words, and a request for another drawing when two taught classes are confused.

The dialogs (names, confirmations, files) only ask; the work is done by the methods they call
(``new_class``, ``add_drawing``, ``rename``, ``delete``, ``export_to``, ``import_from``), which tests
call directly. Problems go to ``report(title, message)``.
"""

from __future__ import annotations

from pathlib import Path

from inkling.model.classset import SUFFIX
from inkling.model.contract import ModelError
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .commands import ReplaceDrawingCommand
from .drawing import as_model_strokes
from .teach import TeachController, confusion_text, count_text, progress_text, quality_text

FILE_FILTER = f"Inkling class sets (*{SUFFIX});;All files (*)"
WARNING_STYLE = "color: #b3261e;"


class TeachPanel(QWidget):
    def __init__(self, controller: TeachController, document, undo_stack, settings=None, parent=None):
        super().__init__(parent)
        self.settings = settings  # AppSettings: the folders the file dialogs last used
        self.controller = controller
        self.document = document
        self.undo_stack = undo_stack
        self.report = lambda title, message: QMessageBox.warning(self, title, message)
        self.ask_unsaved = self._ask_unsaved  # -> "export", "discard" or "cancel"

        intro = QLabel("Teach Inkling a new thing: name it, then draw it. One drawing is enough to start.")
        intro.setWordWrap(True)
        self.class_list = QListWidget()
        self.class_list.setObjectName("taughtClasses")
        self.class_list.currentItemChanged.connect(lambda *_: self._refresh_selection())
        self.new_button = QPushButton("New class…")
        self.new_button.clicked.connect(self._ask_new_class)
        self.rename_button = QPushButton("Rename…")
        self.rename_button.clicked.connect(self._ask_rename)
        self.delete_button = QPushButton("Delete…")
        self.delete_button.clicked.connect(self._ask_delete)
        self.add_button = QPushButton("Add this drawing as an example")
        self.add_button.setToolTip(
            "Adds the drawing on the canvas to the selected class and clears the canvas"
        )
        self.add_button.clicked.connect(self.add_drawing)
        self.progress = QLabel()
        self.progress.setWordWrap(True)
        self.quality = QLabel()  # the selected class's figure in words
        self.quality.setObjectName("teachQuality")
        self.quality.setWordWrap(True)
        self.advice = QLabel()  # another drawing, please: taught classes confused with each other
        self.advice.setObjectName("teachAdvice")
        self.advice.setWordWrap(True)
        self.advice.setStyleSheet(WARNING_STYLE)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.storage = QLabel()
        self.storage.setWordWrap(True)
        self.storage.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.export_button = QPushButton("Export class set…")
        self.export_button.clicked.connect(self._ask_export)
        self.import_button = QPushButton("Import class set…")
        self.import_button.clicked.connect(self._ask_import)

        buttons = QGridLayout()
        buttons.addWidget(self.new_button, 0, 0)
        buttons.addWidget(self.rename_button, 0, 1)
        buttons.addWidget(self.delete_button, 0, 2)
        files = QGridLayout()
        files.addWidget(self.export_button, 0, 0)
        files.addWidget(self.import_button, 0, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.class_list, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.add_button)
        layout.addWidget(self.progress)
        layout.addWidget(self.quality)
        layout.addWidget(self.advice)
        layout.addWidget(self.status)
        layout.addWidget(self.storage)
        layout.addLayout(files)

        controller.changed.connect(self.refresh)
        document.changed.connect(self._refresh_selection)
        self.refresh()

    # --- what it shows --------------------------------------------------------------------------------

    @property
    def selected(self) -> str | None:
        item = self.class_list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def select(self, name: str) -> None:
        for row in range(self.class_list.count()):
            if self.class_list.item(row).data(Qt.ItemDataRole.UserRole) == name:
                self.class_list.setCurrentRow(row)
                return

    @property
    def rows(self) -> list[str]:
        return [self.class_list.item(row).text() for row in range(self.class_list.count())]

    def refresh(self) -> None:
        c = self.controller
        keep = self.selected
        self.class_list.blockSignals(True)
        self.class_list.clear()
        for name, drawings in c.examples.items():
            quality = c.quality(name)
            item = QListWidgetItem(count_text(name, len(drawings), quality))
            item.setData(Qt.ItemDataRole.UserRole, name)
            if quality is not None and quality.share is not None and quality.examples == len(drawings):
                item.setToolTip(quality_text(name, quality, c.taught_classes))
            self.class_list.addItem(item)
        self.class_list.blockSignals(False)
        if keep in c.examples:
            self.select(keep)
        elif c.examples:
            self.class_list.setCurrentRow(self.class_list.count() - 1)
        self.status.setStyleSheet(WARNING_STYLE if c.unavailable or c.fit_error else "")
        self.status.setText(self._status_text())
        self.advice.setText(confusion_text(c.confusions()) if not c.busy else self.advice.text())
        self.advice.setVisible(bool(self.advice.text()))
        self._refresh_storage()
        self._refresh_selection()

    def _status_text(self) -> str:
        c = self.controller
        if c.unavailable:
            return f"Teaching is not possible with this model: {c.unavailable}"
        if c.busy:
            return "Learning…"
        if c.fit_error:
            return f"Could not learn these classes: {c.fit_error}"
        taught = c.taught_classes
        text = ""
        if taught:
            n = len(taught)
            text = f"The suggestions include your {n} taught class{'es' if n > 1 else ''}."
        if c.notice:
            text = f"{c.notice} {text}".strip()
        return text

    def _refresh_storage(self) -> None:
        c = self.controller
        if c.save_error:
            self.storage.setStyleSheet(WARNING_STYLE)
            self.storage.setText(f"Not saved: {c.save_error} Export the class set to keep it.")
        elif c.store is None:
            self.storage.setStyleSheet("")
            self.storage.setText("Taught classes are kept in memory only in this window.")
        else:
            self.storage.setStyleSheet("")
            self.storage.setText(f"Saved in {c.store.folder}")

    def _refresh_selection(self) -> None:
        c = self.controller
        name = self.selected
        usable = c.unavailable is None
        self.new_button.setEnabled(usable)
        self.import_button.setEnabled(usable)
        self.rename_button.setEnabled(name is not None)
        self.delete_button.setEnabled(name is not None)
        self.export_button.setEnabled(bool(c.taught_classes))
        self.add_button.setEnabled(usable and name is not None and len(self.document) > 0)
        if name is None:
            self.add_button.setText("Add this drawing as an example")
            self.progress.setText("Start with New class…" if usable and not c.examples else "")
            self.quality.setText("")
        else:
            self.add_button.setText(f"Add this drawing to “{name}”")
            self.progress.setText(f"{name}: {progress_text(c.count(name))}")
            quality = c.quality(name)
            current = quality is not None and quality.examples == c.count(name)
            self.quality.setText(quality_text(name, quality, c.taught_classes) if current else "")
        self.quality.setVisible(bool(self.quality.text()))

    # --- actions --------------------------------------------------------------------------------------

    def new_class(self, name: str) -> bool:
        try:
            clean = self.controller.new_class(name)
        except ValueError as exc:
            self.report("Cannot use that name", str(exc))
            return False
        self.select(clean)
        return True

    def add_drawing(self) -> bool:
        """The canvas's drawing becomes an example of the selected class; the canvas is cleared (undoably)."""
        name = self.selected
        if name is None:
            self.report("No class chosen", "Choose a class in the list, or make one with New class…, first.")
            return False
        strokes = self.document.strokes
        try:
            self.controller.add_example(name, as_model_strokes(strokes))
        except ValueError as exc:
            self.report("Cannot add this drawing", str(exc))
            return False
        self.undo_stack.push(ReplaceDrawingCommand(self.document, [], f"Add drawing to {name}"))
        return True

    def rename(self, old: str, new: str) -> bool:
        try:
            clean = self.controller.rename_class(old, new)
        except ValueError as exc:
            self.report("Cannot use that name", str(exc))
            return False
        self.select(clean)
        return True

    def delete(self, name: str) -> None:
        self.controller.delete_class(name)

    def export_to(self, path: str | Path) -> bool:
        try:
            self.controller.export_file(path)
        except ValueError as exc:
            self.report("Nothing to export", str(exc))
            return False
        except OSError as exc:
            self.report("Cannot export", f"Cannot write {path}: {exc.strerror or exc}")
            return False
        return True

    def import_from(self, path: str | Path) -> list[str]:
        try:
            added, skipped = self.controller.import_file(path)
        except (ModelError, ValueError) as exc:
            self.report("Cannot import class set", str(exc))
            return []
        if skipped:
            self.report(
                "Some classes were not imported",
                "\n".join(skipped) + ("\n\nImported: " + ", ".join(added) if added else ""),
            )
        elif not added:
            self.report("Nothing to import", f"{Path(path).name} holds no taught classes.")
        if added:
            self.select(added[-1])
        return added

    def confirm_close(self) -> bool:
        """Whether the app may quit: taught classes the data folder could not take are offered for export."""
        c = self.controller
        c.wait_idle()
        if not (c.save_error and c.unsaved and c.taught_classes):
            return True
        choice = self.ask_unsaved(
            f"{c.save_error}\n\nYour taught classes ({', '.join(c.taught_classes)}) will be lost when "
            "Inkling quits. Export them to a file first?"
        )
        if choice == "export":
            return self._ask_export()
        return choice == "discard"

    # --- dialogs --------------------------------------------------------------------------------------

    def _ask_new_class(self) -> None:
        name, ok = QInputDialog.getText(self, "New class", "What will you draw? (for example: teapot)")
        if ok and name.strip():
            self.new_class(name)

    def _ask_rename(self) -> None:
        old = self.selected
        if old is None:
            return
        new, ok = QInputDialog.getText(self, "Rename class", f"New name for “{old}”:", text=old)
        if ok and new.strip() and new.strip() != old:
            self.rename(old, new)

    def _ask_delete(self) -> None:
        name = self.selected
        if name is None:
            return
        count = self.controller.count(name)
        answer = QMessageBox.question(
            self,
            "Delete class",
            f"Delete “{name}” and its {count} drawing{'s' if count != 1 else ''}? This cannot be undone.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.delete(name)

    def _ask_export(self) -> bool:
        name = f"my-classes{SUFFIX}"
        start = str(Path(self.settings.folder("classes")) / name) if self.settings else name
        path, _ = QFileDialog.getSaveFileName(self, "Export Class Set", start, FILE_FILTER)
        if not path:
            return False
        if self.settings:
            self.settings.remember_folder("classes", path)
        if not Path(path).suffix:
            path += SUFFIX
        return self.export_to(path)

    def _ask_unsaved(self, text: str) -> str:
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.warning(
            self,
            "Taught classes not saved",
            text,
            buttons.Save | buttons.Discard | buttons.Cancel,
            buttons.Save,
        )
        return {buttons.Save: "export", buttons.Discard: "discard"}.get(answer, "cancel")

    def _ask_import(self) -> None:
        start = self.settings.folder("classes") if self.settings else ""
        path, _ = QFileDialog.getOpenFileName(self, "Import Class Set", start, FILE_FILTER)
        if path:
            if self.settings:
                self.settings.remember_folder("classes", path)
            self.import_from(path)

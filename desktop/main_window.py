"""The main window: the canvas, live suggestions, what the network sees, and the menus that tie them."""

from __future__ import annotations

import json
import time
from pathlib import Path

from inkling.model.classifier import Classifier, load_model
from inkling.model.contract import ModelError
from inkling.model.strokes import StrokeFormatError
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QMainWindow,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from . import files
from .canvas import ERASER_TOOL, PEN_TOOL, Canvas
from .commands import ReplaceDrawingCommand
from .document import Document
from .drawing import CLEAN, Stroke, bounding_box, fit_into
from .network_view import NetworkView
from .references import ReferenceLibrary
from .settings import AppSettings
from .suggestion_panel import SuggestionPanel
from .suggestions import Prediction, SuggestionEngine
from .teach import TeachController
from .teach_panel import TeachPanel
from .teach_store import TeachStore

MIN_REPLACE_SIDE = 120.0  # canvas units: a replaced drawing is at least this big, even for a tiny doodle
ATTRIBUTION = (
    'Reference drawings from "The Quick, Draw! Dataset" by Google '
    "(https://github.com/googlecreativelab/quickdraw-dataset), licensed under CC BY 4.0."
)


class MainWindow(QMainWindow):
    suggestionsShown = Signal(object)  # Prediction, after the panels show it

    def __init__(
        self,
        classifier: Classifier,
        *,
        settings: AppSettings,
        references: ReferenceLibrary | None = None,
        log_predictions: bool = False,
        data_dir: str | Path | None = None,
    ):
        super().__init__()
        self.settings = settings
        self.classifier = classifier
        self.references = references if references is not None else ReferenceLibrary()
        self.log_predictions = log_predictions
        self.document = Document(self)
        self.undo_stack = QUndoStack(self)
        self.canvas = Canvas(self.document, self.undo_stack)
        self.engine = SuggestionEngine(classifier, self)
        self.panel = SuggestionPanel(settings.threshold)
        self.panel.has_reference = self.references.__contains__
        self.network_view = NetworkView()
        # Taught classes are saved in data_dir; without one (tests, self-test) they live in memory only.
        self.teach = TeachController(classifier, TeachStore(data_dir) if data_dir is not None else None, self)
        self.teach_panel = TeachPanel(self.teach, self.document, self.undo_stack)
        self.teach_panel.report = lambda title, message: self.report_error(title, message)
        self.teach_dock = QDockWidget("Teach", self)
        self.teach_dock.setObjectName("teach")
        self.teach_dock.setWidget(self.teach_panel)
        self.teach_dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable | QDockWidget.DockWidgetFeature.DockWidgetMovable
        )
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.teach_dock)

        side = QWidget()
        side.setFixedWidth(280)
        side_layout = QVBoxLayout(side)
        side_layout.addWidget(self.panel)
        side_layout.addWidget(self.network_view)
        side_layout.addStretch(1)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.VLine)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(line)
        layout.addWidget(side)
        self.setCentralWidget(central)

        self._create_actions()
        self._create_menus()
        self._connect()
        self._update_title()
        geometry = settings.geometry
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1100, 680)
        self.network_action.setChecked(settings.show_network)
        self.network_view.setVisible(settings.show_network)
        self.teach_dock.setVisible(settings.show_teach)
        self.teach_message = self.teach.restore()  # the stored taught classes, or why they are not there
        if self.teach_message:
            self.statusBar().showMessage("A problem with your taught classes: see the message")
            QTimer.singleShot(0, lambda: self.report_error("Taught classes", self.teach_message))

    # --- construction -----------------------------------------------------------------------------

    def _create_actions(self) -> None:
        self.open_drawing_action = QAction("&Open Drawing…", self, shortcut=QKeySequence.StandardKey.Open)
        self.open_drawing_action.triggered.connect(self._ask_open_drawing)
        self.save_action = QAction("&Save Drawing As…", self, shortcut=QKeySequence.StandardKey.Save)
        self.save_action.triggered.connect(self._ask_save_drawing)
        self.open_model_action = QAction("Open &Model…", self, shortcut="Ctrl+M")
        self.open_model_action.triggered.connect(self._ask_open_model)
        self.quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        self.quit_action.triggered.connect(self.close)

        self.undo_action = self.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcuts([QKeySequence("Ctrl+Z")])
        self.redo_action = self.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.clear_action = QAction("&Clear", self, shortcut="Ctrl+Backspace")
        self.clear_action.triggered.connect(self.clear)

        tools = QActionGroup(self)
        self.pen_action = QAction("&Pen", self, shortcut="P", checkable=True, checked=True)
        self.pen_action.triggered.connect(lambda: self.canvas.set_tool(PEN_TOOL))
        self.eraser_action = QAction("&Eraser", self, shortcut="E", checkable=True)
        self.eraser_action.setToolTip("Eraser: touch a stroke to remove it")
        self.eraser_action.triggered.connect(lambda: self.canvas.set_tool(ERASER_TOOL))
        tools.addAction(self.pen_action)
        tools.addAction(self.eraser_action)

        self.network_action = QAction("See What the &Network Sees", self, checkable=True, shortcut="Ctrl+N")
        self.network_action.toggled.connect(self._toggle_network)
        self.teach_action = self.teach_dock.toggleViewAction()
        self.teach_action.setText("&Teach")
        self.teach_action.setShortcut("Ctrl+T")
        self.teach_action.setToolTip("Teach Inkling new things to recognise (Ctrl+T)")
        self.about_action = QAction("&About Inkling", self)
        self.about_action.triggered.connect(self._about)

    def _create_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        for action in (
            self.open_drawing_action,
            self.save_action,
            None,
            self.open_model_action,
            None,
            self.quit_action,
        ):
            file_menu.addSeparator() if action is None else file_menu.addAction(action)
        edit_menu = self.menuBar().addMenu("&Edit")
        for action in (self.undo_action, self.redo_action, None, self.clear_action):
            edit_menu.addSeparator() if action is None else edit_menu.addAction(action)
        tools_menu = self.menuBar().addMenu("&Tools")
        tools_menu.addAction(self.pen_action)
        tools_menu.addAction(self.eraser_action)
        view_menu = self.menuBar().addMenu("&View")
        view_menu.addAction(self.network_action)
        view_menu.addAction(self.teach_action)
        self.menuBar().addMenu("&Help").addAction(self.about_action)
        toolbar = self.addToolBar("Tools")
        toolbar.setObjectName("tools")
        toolbar.setMovable(False)
        for action in (
            self.pen_action,
            self.eraser_action,
            None,
            self.undo_action,
            self.redo_action,
            self.clear_action,
            None,
            self.teach_action,
        ):
            toolbar.addSeparator() if action is None else toolbar.addAction(action)

    def _connect(self) -> None:
        # A stroke in progress is classified at a bounded rate; every change of the document
        # (a finished stroke, undo, redo, erase, clear, replace, open) at once.
        self.canvas.strokeStarted.connect(self._stroke_moved)
        self.canvas.strokeExtended.connect(self._stroke_moved)
        self.document.changed.connect(self.refresh_suggestions)
        self.engine.predicted.connect(self._show_prediction)
        self.panel.chosen.connect(self.replace_with)
        self.panel.thresholdChanged.connect(self._threshold_changed)
        self.teach.classifierReady.connect(self._use_classifier)
        self.teach.problem.connect(lambda title, message: self.report_error(title, message))

    # --- suggestions ------------------------------------------------------------------------------

    def _stroke_moved(self) -> None:
        self.engine.request_throttled(self.canvas.live_strokes)

    def refresh_suggestions(self) -> int:
        return self.engine.request(self.canvas.live_strokes())

    def _show_prediction(self, prediction: Prediction) -> None:
        self.panel.show_prediction(prediction)
        self.network_view.show_prediction(prediction)
        if self.log_predictions:
            line = {
                "time": round(time.time(), 3),
                "strokes": prediction.n_strokes,
                "final": prediction.final,
                "top": [{"label": s.label, "p": round(s.p, 4)} for s in prediction.top],
            }
            print(json.dumps(line), flush=True)
        self.suggestionsShown.emit(prediction)

    def _use_classifier(self, classifier: Classifier) -> None:
        """The open model, or it with the taught classes, for the suggestions from now on."""
        if classifier is self.engine.classifier:
            return
        self.engine.set_classifier(classifier)
        self._update_title()
        self.refresh_suggestions()

    def _threshold_changed(self, value: float) -> None:
        self.settings.threshold = value

    # --- editing ----------------------------------------------------------------------------------

    def clear(self) -> None:
        if len(self.document):
            self.undo_stack.push(ReplaceDrawingCommand(self.document, [], "Clear"))

    def replace_with(self, label: str) -> bool:
        """AutoDraw: put the reference drawing of ``label`` into the doodle's bounding box (undoable)."""
        reference = self.references.get(label)
        box = bounding_box(self.document.strokes)
        if reference is None or box is None:
            return False
        x0, y0, x1, y1 = box
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        half_w, half_h = max(x1 - x0, MIN_REPLACE_SIDE) / 2, max(y1 - y0, MIN_REPLACE_SIDE) / 2
        placed = fit_into(reference, (cx - half_w, cy - half_h, cx + half_w, cy + half_h))
        strokes = [Stroke(points, CLEAN) for points in placed]
        self.undo_stack.push(ReplaceDrawingCommand(self.document, strokes, f"Replace with {label}"))
        return True

    # --- files ------------------------------------------------------------------------------------

    def report_error(self, title: str, message: str) -> None:
        QMessageBox.warning(self, title, message)

    def open_model(self, path: str | Path) -> bool:
        """Switch to another model; a file that is not a usable model keeps the current one."""
        try:
            classifier = load_model(path)
        except ModelError as exc:
            self.report_error(
                "Not an Inkling model", f"{exc}\n\nInkling keeps using {self.classifier.path.name}."
            )
            return False
        self.classifier = classifier
        self.engine.set_classifier(classifier)
        self.settings.last_model = str(Path(path).resolve())
        self._update_title()
        self.refresh_suggestions()
        self.teach.set_model(classifier)  # the taught classes move onto it
        return True

    def open_drawing(self, path: str | Path) -> bool:
        try:
            strokes = files.open_ndjson(path)
        except (StrokeFormatError, OSError, UnicodeDecodeError) as exc:
            self.report_error("Cannot open drawing", str(exc))
            return False
        self.undo_stack.push(ReplaceDrawingCommand(self.document, strokes, f"Open {Path(path).name}"))
        return True

    def save_drawing(self, path: str | Path) -> bool:
        try:
            files.save_drawing(self.document.strokes, path)
        except (ValueError, OSError) as exc:
            self.report_error("Cannot save drawing", str(exc))
            return False
        return True

    def _ask_open_drawing(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open Drawing", "", "Quick, Draw! drawings (*.ndjson);;All files (*)"
        )
        if path:
            self.open_drawing(path)

    def _ask_save_drawing(self) -> None:
        filters = {
            "PNG image (*.png)": ".png",
            "SVG drawing (*.svg)": ".svg",
            "Quick, Draw! drawing (*.ndjson)": ".ndjson",
        }
        path, chosen = QFileDialog.getSaveFileName(self, "Save Drawing", "drawing.png", ";;".join(filters))
        if not path:
            return
        if Path(path).suffix.lower() not in files.FORMATS:
            path += filters.get(chosen, ".png")
        self.save_drawing(path)

    def _ask_open_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open Model", "", "Inkling models (*.onnx *.zip);;All files (*)"
        )
        if path:
            self.open_model(path)

    # --- window -----------------------------------------------------------------------------------

    def _toggle_network(self, shown: bool) -> None:
        self.network_view.setVisible(shown)
        self.settings.show_network = shown

    def _update_title(self) -> None:
        things = len(self.engine.classifier.classes)
        self.setWindowTitle(f"Inkling — {self.classifier.path.name} ({things} things)")

    def _about(self) -> None:
        QMessageBox.about(
            self,
            "About Inkling",
            "<p><b>Inkling</b>: draw something and a small neural network guesses what it is, live.</p>"
            f"<p>Model: {self.classifier.path}</p><p>{ATTRIBUTION}</p>",
        )

    def closeEvent(self, event):
        if not self.teach_panel.confirm_close():  # (it lets a fit in flight save the newest classes)
            event.ignore()
            return
        self.settings.geometry = self.saveGeometry()
        self.settings.show_teach = self.teach_dock.isVisible()  # read here: closing hides the dock
        self.settings.sync()
        self.engine.wait_idle()
        super().closeEvent(event)

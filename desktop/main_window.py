"""The main window: the canvas, live suggestions, what the network sees, and the menus that tie them.

The AutoDraw workflow: the canvas holds a scene of placed pieces and the current doodle (the strokes drawn
since the last accepted suggestion). Suggestions, the network view, teach mode and --log-predictions see
the current doodle only; accepting a suggestion puts that class's clean art where the doodle was.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from inkling.model.classifier import Classifier, load_model
from inkling.model.contract import ModelError
from inkling.model.strokes import StrokeFormatError
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QIcon, QKeySequence, QPixmap, QUndoStack
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QMainWindow,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from . import scene_file
from .art import ART_ATTRIBUTION, ArtLibrary
from .canvas import ERASER_TOOL, PEN_TOOL, SELECT_TOOL, Canvas
from .commands import (
    DeletePiecesCommand,
    PlaceCommand,
    RecolorCommand,
    ReplaceDrawingCommand,
    ReplaceSceneCommand,
    RestackCommand,
)
from .document import Document
from .find_field import FindField
from .network_view import NetworkView
from .references import ReferenceLibrary
from .scene import INK, PiecePainter, Scene
from .settings import AppSettings
from .suggestion_panel import SuggestionPanel
from .suggestions import Prediction, SuggestionEngine

SCALE_STEP = 1.1  # Bigger / Smaller
SIDE_WIDTH = 280  # the suggestions' column (the canvas takes the rest)
OPEN_FILTER = "Inkling scenes and Quick, Draw! drawings (*.inkscene *.ndjson);;All files (*)"
SAVE_FILTERS = {
    "Inkling scene (*.inkscene)": scene_file.SUFFIX,
    "PNG image (*.png)": ".png",
    "SVG picture (*.svg)": ".svg",
    "Quick, Draw! drawing of the current doodle (*.ndjson)": ".ndjson",
}
EXPORT_FILTERS = {k: v for k, v in SAVE_FILTERS.items() if v != scene_file.SUFFIX}
ATTRIBUTION = (
    'Reference drawings from "The Quick, Draw! Dataset" by Google '
    "(https://github.com/googlecreativelab/quickdraw-dataset), licensed under CC BY 4.0."
)


class MainWindow(QMainWindow):
    suggestionsShown = Signal(object)  # Prediction, after the panels show it
    firstPainted = Signal()  # once, when the canvas has been painted for the first time

    def __init__(
        self,
        classifier: Classifier,
        *,
        settings: AppSettings,
        references: ReferenceLibrary | None = None,
        art: ArtLibrary | None = None,
        log_predictions: bool = False,
        data_dir: str | Path | Callable[[], Path] | None = None,
    ):
        super().__init__()
        self.settings = settings
        self.classifier = classifier
        self.references = references if references is not None else ReferenceLibrary()
        self.art = art if art is not None else ArtLibrary.load()  # reads its mapping only: pictures on use
        self.log_predictions = log_predictions
        self.scene_path: Path | None = None  # where File ▸ Save writes the scene
        # Unsaved work, before closing or opening another scene: -> "save", "discard" or "cancel".
        # (A script or test that drives the window replaces it, so that no modal box waits for a person.)
        self.ask_unsaved: Callable[[str], str] = self._ask_unsaved
        self.document = Document(self)  # the current doodle
        self.scene = Scene(self)  # the placed pieces
        self.pieces = PiecePainter(self.art, self.references)
        self.undo_stack = QUndoStack(self)
        self.canvas = Canvas(self.document, self.scene, self.undo_stack, self.pieces)
        self.engine = SuggestionEngine(classifier, self)
        self.panel = SuggestionPanel(settings.threshold)
        self.panel.has_reference = self.pieces.usable
        self.panel.picture = self.pieces.thumbnail
        self.network_view = NetworkView()
        self.find_field = FindField()
        # Taught classes are saved in data_dir; without one (tests, self-test) they live in memory only.
        # Teach mode is built when first needed (see _build_teach): most starts never open it.
        self._data_dir = data_dir
        self._teach = None
        self._teach_panel = None
        self.teach_message: str | None = None
        self.teach_dock = QDockWidget("Teach", self)
        self.teach_dock.setObjectName("teach")
        self.teach_dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable | QDockWidget.DockWidgetFeature.DockWidgetMovable
        )
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.teach_dock)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.addWidget(self.find_field)
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
        # The suggestions scroll rather than make the window taller than a small screen (1024×700).
        scroll = QScrollArea()
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFixedWidth(SIDE_WIDTH)
        layout.addWidget(scroll)
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
        self.teach_dock.visibilityChanged.connect(lambda shown: shown and self.teach_panel)
        if settings.show_teach:
            self._build_teach()
        # Work that can wait for the first paint is done right after it (see _after_first_paint).
        self._paint_watch = _FirstPaint(self.canvas.viewport(), self._after_first_paint)

    def _after_first_paint(self) -> None:
        self.firstPainted.emit()
        if self._teach is None and self._classes_stored():
            self._build_teach()  # the taught classes join the suggestions before a first stroke ends
        # Loading the model ran it once; this runs the rasterizer too and times one drawing, so that
        # the first stroke neither pays for lazy set-up nor guesses where to run.
        self.engine.warm_up()
        self._update_find_names()
        # Not in the first stroke's way: whether a class without art has a reference drawing is known
        # only once they are read. (A zero-time timer queued before show() would fire before the paint.)
        self._read_references()

    # --- teach mode, built on first use -----------------------------------------------------------

    def _classes_stored(self) -> bool:
        """Whether the data folder holds anything of teach mode's (a set, or one set aside)."""
        from .teach_store import CLASSES_DIR

        folder = self._data_folder()
        return folder is not None and (folder / CLASSES_DIR).exists()

    def _data_folder(self) -> Path | None:
        """data_dir, called the first time if it is a function (finding the person's folder takes
        platformdirs, which start-up does without)."""
        if callable(self._data_dir):
            self._data_dir = self._data_dir()
        return Path(self._data_dir) if self._data_dir is not None else None

    def _build_teach(self) -> None:
        from .teach import TeachController
        from .teach_store import TeachStore

        folder = self._data_folder()
        store = TeachStore(folder) if folder is not None else None
        self._teach = TeachController(self.classifier, store, self)
        self._teach.classifierReady.connect(self._use_classifier)
        self._teach.changed.connect(self._taught_pictures)
        self._teach.problem.connect(lambda title, message: self.report_error(title, message))
        self.teach_message = self._teach.restore()  # the stored taught classes, or why they are not there
        if self.teach_message:
            self.statusBar().showMessage("A problem with your taught classes: see the message")
            QTimer.singleShot(0, lambda: self.report_error("Taught classes", self.teach_message))

    def _taught_pictures(self) -> None:
        """A taught class's picture is the person's own first drawing of it, drawn with the clean pen."""
        teach = self._teach
        taught = {
            name: [np.asarray(s)[:, :2] for s in teach.examples[name][0]] for name in teach.taught_classes
        }
        self.pieces.forget(set(taught) | set(self.references.taught))  # their thumbnails may have changed
        self.references.taught = taught

    @property
    def teach(self):
        """The teach controller (desktop.teach.TeachController)."""
        if self._teach is None:
            self._build_teach()
        return self._teach

    @property
    def teach_panel(self):
        """The Teach dock's panel (desktop.teach_panel.TeachPanel), made when the dock is first shown."""
        if self._teach_panel is None:
            from .teach_panel import TeachPanel

            self._teach_panel = TeachPanel(self.teach, self.document, self.undo_stack, self.settings)
            self._teach_panel.report = lambda title, message: self.report_error(title, message)
            self.teach_dock.setWidget(self._teach_panel)
        return self._teach_panel

    # --- construction -----------------------------------------------------------------------------

    def _create_actions(self) -> None:
        def action(text, slot=None, shortcut=None, tip=None, **kwargs):
            a = QAction(text, self, **kwargs)
            if shortcut is not None:
                a.setShortcuts(shortcut if isinstance(shortcut, list) else [QKeySequence(shortcut)])
            if tip:
                a.setToolTip(tip)
            if slot is not None:
                a.triggered.connect(slot)
            return a

        self.new_action = action(
            "&New", self.new_picture, QKeySequence.StandardKey.New, "Start a new, empty picture"
        )
        self.open_drawing_action = action(
            "&Open…",
            self._ask_open_drawing,
            QKeySequence.StandardKey.Open,
            "Open a scene or a Quick, Draw! drawing",
        )
        self.save_scene_action = action("&Save Scene", self._save_scene, QKeySequence.StandardKey.Save)
        self.save_action = action("Save &As…", self._ask_save_drawing, QKeySequence.StandardKey.SaveAs)
        self.export_action = action(
            "&Export Picture…",
            self._ask_export,
            "Ctrl+E",
            "Save the picture as PNG or SVG, or the doodle as ndjson",
        )
        self.open_model_action = action("Open &Model…", self._ask_open_model, "Ctrl+M")
        self.quit_action = action("&Quit", self.close, QKeySequence.StandardKey.Quit)

        self.undo_action = self.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcuts([QKeySequence("Ctrl+Z")])
        self.redo_action = self.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.clear_action = action(
            "&Clear", self.clear, "Ctrl+Backspace", "Clear the whole picture (undoable)"
        )
        self.accept_action = action(
            "&Use Top Suggestion",
            self.accept_top,
            [QKeySequence(Qt.Key.Key_Return), QKeySequence(Qt.Key.Key_Enter)],
            "Replace the doodle with the top suggestion's picture (Return)",
        )
        self.new_object_action = action(
            "&New Object",
            self.new_object,
            "N",
            "Keep the doodle as it is drawn; the next stroke starts a new object (N)",
        )
        self.delete_action = action(
            "&Delete",
            self.delete_selection,
            [QKeySequence.StandardKey.Delete, QKeySequence(Qt.Key.Key_Backspace)],
        )
        self.forward_action = action("Bring &Forward", self.bring_forward, "Ctrl+]")
        self.back_action = action("Send &Backward", self.send_backward, "Ctrl+[")
        self.bigger_action = action("&Bigger", lambda: self.canvas.scale_selection(SCALE_STEP), ["+", "="])
        self.smaller_action = action("S&maller", lambda: self.canvas.scale_selection(1 / SCALE_STEP), "-")
        self.select_all_action = action("Select &All", self.select_all, QKeySequence.StandardKey.SelectAll)
        self.find_action = action(
            "&Find by Name…", self._focus_find, QKeySequence.StandardKey.Find, "Find any picture by its name"
        )

        tools = QActionGroup(self)
        self.pen_action = action("&Pen", lambda: self.set_tool(PEN_TOOL), "P", checkable=True, checked=True)
        self.eraser_action = action(
            "&Eraser",
            lambda: self.set_tool(ERASER_TOOL),
            "E",
            "Eraser: touch a stroke to remove it",
            checkable=True,
        )
        self.select_action = action(
            "&Select",
            lambda: self.set_tool(SELECT_TOOL),
            "V",
            "Select, move and resize placed pictures (drag the corner handle, or the wheel)",
            checkable=True,
        )
        for a in (self.pen_action, self.eraser_action, self.select_action):
            tools.addAction(a)
        self.color_action = action(
            "Pen &Colour…", self._ask_color, "C", "The pen's colour (and the selection's)"
        )
        self._show_color()

        self.network_action = QAction(
            "See What the &Network Sees", self, checkable=True, shortcut="Ctrl+Shift+N"
        )
        self.network_action.toggled.connect(self._toggle_network)
        self.teach_action = self.teach_dock.toggleViewAction()
        self.teach_action.setText("&Teach")
        self.teach_action.setShortcut("Ctrl+T")
        self.teach_action.setToolTip("Teach Inkling new things to recognise (Ctrl+T)")
        self.about_action = action("&About Inkling", self._about)
        self._update_actions()

    def _create_menus(self) -> None:
        def menu(title, actions):
            m = self.menuBar().addMenu(title)
            for a in actions:
                m.addSeparator() if a is None else m.addAction(a)
            return m

        menu(
            "&File",
            [
                self.new_action,
                self.open_drawing_action,
                self.save_scene_action,
                self.save_action,
                self.export_action,
                None,
                self.open_model_action,
                None,
                self.quit_action,
            ],
        )
        menu(
            "&Edit",
            [
                self.undo_action,
                self.redo_action,
                None,
                self.accept_action,
                self.new_object_action,
                self.find_action,
                None,
                self.select_all_action,
                self.delete_action,
                self.forward_action,
                self.back_action,
                self.bigger_action,
                self.smaller_action,
                None,
                self.clear_action,
            ],
        )
        menu("&Tools", [self.pen_action, self.eraser_action, self.select_action, None, self.color_action])
        menu("&View", [self.network_action, self.teach_action])
        menu("&Help", [self.about_action])
        toolbar = self.addToolBar("Tools")
        toolbar.setObjectName("tools")
        toolbar.setMovable(False)
        for a in (
            self.pen_action,
            self.eraser_action,
            self.select_action,
            self.color_action,
            None,
            self.undo_action,
            self.redo_action,
            self.new_object_action,
            self.clear_action,
            None,
            self.teach_action,
        ):
            toolbar.addSeparator() if a is None else toolbar.addAction(a)

    def _connect(self) -> None:
        # A stroke in progress is classified at a bounded rate; every change of the document
        # (a finished stroke, undo, redo, erase, clear, replace, open) at once.
        self.canvas.strokeStarted.connect(self._stroke_moved)
        self.canvas.strokeExtended.connect(self._stroke_moved)
        self.document.changed.connect(self.refresh_suggestions)
        self.engine.predicted.connect(self._show_prediction)
        self.panel.chosen.connect(self.replace_with)
        self.find_field.chosen.connect(self.place_by_name)
        self.document.changed.connect(self._update_actions)
        self.scene.changed.connect(self._update_actions)
        self.canvas.selectionChanged.connect(self._update_actions)
        self.canvas.told.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self.engine.predicted.connect(self._update_accept)
        self.panel.thresholdChanged.connect(self._threshold_changed)

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
        self._update_find_names()
        self.refresh_suggestions()

    def _update_find_names(self) -> None:
        self.find_field.set_names(list(self.engine.classifier.classes), self.art.names())

    def _focus_find(self) -> None:
        self.find_field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.find_field.selectAll()

    def place_by_name(self, label: str) -> bool:
        """Find by name: ``label``'s picture in place of the doodle, or in the middle of the view when there
        is none (undoable)."""
        if len(self.document):
            placed = self.replace_with(label)
        else:
            view = self.canvas.viewport().rect()
            centre = self.canvas.to_canvas(QPointF(view.center()))
            side = 0.4 * min(view.width(), view.height()) / max(self.canvas.view_scale, 1e-6)
            box = QRectF(centre.x() - side / 2, centre.y() - side / 2, side, side)
            piece = self.pieces.place_in(label, box)
            placed = piece is not None
            if placed:
                self.undo_stack.push(PlaceCommand(self.scene, self.document, piece, f"Place {label}"))
        if not placed:
            self.statusBar().showMessage(f"No picture for “{label}” yet.", 8000)
        self.canvas.setFocus()
        return placed

    def _threshold_changed(self, value: float) -> None:
        self.settings.threshold = value

    # --- editing ----------------------------------------------------------------------------------

    def _read_references(self) -> None:
        self.references.get("")

    def _clean_changed(self, clean: bool) -> None:
        self.setWindowModified(not clean)

    def _update_accept(self, _prediction=None) -> None:
        self.accept_action.setEnabled(len(self.document) > 0 and self.panel.top_choice is not None)

    def _update_actions(self) -> None:
        doodle, pieces = len(self.document) > 0, len(self.scene) > 0
        selected = bool(self.canvas.selected_pieces()) if pieces else False
        self._update_accept()
        self.new_object_action.setEnabled(doodle)
        self.clear_action.setEnabled(doodle or pieces)
        self.select_all_action.setEnabled(pieces)
        for a in (
            self.delete_action,
            self.forward_action,
            self.back_action,
            self.bigger_action,
            self.smaller_action,
        ):
            a.setEnabled(selected)

    def new_picture(self) -> bool:
        """File ▸ New: an empty picture with no file, after asking about unsaved work; False if cancelled.

        Unlike Clear (one undo step), New starts the undo history afresh, as a new document would: what
        was there has been saved or, by the person's answer, discarded.
        """
        if not self._confirm_discard("starting a new picture"):
            return False
        self.undo_stack.push(ReplaceSceneCommand(self.scene, self.document, [], [], "New"))
        self.undo_stack.clear()
        self.scene_path = None
        self._update_title()
        return True

    def clear(self) -> None:
        """Remove everything: the placed pieces and the doodle (one undo step)."""
        if len(self.document) or len(self.scene):
            self.undo_stack.push(ReplaceSceneCommand(self.scene, self.document, [], [], "Clear"))

    def replace_with(self, label: str) -> bool:
        """AutoDraw: the current doodle becomes ``label``'s clean art, fitted to its box (undoable)."""
        if self.canvas.drawing:
            return False
        piece = self.pieces.place(label, self.document.strokes)
        if piece is None:
            return False
        self.undo_stack.push(PlaceCommand(self.scene, self.document, piece, f"Replace with {label}"))
        return True

    accept = replace_with

    def accept_top(self) -> bool:
        """Return: accept the top listed suggestion for the current doodle."""
        if self.find_field.hasFocus():  # Return in the search field chooses what it names
            return self.find_field.choose()  # -> chosen -> place_by_name
        label, panel = self.panel.top_choice, self.panel
        last = self.engine.last
        if last is None or last.n_strokes != len(self.document) or not len(self.document):
            return False  # no suggestion for this very doodle yet
        # The confidence threshold decides what Return may place; a click on a suggestion places it anyway.
        why = None
        if not panel.confident:
            why = (
                f"Not sure enough to place anything: the best guess ({panel.labels[0]}, "
                f"{panel.probabilities[0]:.0%}) is below the {panel.threshold:.0%} confidence threshold. "
                "Click a suggestion to place it anyway."
            )
        elif label is None:
            why = f"No picture for “{panel.labels[0]}”: press N to keep your doodle as drawn."
        if why:
            self.statusBar().showMessage(why, 8000)
            return False
        return self.replace_with(label)

    def new_object(self) -> bool:
        """Keep the doodle as drawn, as a piece of its own; the next stroke starts a new doodle."""
        piece = self.pieces.keep(self.document.strokes)
        if piece is None or self.canvas.drawing:
            return False
        self.undo_stack.push(PlaceCommand(self.scene, self.document, piece, "New object"))
        return True

    TOOL_HINTS = {
        PEN_TOOL: "Draw. Return puts the first suggestion's picture in place of your doodle; N keeps it as drawn.",
        ERASER_TOOL: "Touch a stroke of the doodle to remove it.",
        SELECT_TOOL: "Click or drag a box to select; drag to move; the corner handle, the wheel or +/- resize; "
        "Delete removes; Ctrl+] / Ctrl+[ restack.",
    }

    def set_tool(self, tool: str) -> None:
        self.canvas.set_tool(tool)
        {PEN_TOOL: self.pen_action, ERASER_TOOL: self.eraser_action, SELECT_TOOL: self.select_action}[
            tool
        ].setChecked(True)
        self.statusBar().showMessage(self.TOOL_HINTS[tool], 8000)

    def select_all(self) -> None:
        self.set_tool(SELECT_TOOL)
        self.canvas.select(self.scene.pieces)

    def delete_selection(self) -> bool:
        pieces = self.canvas.selected_pieces()
        if pieces:
            self.undo_stack.push(DeletePiecesCommand(self.scene, pieces))
        return bool(pieces)

    def _restack(self, step: int) -> bool:
        """Move each selected piece one place up (step 1) or down (-1) past an unselected neighbour."""
        order = self.scene.pieces
        chosen = {id(p) for p in self.canvas.selected_pieces()}
        if not chosen:
            return False
        indices = range(len(order) - 2, -1, -1) if step > 0 else range(1, len(order))
        for i in indices:
            j = i + step
            if id(order[i]) in chosen and id(order[j]) not in chosen:
                order[i], order[j] = order[j], order[i]
        if all(a is b for a, b in zip(order, self.scene.pieces, strict=True)):
            return False
        selected = self.canvas.selected_pieces()
        text = "Bring forward" if step > 0 else "Send backward"
        self.undo_stack.push(RestackCommand(self.scene, order, text))
        self.canvas.select(selected)
        return True

    def bring_forward(self) -> bool:
        return self._restack(1)

    def send_backward(self) -> bool:
        return self._restack(-1)

    def set_pen_color(self, color: str | QColor) -> None:
        """New strokes use this colour; selected stroke-drawn pieces and one-colour art take it too (undoably)."""
        name = QColor(color).name()
        self.canvas.set_pen_color(name)
        self._show_color()
        recolor = [
            p
            for p in self.canvas.selected_pieces()
            if (p.kind == INK or not self.art.has(p.label or "") or self.art.tintable(p.label))
            and p.color != name
        ]
        if recolor:
            self.undo_stack.push(RecolorCommand(self.scene, recolor, name))

    def _show_color(self) -> None:
        swatch = QPixmap(16, 16)
        swatch.fill(QColor(self.canvas.pen_color))
        self.color_action.setIcon(QIcon(swatch))

    def _ask_color(self) -> None:
        from PySide6.QtWidgets import QColorDialog

        color = QColorDialog.getColor(QColor(self.canvas.pen_color), self, "Pen colour")
        if color.isValid():
            self.set_pen_color(color)

    # --- files ------------------------------------------------------------------------------------

    def report_error(self, title: str, message: str) -> None:
        from PySide6.QtWidgets import QMessageBox

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
        if self._teach is not None:  # (built later, teach mode starts from the model open then)
            self._teach.set_model(classifier)  # the taught classes move onto it
        return True

    def open_drawing(self, path: str | Path) -> bool:
        """Open a scene (.inkscene) or a Quick, Draw! drawing (its strokes become the doodle); undoable."""
        if Path(path).suffix.lower() == scene_file.SUFFIX:
            return self.open_scene(path)
        from . import files

        try:
            drawings, bad, total = files.open_ndjson(path)
        except (StrokeFormatError, OSError, UnicodeDecodeError) as exc:
            self.report_error("Cannot open drawing", str(exc))
            return False
        name = Path(path).name
        if len(drawings) == 1:  # the doodle, to be recognized and turned into art
            self.undo_stack.push(ReplaceDrawingCommand(self.document, drawings[0], f"Open {name}"))
        else:  # every drawing, side by side, as objects of the picture (one undo step)
            pieces = [self.pieces.keep(strokes) for strokes in files.grid_layout(drawings)]
            self.undo_stack.push(
                ReplaceSceneCommand(
                    self.scene,
                    self.document,
                    self.scene.pieces + pieces,
                    self.document.strokes,
                    f"Open {name} ({len(drawings)} drawings)",
                )
            )
        notes = []
        if total > len(drawings):
            notes.append(f"{name} holds {total} drawings: the first {len(drawings)} were opened.")
        if bad:
            lines = "\n".join(bad[:10]) + (f"\n… and {len(bad) - 10} more" if len(bad) > 10 else "")
            notes.append(f"{len(bad)} line(s) of {name} are not drawings and were left out:\n{lines}")
        if notes:
            self.report_error("Opened with problems", "\n\n".join(notes))
        return True

    def open_scene(self, path: str | Path) -> bool:
        """Replace the whole scene with a saved one (undoable; File ▸ Open asks about unsaved work first)."""
        try:
            data = scene_file.read_scene(path)
        except scene_file.SceneFormatError as exc:
            self.report_error("Cannot open scene", f"{exc}\n\nNothing was changed.")
            return False
        self.undo_stack.push(
            ReplaceSceneCommand(
                self.scene, self.document, data.pieces, data.doodle, f"Open {Path(path).name}"
            )
        )
        self.scene_path = Path(path)
        self.undo_stack.setClean()
        self._update_title()
        return True

    def save_drawing(self, path: str | Path) -> bool:
        """Save in the format the suffix says: a scene, the picture (PNG, SVG), or the doodle (ndjson)."""
        from . import files  # (imported on first use: start-up does without it)

        suffix = Path(path).suffix.lower()
        try:
            if suffix == scene_file.SUFFIX:
                scene_file.write_scene(path, scene_file.SceneData(self.scene.pieces, self.document.strokes))
                self.scene_path = Path(path)
                self.undo_stack.setClean()
                self._update_title()
            elif suffix in (".ndjson", ".json", ".jsonl") and not len(self.document) and len(self.scene):
                raise files.EmptyDrawingError(
                    "The current doodle is empty: a Quick, Draw! file holds one doodle. "
                    f"Save the whole scene as {scene_file.SUFFIX}, or export it as PNG or SVG."
                )
            else:
                files.save_drawing(
                    self.document.strokes, path, pieces=self.scene.pieces, piece_painter=self.pieces
                )
        except (ValueError, OSError) as exc:
            self.report_error("Cannot save", str(exc))
            return False
        return True

    def _save_scene(self) -> bool:
        """File ▸ Save: the scene to its file, or (none yet) where the Save As dialog says."""
        if self.scene_path is None:
            return self._ask_save_drawing()
        return self.save_drawing(self.scene_path)

    @property
    def has_unsaved_changes(self) -> bool:
        """Changed since opened or saved, and something to lose: an empty, unnamed canvas has nothing."""
        if self.undo_stack.isClean():
            return False
        return self.scene_path is not None or len(self.scene) > 0 or len(self.document) > 0

    def _confirm_discard(self, action: str) -> bool:
        """Before ``action`` ("closing", "opening x.inkscene") loses the unsaved work: True to go on.

        Save saves the scene as File ▸ Save does; a Save As that is cancelled, fails or writes something
        other than a scene (a PNG leaves the scene unsaved) goes back, as Cancel does: nothing is lost.
        """
        if not self.has_unsaved_changes:
            return True
        choice = self.ask_unsaved(action)
        if choice == "save":
            return self._save_scene() and self.undo_stack.isClean()
        return choice == "discard"

    def _ask_unsaved(self, action: str) -> str:
        from PySide6.QtWidgets import QMessageBox

        buttons = QMessageBox.StandardButton
        name = f"“{self.scene_path.name}”" if self.scene_path else "your picture"
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Unsaved changes",
            f"Save the changes to {name} before {action}?",
            buttons.Save | buttons.Discard | buttons.Cancel,
            self,
        )
        box.setInformativeText("If you don't save, your changes will be lost.")
        box.setDefaultButton(buttons.Save)
        box.setEscapeButton(buttons.Cancel)
        box.exec()
        clicked = box.clickedButton()
        answer = box.standardButton(clicked) if clicked is not None else buttons.Cancel
        return {buttons.Save: "save", buttons.Discard: "discard"}.get(answer, "cancel")

    def _ask_open_drawing(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Open", self.settings.folder("open"), OPEN_FILTER)
        if not path:
            return
        self.settings.remember_folder("open", path)
        # A scene replaces the whole picture and becomes the file File ▸ Save writes: the work so far
        # would be left unsaved with nothing to say so. (A drawing replaces the doodle only, undoably.)
        if Path(path).suffix.lower() == scene_file.SUFFIX and not self._confirm_discard(
            f"opening “{Path(path).name}”"
        ):
            return
        self.open_drawing(path)

    def _ask_save(self, title: str, filters: dict[str, str], name: str) -> bool:
        from PySide6.QtWidgets import QFileDialog

        from . import files

        start = str(Path(self.settings.folder("save")) / name) if not Path(name).is_absolute() else name
        path, chosen = QFileDialog.getSaveFileName(self, title, start, ";;".join(filters))
        if not path:
            return False
        self.settings.remember_folder("save", path)
        if Path(path).suffix.lower() not in (*files.FORMATS, scene_file.SUFFIX):
            path += filters.get(chosen, next(iter(filters.values())))
        return self.save_drawing(path)

    def _ask_save_drawing(self) -> bool:
        name = self.scene_path.name if self.scene_path else f"picture{scene_file.SUFFIX}"
        return self._ask_save("Save As", SAVE_FILTERS, name)

    def _ask_export(self) -> None:
        self._ask_save("Export Picture", EXPORT_FILTERS, "picture.png")

    def _ask_open_model(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(
            self, "Open Model", self.settings.folder("model"), "Inkling models (*.onnx *.zip);;All files (*)"
        )
        if path:
            self.settings.remember_folder("model", path)
            self.open_model(path)

    # --- window -----------------------------------------------------------------------------------

    def _toggle_network(self, shown: bool) -> None:
        self.network_view.setVisible(shown)
        self.settings.show_network = shown

    def _update_title(self) -> None:
        # "picture.inkscene* — Inkling"; Qt shows the [*] as "*" while the picture has unsaved changes.
        name = self.scene_path.name if self.scene_path else "Untitled"
        self.setWindowTitle(f"{name}[*] — Inkling")

    def about_text(self) -> str:
        return (
            "<p><b>Inkling</b>: draw something and a small neural network guesses what it is, live; "
            "accept a guess and your doodle becomes clean art.</p>"
            f"<p>Model: {self.classifier.path}</p><p>{ATTRIBUTION}</p><p>{ART_ATTRIBUTION}</p>"
        )

    def _about(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.about(self, "About Inkling", self.about_text())

    def closeEvent(self, event):
        if not self._confirm_discard("closing"):
            event.ignore()
            return
        # (confirm_close lets a fit in flight save the newest classes)
        if self._teach is not None and not self.teach_panel.confirm_close():
            event.ignore()
            return
        self.settings.geometry = self.saveGeometry()
        self.settings.show_teach = self.teach_dock.isVisible()  # read here: closing hides the dock
        self.settings.sync()
        self.engine.wait_idle()
        super().closeEvent(event)


class _FirstPaint(QObject):
    """Calls ``then`` (from the event loop) after ``widget``'s first paint event, then stops watching."""

    def __init__(self, widget, then):
        super().__init__(widget)
        self._then = then
        widget.installEventFilter(self)

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and self._then is not None:
            then, self._then = self._then, None
            obj.removeEventFilter(self)
            QTimer.singleShot(0, self, then)  # after this paint is done (never, once the window is gone)
        return False

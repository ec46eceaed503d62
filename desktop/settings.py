"""What Inkling remembers between runs (QSettings, organization "Inkling"): window, model, threshold."""

from __future__ import annotations

import math
import os
import shutil
import time

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "Inkling"
APPLICATION = "Inkling"
# Return places the first guess only at or above this probability. At 0.15, 91% of held-out drawings pass,
# and 74% of those are right (the rest: 29%); at 0.35 Return would refuse a third of all drawings.
DEFAULT_THRESHOLD = 0.15


class AppSettings:
    def __init__(self, path: str | os.PathLike | None = None):
        # A file path (an .ini) keeps tests and benchmarks away from the person's own settings.
        if path is None:
            self.qsettings = QSettings(ORGANIZATION, APPLICATION)
        else:
            self.qsettings = QSettings(str(path), QSettings.Format.IniFormat)
        self.problem: str | None = None  # for the person: a damaged settings file, and where a copy is
        if self.qsettings.status() == QSettings.Status.FormatError:
            self.problem = self._keep_damaged_copy(self.qsettings.fileName())

    @staticmethod
    def _keep_damaged_copy(name: str) -> str:
        """QSettings reads what it can of a malformed file and rewrites it on the next save; keep the
        original beside it first, so that nothing in it is lost."""
        copy = f"{name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}"
        try:
            shutil.copy2(name, copy)
        except OSError as exc:
            return (
                f"the settings file {name} is damaged; it is read as far as it goes ({exc.strerror or exc})"
            )
        return f"the settings file {name} is damaged; it is read as far as it goes, and kept as {copy}"

    def _get(self, key: str, default=None):
        return self.qsettings.value(key, default)

    @property
    def threshold(self) -> float:
        try:
            value = float(self._get("suggestions/threshold", DEFAULT_THRESHOLD))
        except (TypeError, ValueError, OverflowError):
            return DEFAULT_THRESHOLD
        if math.isnan(value):  # "nan" in a hand-edited settings file
            return DEFAULT_THRESHOLD
        return min(max(value, 0.0), 1.0)

    @threshold.setter
    def threshold(self, value: float) -> None:
        self.qsettings.setValue("suggestions/threshold", float(value))

    @property
    def last_model(self) -> str | None:
        value = self._get("model/last")
        return str(value) if value else None

    @last_model.setter
    def last_model(self, path: str | None) -> None:
        if path:
            self.qsettings.setValue("model/last", str(path))
        else:
            self.qsettings.remove("model/last")

    @property
    def geometry(self) -> QByteArray | None:
        value = self._get("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    @geometry.setter
    def geometry(self, value: QByteArray) -> None:
        self.qsettings.setValue("window/geometry", value)

    @property
    def show_network(self) -> bool:
        return str(self._get("view/network", "true")).lower() in ("true", "1")

    @show_network.setter
    def show_network(self, value: bool) -> None:
        self.qsettings.setValue("view/network", bool(value))

    @property
    def show_teach(self) -> bool:
        return str(self._get("view/teach", "false")).lower() in ("true", "1")

    @show_teach.setter
    def show_teach(self, value: bool) -> None:
        self.qsettings.setValue("view/teach", bool(value))

    def folder(self, purpose: str) -> str:
        """The folder a file dialog for ``purpose`` ("open", "save", "model", "classes") last used; the home
        folder at first, or when that folder has gone."""
        value = self._get(f"folders/{purpose}")
        return str(value) if value and os.path.isdir(str(value)) else os.path.expanduser("~")

    def remember_folder(self, purpose: str, chosen_file: str) -> None:
        self.qsettings.setValue(f"folders/{purpose}", os.path.dirname(os.path.abspath(chosen_file)))

    def sync(self) -> None:
        self.qsettings.sync()

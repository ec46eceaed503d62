"""What Inkling remembers between runs (QSettings, organization "Inkling"): window, model, threshold."""

from __future__ import annotations

import math
import os

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "Inkling"
APPLICATION = "Inkling"
DEFAULT_THRESHOLD = 0.35


class AppSettings:
    def __init__(self, path: str | os.PathLike | None = None):
        # A file path (an .ini) keeps tests and benchmarks away from the person's own settings.
        if path is None:
            self.qsettings = QSettings(ORGANIZATION, APPLICATION)
        else:
            self.qsettings = QSettings(str(path), QSettings.Format.IniFormat)

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

    def sync(self) -> None:
        self.qsettings.sync()

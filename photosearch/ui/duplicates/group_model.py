"""The Duplicates view's model: one row per group (a virtual list: 10,000 groups cost 10,000
small Python objects, no widget per photo), and which photo of each row has the keyboard."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from ...core.duplicates.finder import DuplicateGroup
from ...core.duplicates.keep import Candidate

GROUP_ROLE = Qt.ItemDataRole.UserRole + 1
CURSOR_ROLE = Qt.ItemDataRole.UserRole + 2

Index = QModelIndex | QPersistentModelIndex


class GroupModel(QAbstractListModel):
    def __init__(self) -> None:
        super().__init__()
        self.groups: list[DuplicateGroup] = []
        self.cursor: dict[int, int] = {}  # row -> the member the keyboard is on

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.groups)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.groups):
            return None
        g = self.groups[index.row()]
        if role == GROUP_ROLE:
            return g
        if role == CURSOR_ROLE:
            return self.cursor.get(index.row(), 0)
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{len(g.members)} photos, keep {g.keep.path}"
        if role == Qt.ItemDataRole.ToolTipRole:  # why the photo the keyboard is on is in the group
            member = self.member_at(index.row())
            if member is not None and member.id in g.evidence:
                return f"{member.path}\n{g.evidence[member.id]}"
            if member is not g.keep:
                return None
            # the whole of what to look at (the heading is cut off in a narrow window)
            return f"{g.keep.path}\nthe photo to keep" + (f"\nLook first: {g.check}" if g.check else "")
        return None

    def set_groups(self, groups: list[DuplicateGroup]) -> None:
        self.beginResetModel()
        self.groups = list(groups)
        self.cursor = {}
        self.endResetModel()

    def group_at(self, row: int) -> DuplicateGroup | None:
        return self.groups[row] if 0 <= row < len(self.groups) else None

    def member_at(self, row: int) -> Candidate | None:
        g = self.group_at(row)
        if g is None:
            return None
        members = g.members
        return members[min(self.cursor.get(row, 0), len(members) - 1)]

    def move_cursor(self, row: int, step: int) -> None:
        g = self.group_at(row)
        if g is None:
            return
        self.cursor[row] = max(0, min(len(g.members) - 1, self.cursor.get(row, 0) + step))
        self.dataChanged.emit(self.index(row), self.index(row))

    def replace(self, row: int, group: DuplicateGroup) -> None:
        self.groups[row] = group
        self.dataChanged.emit(self.index(row), self.index(row))

    def remove(self, row: int) -> None:
        self.beginRemoveRows(QModelIndex(), row, row)
        del self.groups[row]
        self.cursor = {(r if r < row else r - 1): c for r, c in self.cursor.items() if r != row}
        self.endRemoveRows()

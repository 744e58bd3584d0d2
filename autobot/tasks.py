"""The two tasks Autobot serves, described once.

Everything that depends on a task (loaders, models, metrics, the app's colours) reads
it from here, so class order and shapes cannot drift apart between modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from autobot.errors import DataError


@dataclass(frozen=True)
class TaskSpec:
    """A task's classes, input shape and display colours.

    Args:
        name: Registry key, e.g. ``"blood"``.
        kind: ``"classification"`` (one label per image) or ``"segmentation"`` (a mask).
        class_names: Class names in label order (index = label).
        input_shape: ``(height, width, channels)`` that models receive.
        colors: One ``#rrggbb`` display colour per class.
        ignore_label: Label that means "unlabelled" and is left out of losses and
            scores (Mars background), or ``None``.
        aliases: Extra spellings of class names (folder names in the wild).
    """

    name: str
    kind: Literal["classification", "segmentation"]
    class_names: tuple[str, ...]
    input_shape: tuple[int, int, int]
    colors: tuple[str, ...]
    ignore_label: int | None = None
    aliases: dict[str, str] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_size(self) -> tuple[int, int]:
        return self.input_shape[0], self.input_shape[1]

    @property
    def channels(self) -> int:
        return self.input_shape[2]

    @property
    def scored_classes(self) -> tuple[int, ...]:
        """Labels that count in scores (all but the ignore label)."""
        return tuple(i for i in range(self.num_classes) if i != self.ignore_label)

    def color_rgb(self, label: int) -> tuple[int, int, int]:
        value = self.colors[label].lstrip("#")
        return tuple(int(value[i : i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]

    def class_index(self, name: str) -> int | None:
        """Label for a class name or alias, matched loosely; None when unknown."""
        key = _normalise(name)
        if key.isdigit() and int(key) < self.num_classes:
            return int(key)
        for index, class_name in enumerate(self.class_names):
            if key in (_normalise(class_name), _normalise(class_name) + "s"):
                return index
        alias = self.aliases.get(key) or self.aliases.get(key.rstrip("s"))
        return self.class_names.index(alias) if alias else None


def _normalise(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


BLOOD = TaskSpec(
    name="blood",
    kind="classification",
    class_names=(
        "basophil",
        "eosinophil",
        "erythroblast",
        "immature_granulocyte",
        "lymphocyte",
        "monocyte",
        "neutrophil",
        "platelet",
    ),
    input_shape=(96, 96, 3),
    colors=("#6a3d9a", "#e31a1c", "#b15928", "#ff7f00", "#1f78b4", "#33a02c", "#fb9a99", "#a6cee3"),
    aliases={
        "ig": "immature_granulocyte",
        "igs": "immature_granulocyte",
        "immature_granulocytes": "immature_granulocyte",
        "immature_granulocyte_(myelocytes,_metamyelocytes_and_promyelocytes)": "immature_granulocyte",
        "erythroblasts": "erythroblast",
        "nrbc": "erythroblast",
        "thrombocyte": "platelet",
        "platelets": "platelet",
        "eos": "eosinophil",
        "baso": "basophil",
        "lymph": "lymphocyte",
        "mono": "monocyte",
        "neut": "neutrophil",
        "seg": "neutrophil",
    },
)

MARS = TaskSpec(
    name="mars",
    kind="segmentation",
    class_names=("background", "soil", "bedrock", "sand", "big_rock"),
    input_shape=(64, 128, 1),
    colors=("#000000", "#a6611a", "#5e81ac", "#f2d16b", "#d7301f"),
    ignore_label=0,
)

TASKS: dict[str, TaskSpec] = {task.name: task for task in (BLOOD, MARS)}


def get_task(name: str | TaskSpec) -> TaskSpec:
    """Look a task up by name; an unknown name lists the known ones."""
    if isinstance(name, TaskSpec):
        return name
    try:
        return TASKS[name]
    except KeyError:
        raise DataError(None, "task", f"one of {tuple(TASKS)}", repr(name)) from None

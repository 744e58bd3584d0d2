"""Loading, validating, splitting, balancing and writing datasets."""

from autobot.data.balance import oversample, oversample_indices
from autobot.data.dataset import Dataset
from autobot.data.export import course_arrays, save_course_npz
from autobot.data.formats import LAYOUTS, detect_layout, load_dataset
from autobot.data.images import decode_image
from autobot.data.splits import strata, train_val_indices, train_val_split

__all__ = [
    "LAYOUTS",
    "Dataset",
    "course_arrays",
    "decode_image",
    "detect_layout",
    "load_dataset",
    "oversample",
    "oversample_indices",
    "save_course_npz",
    "strata",
    "train_val_indices",
    "train_val_split",
]

"""Finding outliers and duplicates, reviewing them, and exporting a cleaned dataset."""

from autobot.cleaning.duplicates import DuplicateResult, find_duplicates
from autobot.cleaning.embed import embed
from autobot.cleaning.export import cleaned_rows, export_cleaned
from autobot.cleaning.outliers import OutlierResult, find_outliers
from autobot.cleaning.pipeline import CleaningConfig, run_cleaning
from autobot.cleaning.project import project
from autobot.cleaning.report import CleaningReport
from autobot.cleaning.review import ReviewStore, default_store_path

__all__ = [
    "CleaningConfig",
    "CleaningReport",
    "DuplicateResult",
    "OutlierResult",
    "ReviewStore",
    "cleaned_rows",
    "default_store_path",
    "embed",
    "export_cleaned",
    "find_duplicates",
    "find_outliers",
    "project",
    "run_cleaning",
]

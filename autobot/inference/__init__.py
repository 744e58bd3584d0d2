"""Serving engines: classify a blood-cell image, segment a Mars image of any size.

The app's Classify and Segment tabs are thin wiring over these functions; they are
plain numpy in, numpy out, and raise :class:`autobot.errors.DataError` for bad input.
"""

from autobot.inference.classify import (
    Classification,
    classify,
    classify_files,
    classify_with_map,
    load_blood_image,
    occlusion_map,
    occlusion_text,
    render_heatmap,
)
from autobot.inference.common import forward
from autobot.inference.segment import (
    Segmentation,
    class_shares,
    how_segmented,
    legend_html,
    load_mars_image,
    overlay,
    segment,
    uncertainty_image,
)

__all__ = [
    "Classification", "classify", "classify_files", "classify_with_map", "load_blood_image", "occlusion_map", "occlusion_text", "render_heatmap",
    "Segmentation", "segment", "load_mars_image", "overlay", "class_shares", "uncertainty_image", "legend_html", "how_segmented",
    "forward",
]

"""One analysis pipeline: probe once, decode once, suggestions stream in scene by scene.

- :mod:`engine.analysis.read`: the one pass over a file that feeds the base-feature encoder,
  the thumbnails and the rhythm detectors (:func:`read_media`), and the speech in the
  footage's sound, heard after it (:func:`speech_regions`);
- :mod:`engine.analysis.pipeline`: that pass plus the model (through
  :meth:`engine.model.checkpoint.LoadedModel.encode`) plus the cache: :func:`analyse`, a job
  whose progress events carry :class:`PartialAnalysis` so front ends show the first scenes'
  suggestions while the rest is read;
- :mod:`engine.analysis.cache`: analyses stored per file content and checkpoint.

Everything that reads a media file for the model (recommend, library scanning, attributes,
dataset building, the robustness analysis, Insights) goes through :func:`read_media`.
"""

from .pipeline import MediaAnalysis, PartialAnalysis, add_speech, analyse
from .read import MediaRead, SegmentsRead, read_media, speech_regions

__all__ = ["MediaAnalysis", "PartialAnalysis", "add_speech", "analyse", "MediaRead", "SegmentsRead", "read_media",
           "speech_regions"]

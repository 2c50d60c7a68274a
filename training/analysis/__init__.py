"""The paper's analyses (Sec. 5) of what a trained checkpoint has learned.

- :mod:`.robustness` — R@10 against brightness x r, hue rotation, tempo x r (perturbing the
  decoded media before the base features: :mod:`.perturb`, :mod:`.media`)
- :mod:`.attributes` — genre x image-class matrix of top-1 retrievals through f_v
- :mod:`.attention` — attention-rollout weight per segment of a video, over thumbnails
- :mod:`.tags` — musicnn tag and genre summary of a music library
- :mod:`.probe_world` — music videos with a known cue, to check the analyses
- :mod:`.plots`, :mod:`.report` — PNG figures (Pillow) and Markdown reports
- :mod:`.cli` — ``mvpt analyze robustness | attributes | attention | tags``

See docs/analysis.md.
"""

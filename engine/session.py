"""``EngineSession``: what a front end holds — settings, device, the loaded model, the
extractors that model was trained with, and the library.

Everything is loaded lazily and once: a GUI creates the session at start-up (instant) and
its inference worker touches ``session.model`` first (the slow part). A missing or wrong
checkpoint is a :class:`NoModelError` whose message says what to do; the library and the
media layer keep working without a model.

With no checkpoint configured the session loads the **starter model** that ships in
``resources/starter`` (:func:`engine.paths.starter_model_dir`), so a first launch can suggest
music; it is labelled as such (``SessionStatus.kind == "starter"``). A missing or damaged
starter is the same clear :class:`NoModelError` as no model at all.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from engine.features.base import FeatureExtractor
from engine.settings import EngineSettings

SYNC_WEIGHT_BY_KIND = {"starter": 0.5, "demo": 0.1, "model": 0.1, "none": 0.1}
"""The default weight of sync against the model's score, by the active model (settings'
``sync_weight`` None). The starter learned generated music only: on real songs cut to
generated footage it ranks the video's own song at chance (MRR 0.17, chance 0.16) while sync
alone reaches 0.78 and a blend of 0.5 0.80, against 0.23 at 0.1 (``bench/sync_real.py``); on
bench/sync.py's weak stand-in model 0.5 ranks best too. A model trained on pairs like the
library's (the demo's own world, a creator's edits) is trusted more: on generated pairs
whose pictures follow their own song, 0.3 already put a wrong track above the right one the
model had first (tests/pairs_world.py)."""


def _kind_of(loaded) -> str:
    """"demo", "starter" or "model": what a loaded checkpoint's data says it is."""
    data = loaded.config.data
    return "demo" if data.get("demo") else "starter" if data.get("starter") else "model"


class NoModelError(Exception):
    """No usable trained model: suggestions need one. The message says how to get one."""


def resolve_device(device: str = "auto") -> str:
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")
    if device == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        raise RuntimeError("CUDA was asked for but no CUDA GPU is available; use --device cpu")
    return "cpu"


@dataclass(frozen=True)
class SessionStatus:
    model: str
    """One line: which model is active (or why none)."""
    extractors: str
    """One line: which base-feature extractors are active."""
    demo: bool = False
    """True when the active model is the built-in demo model."""
    kind: str = "none"
    """Which kind of model is active: "demo", "starter" (shipped, used when none is
    configured), "model" (one the user chose or trained) or "none"."""
    short: str = ""
    """The model and the extractor families in words, for a status bar: "starter model ·
    picture: classic-visual · music: musicnn" (without a model: ``model``)."""


class EngineSession:
    def __init__(self, settings: EngineSettings | None = None) -> None:
        self.settings = settings or EngineSettings.load()
        self.device = resolve_device(self.settings.device)
        self._lock = threading.RLock()
        self._model = None
        self._model_error: str | None = None
        self._library = None
        self._extractors: dict[str, FeatureExtractor] = {}
        self._sync_cache = None

    # -- paths ---------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        from engine.paths import data_dir

        d = Path(self.settings.data_dir) if self.settings.data_dir else data_dir()
        d.mkdir(parents=True, exist_ok=True)
        return d

    # -- the library ---------------------------------------------------------------------
    @property
    def library(self):
        with self._lock:
            if self._library is None:
                from engine.library.facade import Library

                self._library = Library(self.data_dir)
            return self._library

    # -- the model -----------------------------------------------------------------------
    @property
    def has_model(self) -> bool:
        try:
            self.model  # noqa: B018 - loads on first use
            return True
        except NoModelError:
            return False

    @property
    def model(self):
        """The loaded checkpoint (:class:`engine.model.checkpoint.LoadedModel`)."""
        with self._lock:
            if self._model is not None:
                return self._model
            if self._model_error is not None:
                raise NoModelError(self._model_error)
            from engine.model.checkpoint import CheckpointError, load_checkpoint

            how = ("train one with `mvpt train`, or set the checkpoint in Settings (`--checkpoint DIR` on "
                   "the command line)")
            ck = self.settings.checkpoint
            if not ck:
                from engine.paths import starter_model_dir

                starter = starter_model_dir()
                if starter is None:
                    self._model_error = f"no trained model is configured: {how}"
                    raise NoModelError(self._model_error)
                try:
                    self._model = load_checkpoint(starter, device=self.device)
                except CheckpointError as e:
                    self._model_error = (f"no trained model is configured, and the starter model that ships "
                                         f"with the app cannot be used ({e}): {how}, or reinstall the app")
                    raise NoModelError(self._model_error) from e
                return self._model
            try:
                self._model = load_checkpoint(ck, device=self.device)
            except CheckpointError as e:
                self._model_error = str(e)
                raise NoModelError(self._model_error) from e
            return self._model

    @property
    def checkpoint_id(self) -> str:
        with self._lock:
            return self.model.checkpoint_id

    @property
    def segment_seconds(self) -> float:
        try:
            return float(self.model.config.segment_seconds)
        except NoModelError:
            return float(self.settings.segment_seconds)

    @property
    def is_demo_model(self) -> bool:
        return self.model_kind == "demo"

    @property
    def model_kind(self) -> str:
        """"demo", "starter", "model" (any other checkpoint) or "none" (see :class:`SessionStatus`)."""
        try:
            return _kind_of(self.model)
        except NoModelError:
            return "none"

    def sync_weight(self) -> float:
        """How much sync counts in the whole-video list: the settings' value when set, else
        ``SYNC_WEIGHT_BY_KIND`` for the active model (the starter: 0.5, others: 0.1)."""
        w = self.settings.sync_weight
        if w is not None:
            return float(w)
        # never loads the model nor takes the session's lock (a worker holds it while it loads
        # the model or an extractor, and the GUI asks while it builds the window); until the
        # model is loaded, the weight of "none"
        loaded = self._model
        return SYNC_WEIGHT_BY_KIND["none" if loaded is None else _kind_of(loaded)]

    @property
    def sync_cache(self):
        """The sync scores of the open videos against the library's tracks
        (:class:`engine.rhythm.sync_cache.OffsetScoreCache`), reused across re-rankings."""
        if self._sync_cache is None:  # not under the session's lock, which a model load holds
            from engine.rhythm.sync_cache import OffsetScoreCache

            self._sync_cache = OffsetScoreCache()
        return self._sync_cache

    # -- extractors ----------------------------------------------------------------------
    def extractor(self, modality: str) -> FeatureExtractor:
        """The extractor for ``modality`` that the model was trained with (or the default)."""
        from engine.features.registry import create_extractor, default_extractors, extractor_for_id

        with self._lock:
            if modality in self._extractors:
                return self._extractors[modality]
            try:
                wanted = getattr(self.model.config, f"{modality}_id")
            except NoModelError:
                wanted = None
            name = self.settings.visual_extractor if modality == "visual" else self.settings.music_extractor
            if wanted is not None:
                ex = extractor_for_id(wanted, self.device, clip_model=self.settings.clip_model,
                                      clip_pretrained=self.settings.clip_pretrained)
            elif name != "auto":
                opts = {}
                if name == "clip":
                    opts = {"model_name": self.settings.clip_model, "pretrained": self.settings.clip_pretrained}
                ex = create_extractor(name, self.device, **opts)
            else:
                kwargs = {"clip_model": self.settings.clip_model}
                if self.settings.clip_pretrained:
                    kwargs["clip_pretrained"] = self.settings.clip_pretrained
                visual, music = default_extractors(self.device, **kwargs)
                self._extractors.setdefault("visual", visual)
                self._extractors.setdefault("music", music)
                return self._extractors[modality]
            self._extractors[modality] = ex
            return ex

    def scan_options(self, kind: str, extractor: str | None = None) -> dict:
        """How to scan a ``kind`` ("music"/"footage") folder so this session's model can read it:
        the extractor it was trained with and its segment length; without a model, the
        extractor chosen in the settings (or the default) and the settings' segment length.
        The one place this policy lives (the app, the CLI and ``Library.add`` ask here)."""
        from engine.library.facade import scan_options_for

        try:
            return scan_options_for(self.model, kind, extractor)
        except NoModelError:
            chosen = self.settings.music_extractor if kind == "music" else self.settings.visual_extractor
            opts = scan_options_for(None, kind, extractor or (None if chosen == "auto" else chosen))
            opts["segment_seconds"] = float(self.settings.segment_seconds)
            return opts

    def status(self) -> SessionStatus:
        from engine.features.registry import describe_active

        kind = self.model_kind
        try:
            m = self.model
            name = "starter model" if kind == "starter" else f"{'demo model' if kind == 'demo' else 'model'} " \
                f"{Path(m.path).name}"  # the starter's folder is named "starter" too
            model_line = f"{name} ({m.config.model.kind}, t = {m.config.segment_seconds:g} s)"
            short = [name]
        except NoModelError as e:
            model_line = f"no model: {e}"
            short = [model_line]
        try:
            visual, music = self.extractor("visual"), self.extractor("music")
            extractors = describe_active(visual, music)
            if kind != "none":  # the families, not the ids (elided, they read as noise)
                short += [f"picture: {visual.id.split(':')[0]}", f"music: {music.id.split(':')[0]}"]
        except Exception as e:  # noqa: BLE001 - shown to the user, never fatal
            extractors = f"extractors unavailable: {e}"
        return SessionStatus(model_line, extractors, kind == "demo", kind, " · ".join(short))

    # -- the library for this model -------------------------------------------------------
    def unindexed(self) -> dict[str, int]:
        """Per kind ("music", "footage"): library items read fine but without vectors for the
        active model (a library embedded for another model, e.g. before the starter model or
        a newly learned one became active). Empty without a model."""
        try:
            ck = self.checkpoint_id
        except NoModelError:
            return {}
        cat = self.library.catalog
        counts = cat.embedding_counts(ck)
        out = {kind: cat.status_counts(kind).get("ok", 0) - int(counts[kind]["items"]) for kind in ("music", "footage")}
        return {k: n for k, n in out.items() if n > 0}

    def reindex(self, cancel=None, **scan_options):
        """Make the library readable by the active model: every folder of a kind with
        :meth:`unindexed` items is rescanned the way the model reads it (only base features it
        lacks are computed) and embedded. A job (``engine.jobs``); returns the kinds' item counts
        embedded now."""
        from engine.jobs import relabel

        done: dict[str, int] = {}
        for kind in self.unindexed():
            for folder in self.library.catalog.folders(kind):
                rep = yield from relabel(self.library.add(folder.path, kind, self.model, checkpoint_id=self.checkpoint_id,
                                                          cancel=cancel, **scan_options), "reindex")
                done[kind] = done.get(kind, 0) + (rep.embed.embedded if rep.embed is not None else 0)
        return done

    def close(self) -> None:
        with self._lock:
            if self._library is not None:
                self._library.close()
                self._library = None

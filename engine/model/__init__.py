"""The learning core's inference side: the context Transformer per modality (MVPT), the MLP
baseline, losses, windows for long media, attention rollout and checkpoint I/O.

Imports only torch, numpy, safetensors, the standard library and ``engine``; training code
lives in ``training/``.
"""

from .baseline import BaselineMLP
from .checkpoint import CheckpointConfig, CheckpointError, LoadedModel, load_checkpoint, save_checkpoint
from .config import BaselineConfig, EncoderConfig, MVPTConfig
from .encoder import ContextEncoder, EncoderOutput
from .factory import build_model
from .mvpt import MVPT, count_parameters
from .rollout import attention_rollout
from .windows import WindowedOutput, encode_many, encode_sequence, plan_windows

__all__ = [
    "BaselineConfig", "BaselineMLP", "CheckpointConfig", "CheckpointError", "ContextEncoder",
    "EncoderConfig", "EncoderOutput", "LoadedModel", "MVPT", "MVPTConfig", "WindowedOutput",
    "attention_rollout", "build_model", "count_parameters", "encode_many", "encode_sequence",
    "load_checkpoint", "plan_windows", "save_checkpoint",
]

"""Reading a released checkpoint safely: no code from its pickle runs, and its tensors stay on disk.

A Lightning `.ckpt` pickles more than tensors: hyper-parameters (an `AttributeDict`), callback states,
loop states, optimizer state, often objects of classes from pytorch_lightning or omegaconf. torch's
`weights_only=True` unpickler refuses every such class, and the full unpickler would import and run
them. Ours is in between: the globals torch itself allows for weights-only loading (tensor rebuild
functions, dtypes, OrderedDict, torch.Size, ...) resolve to the real thing; every other global (a
Lightning class, `os.system`, `builtins.eval`) resolves to an inert `StandIn` that records its
arguments and state and does nothing else. So nothing needs to be installed, and nothing runs.

torch.load does the rest (the zip records, `mmap=True` so a 25 GB file maps instead of being read).
"""

from __future__ import annotations

import pickle
from pathlib import Path

from studio.errors import StudioError, first_line


class StandIn(dict):
    """An inert stand-in for a global the checkpoint names: any call, state or items are just kept.

    A dict subclass so that pickled dict subclasses (Lightning's AttributeDict) keep their items.
    """

    qualified_name = "?"

    def __new__(cls, *args, **kwargs):
        return dict.__new__(cls)

    def __init__(self, *args, **kwargs):
        super().__init__()
        self.call_args = args
        self.call_kwargs = kwargs
        self.state = None
        self.listed: list = []

    def __setstate__(self, state):
        self.state = state

    def append(self, item):  # pickle's APPEND(S) on a list subclass
        self.listed.append(item)

    def extend(self, items):
        self.listed.extend(items)

    def __repr__(self):
        return f"<stand-in for {self.qualified_name}>"


_stand_ins: dict[str, type] = {}


def stand_in_for(full_name: str) -> type:
    """One StandIn subclass per global name (so two objects of one class share a type)."""
    if full_name not in _stand_ins:
        _stand_ins[full_name] = type("StandIn", (StandIn,), {"qualified_name": full_name})
    return _stand_ins[full_name]


def _allowed_globals() -> dict:
    """torch's own weights-only allow-list: the names a plain tensor checkpoint needs."""
    from torch import _weights_only_unpickler

    return _weights_only_unpickler._get_allowed_globals()


class RestrictedUnpickler(pickle.Unpickler):
    """find_class is the only door through which a pickle reaches a callable: it opens onto allowed
    names or stand-ins, never onto an import."""

    def find_class(self, module: str, name: str):
        full_name = f"{module}.{name}"
        allowed = _allowed_globals()
        if full_name in allowed:
            return allowed[full_name]
        return stand_in_for(full_name)


class _RestrictedPickleModule:
    """What torch.load's `pickle_module` argument needs: `Unpickler` and `load` (legacy format)."""

    __name__ = "studio_restricted_pickle"
    Unpickler = RestrictedUnpickler

    @staticmethod
    def load(file, **kwargs):
        return RestrictedUnpickler(file, **kwargs).load()


RESTRICTED_PICKLE = _RestrictedPickleModule()


def load_pickled(path: Path):
    """The object a torch .ckpt/.pt holds, tensors memory-mapped where the format allows."""
    import torch

    # weights_only=False only selects the pickle_module path; the restriction is find_class above
    # (the security test accepts torch.load with weights_only=True or pickle_module=RESTRICTED_PICKLE).
    try:
        return torch.load(path, map_location="cpu", weights_only=False, pickle_module=RESTRICTED_PICKLE, mmap=True)
    except RuntimeError as error:
        if "mmap" not in str(error):
            raise
        return torch.load(path, map_location="cpu", weights_only=False, pickle_module=RESTRICTED_PICKLE)  # legacy


def read_checkpoint(path: Path) -> dict:
    """The state dict of a .ckpt/.pt (restricted pickle, memory-mapped) or .safetensors file.

    A Lightning checkpoint's extras (hyper-parameters, optimizer and callback states) are read as
    inert objects and left out; only `state_dict` comes back.
    """
    path = Path(path)
    if not path.is_file():
        raise StudioError(f"checkpoint {path} does not exist; check the path")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        obj = load_pickled(path)
    except Exception as error:  # noqa: BLE001 - any failure to parse is one message to the user
        raise StudioError(f"checkpoint {path} could not be read ({type(error).__name__}: {first_line(error)}); "
                          "it is truncated or not a torch/safetensors checkpoint: download it again") from None
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict) or not state or not all(hasattr(v, "shape") for v in state.values()):
        raise StudioError(f"checkpoint {path} holds no state dict of tensors; it is not a model checkpoint")
    return state

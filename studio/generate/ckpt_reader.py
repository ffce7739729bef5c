"""Reading a released checkpoint safely: no code from its pickle runs, and its tensors stay on disk.

A Lightning `.ckpt` pickles more than tensors: hyper-parameters (an `AttributeDict`), callback states,
loop states, optimizer state, often objects of classes from pytorch_lightning or omegaconf. torch's
`weights_only=True` unpickler refuses every such class, and the full unpickler would import and run
them. Ours is in between: the globals torch itself allows for weights-only loading (tensor rebuild
functions, dtypes, OrderedDict, torch.Size, ...) resolve to the real thing; every other global (a
Lightning class, `os.system`, `builtins.eval`) resolves to an inert `StandIn` that records its
arguments and state and does nothing else. So nothing needs to be installed, and nothing runs.

Nothing the pickle says allocates much either: the allowed globals that make memory from a size the
pickle gives (`bytearray(N)`, the legacy tensor types, `torch.Tensor(N)`, a quantized tensor's rebuild)
are wrapped so that one load makes at most PICKLE_ALLOCATION_LIMIT bytes through them, and a storage it
names may not be larger than the file (legacy files read storages into memory, sized by the pickle).

torch.load does the rest (the zip records, `mmap=True` so a 25 GB file maps instead of being read).
"""

from __future__ import annotations

import _compat_pickle
import math
import operator
import pickle
import zipfile
from pathlib import Path

from studio.errors import StudioError, first_line

PICKLE_ALLOCATION_LIMIT = 16 * 2**20  # bytes one pickle may make through sized constructors (real files: none)


class StandIn(dict):
    """An inert stand-in for a global the checkpoint names: any call, state or items are just kept.

    A dict subclass so that pickled dict subclasses (Lightning's AttributeDict) keep their items; hashed
    and compared by identity (like the object it stands for, by default), so it can key a dict or fill a set.
    """

    qualified_name = "?"
    __hash__ = object.__hash__

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

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


class AllocationRefused(StudioError):
    """The pickle asked for more memory than a checkpoint's metadata ever needs."""


class _Budget:
    """The bytes one load may still make on the pickle's word."""

    def __init__(self, limit: int):
        self.left = limit

    def spend(self, what: str, count) -> None:
        try:
            count = operator.index(count)
        except TypeError:
            return  # not a size: data the pickle holds itself, already in memory
        if count < 0 or count > self.left:
            raise AllocationRefused(f"its metadata asks to allocate {count} bytes for {what} (at most "
                                    f"{PICKLE_ALLOCATION_LIMIT} allowed, nothing allocated); it is not a model checkpoint")
        self.left -= count


def _size_request(args) -> int | None:
    """The elements a constructor call like `Tensor(3, 4)` or `Tensor(torch.Size([3, 4]))` makes, else None."""
    import torch

    if len(args) == 1 and isinstance(args[0], torch.Size):
        args = tuple(args[0])
    if args and all(isinstance(arg, int) and not isinstance(arg, bool) for arg in args):
        return math.prod(args) if all(arg >= 0 for arg in args) else -1
    return None


class _SizedConstructor:
    """A tensor type the pickle may call: with a size, it counts 8 bytes an element against the budget.
    `_rebuild_from_type_v2` gets the real type back (see _unwrapped)."""

    def __init__(self, real, name: str, budget: _Budget):
        self.real, self.name, self.budget = real, name, budget

    def __call__(self, *args, **kwargs):
        elements = _size_request(args)
        if elements is not None:
            self.budget.spend(self.name, elements * 8 if elements >= 0 else -1)
        return self.real(*args, **kwargs)


def _unwrapped(value):
    return value.real if isinstance(value, _SizedConstructor) else value


def _bounded_globals(budget: _Budget, allowed: dict) -> dict:
    """The allowed globals that make memory from a size the pickle gives, each wrapped to spend `budget`."""

    def make_bytearray(*args):
        if args:
            budget.spend("bytearray", args[0] if not isinstance(args[0], (bytes, bytearray, str)) else len(args[0]))
        return bytearray(*args)

    def rebuild_qtensor(storage, storage_offset, size, *rest):
        budget.spend("a quantized tensor", math.prod(size) * 8 if all(int(n) >= 0 for n in size) else -1)
        return allowed["torch._utils._rebuild_qtensor"](storage, storage_offset, size, *rest)

    def rebuild_from_type_v2(func, new_type, args, state):
        return allowed["torch._tensor._rebuild_from_type_v2"](_unwrapped(func), _unwrapped(new_type), args, state)

    bounded = {"builtins.bytearray": make_bytearray, "torch._utils._rebuild_qtensor": rebuild_qtensor,
               "torch._tensor._rebuild_from_type_v2": rebuild_from_type_v2}
    for name, value in allowed.items():
        if name.endswith("Tensor") and isinstance(value, type):  # torch.Tensor, torch.FloatTensor, torch.cuda.*Tensor
            bounded[name] = _SizedConstructor(value, name, budget)
    return bounded


class RestrictedUnpickler(pickle.Unpickler):
    """find_class is the only door through which a pickle reaches a callable: it opens onto allowed
    names (bounded where they allocate) or stand-ins, never onto an import."""

    def __init__(self, file, *args, **kwargs):
        super().__init__(file, *args, **kwargs)
        self.file_size = _file_size(file)
        self.budget = _Budget(PICKLE_ALLOCATION_LIMIT)
        self.bounded = _bounded_globals(self.budget, _allowed_globals())

    def find_class(self, module: str, name: str):
        if (module, name) in _compat_pickle.NAME_MAPPING:  # a protocol-2 pickle's Python 2 names
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)  # (`__builtin__.bytearray` is `builtins.bytearray`)
        full_name = f"{module}.{name}"
        if full_name in self.bounded:
            return self.bounded[full_name]
        allowed = _allowed_globals()
        if full_name in allowed:
            return allowed[full_name]
        return stand_in_for(full_name)

    @property
    def persistent_load(self):
        return _C_PERSISTENT_LOAD.__get__(self)

    @persistent_load.setter
    def persistent_load(self, function):
        """torch's storage loader. A legacy file's storages are read into memory at the pickle's size: bounded
        here by the file's (a zip file's are memory-mapped records: its pickle comes from memory, unnamed)."""
        def checked(saved_id):
            if (self.file_size is not None and isinstance(saved_id, tuple) and len(saved_id) >= 5
                    and saved_id[0] in ("storage", b"storage")):
                numel = saved_id[4]  # ("storage", type, key, location, numel[, view])
                if not isinstance(numel, int) or numel < 0 or numel > self.file_size:
                    raise AllocationRefused(f"it names a storage of {numel!r:.40} elements, more than the file holds "
                                            "(nothing allocated); it is damaged or not a model checkpoint")
            return function(saved_id)

        _C_PERSISTENT_LOAD.__set__(self, checked)


_C_PERSISTENT_LOAD = pickle.Unpickler.__dict__["persistent_load"]


def _file_size(file) -> int | None:
    name = getattr(file, "name", None)
    try:
        return Path(name).stat().st_size if isinstance(name, str) else None
    except OSError:
        return None


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
    except StudioError as error:  # refused by the reader itself (an allocation): says why already
        raise StudioError(f"checkpoint {path}: {error}") from None
    except Exception as error:  # noqa: BLE001 - any failure to parse is one message to the user
        said = f"checkpoint {path} could not be read ({type(error).__name__}: {first_line(error)})"
        if _looks_truncated(error):
            raise StudioError(f"{said}; it is truncated or not a torch/safetensors checkpoint: download it again") from None
        raise StudioError(f"{said}; it holds objects this reader does not rebuild: it is not a plain "
                          "torch/safetensors model checkpoint") from None
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict) or not state or not all(hasattr(v, "shape") for v in state.values()):
        raise StudioError(f"checkpoint {path} holds no state dict of tensors; it is not a model checkpoint")
    check_state(state, path)
    return state


def printable_name(name) -> str:
    """A tensor name as it may be printed: non-printable characters (ANSI escapes, newlines) escaped."""
    text = str(name)
    return text if text.isprintable() else "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def check_state(state: dict, path: Path) -> None:
    """Every key is a name (the layout checks and the report treat them as text)."""
    for key in state:
        if not isinstance(key, str):
            raise StudioError(f"checkpoint {path} has a state_dict key that is not a tensor name "
                              f"({printable_name(repr(key))[:60]}); it is not a model checkpoint")


_TRUNCATION_SIGNS = ("zip archive", "central directory", "truncated", "eof", "incomplete", "file size", "out of range")


def _looks_truncated(error: BaseException) -> bool:
    """Errors a file cut short gives (so downloading it again helps); anything else is not a truncation."""
    if isinstance(error, (EOFError, zipfile.BadZipFile, pickle.UnpicklingError)):
        return True
    return any(sign in str(error).lower() for sign in _TRUNCATION_SIGNS)

"""`models check`: before a download, what a preset will fetch and whether this GPU will do; after it, whether
what is in the cache will load.

For each component: its repository, revision, the files its loader fetches with their sizes (recorded in
the preset: the Hub is not asked), whether each is in the local Hugging Face cache
(huggingface_hub.try_to_load_from_cache, the cache's own layout), and, when they all are, a check on the meta
device with no weights read: the config builds a model whose every tensor has the shape the weight file holds,
CLIP tokenizers have their vocabulary and 77 tokens, the StreamingT2V checkpoint maps strictly onto the model.
Then the disk still needed (downloads plus the checkpoint's conversion) and the memory plan per stage
(studio.models.memory) against the preset's gpu_memory_gb and this machine's GPU, if any.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.config import Preset
from studio.errors import first_line
from studio.models.repos import files_under, pin_of


@dataclass
class Declared:
    """A component as `models check` sees it: where its files are and how to verify them."""

    name: str
    repo: str
    folder: str = ""  # its subfolder in the repository ('' = the top)
    only: tuple[str, ...] = ()  # exactly these files (else every recorded file directly in `folder`)
    verify: str = ""  # diffusers:<class> | transformers:<class> | tokenizer | pipeline | streaming | config
    files: dict = field(default_factory=dict)


def declared(preset: Preset) -> list[Declared]:
    """Every component of a hub preset, in pipeline order."""
    m = preset.models
    parts = [
        Declared("llm", m.planner_llm, verify="config"),
        Declared("text_to_image", m.text_to_image, verify="pipeline"),
        Declared("image_encoder", m.image_encoder, m.image_encoder_subfolder,
                 verify="transformers:CLIPVisionModelWithProjection"),
        Declared("ip_adapter", m.ip_adapter, only=(f"{m.ip_adapter_subfolder}/{m.ip_adapter_weight}",)),
        Declared("tokenizer", m.base_video, "tokenizer", verify="tokenizer"),
        Declared("text_encoder", m.base_video, "text_encoder", verify="transformers:CLIPTextModel"),
        Declared("scheduler", m.base_video, "scheduler"),
        Declared("first_chunk_unet", m.base_video, "unet", verify="diffusers:UNet3DConditionModel"),
        Declared("vae", m.base_video, "vae", verify="diffusers:AutoencoderKL"),
        Declared("streaming_checkpoint", m.streaming_checkpoint, only=(m.streaming_checkpoint_file,), verify="streaming"),
        Declared("refiner_unet", m.refiner, "unet", verify="diffusers:UNet3DConditionModel"),
        Declared("clip", m.clip_metric, verify="config"),
    ]
    if m.family == "ltx":  # the LTX-Video parts replace StreamingT2V's video models (studio/generate/ltx/)
        video = {"tokenizer", "text_encoder", "scheduler", "first_chunk_unet", "vae", "streaming_checkpoint", "refiner_unet"}
        parts = [p for p in parts if p.name not in video] + [
            Declared("ltx_tokenizer", m.ltx_model, "tokenizer", verify="tokenizer"),
            Declared("ltx_text_encoder", m.ltx_model, "text_encoder", verify="transformers:T5EncoderModel"),
            Declared("ltx_transformer", m.ltx_model, "transformer", verify="diffusers:LTXVideoTransformer3DModel"),
            Declared("ltx_vae", m.ltx_model, "vae", verify="diffusers:AutoencoderKLLTXVideo"),
            Declared("ltx_upsampler", m.ltx_upsampler, "latent_upsampler", verify="config"),
        ]
    for part in parts:
        if part.folder or part.only:
            part.files = files_under(preset, part.repo, part.folder, part.only)
        else:  # the whole repository (pipelines, the LLM, the CLIP score model)
            part.files = dict(pin_of(preset, part.repo).files)
    return parts


def cached_path(preset: Preset, repo: str, path: str) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo, path, revision=pin_of(preset, repo).revision)
    return Path(found) if isinstance(found, str) else None


def check(preset: Preset, *, verify: bool = True) -> dict:
    """The report `models check --json` prints (see the module docstring); `ok` only when nothing is wrong."""
    if preset.models.backend != "hub":
        return {"ok": True, "components": [], "memory": {"stages": {}, "budget_gb": preset.gpu_memory_gb},
                "disk_bytes": 0, "problems": [], "notes": [f"preset {preset.name!r} ({preset.models.backend} backend) "
                                                            "downloads no models"]}
    problems, notes, components = [], [], []
    missing_bytes: dict[tuple[str, str], int] = {}
    for part in declared(preset):
        pin = pin_of(preset, part.repo)
        row: dict[str, Any] = {"name": part.name, "repo": part.repo, "revision": pin.revision,
                               "files": part.files, "download_bytes": sum(part.files.values()), "cached": False,
                               "problems": []}
        if not part.files:
            row["problems"].append(f"the preset records no files of {part.repo} for {part.name}; "
                                   "list them under models.repos in the preset")
        paths = {path: cached_path(preset, part.repo, path) for path in part.files}
        absent = [path for path, found in paths.items() if found is None]
        for path in absent:
            missing_bytes[(part.repo, path)] = part.files[path]
        row["cached"] = bool(part.files) and not absent
        if absent:
            row["problems"].append(f"{part.repo}: {len(absent)} of {len(part.files)} files not in the Hugging Face cache "
                                   f"({sum(part.files[p] for p in absent) / 1e9:.2f} GB to download; first: {absent[0]})")
        elif verify and part.files:
            row["problems"].extend(_verified(preset, part, paths))
        if not pin.pinned and part.repo not in {n.split(":")[0] for n in notes}:
            notes.append(f"{part.repo}: revision {pin.revision!r} is not a commit; {pin.note or 'pin it in models.repos'}")
        components.append(row)
    if preset.models.family == "ltx":  # no checkpoint to convert; the stage memory plan models StreamingT2V's parts
        disk = sum(missing_bytes.values())
        memory = {"stages": {}, "budget_gb": preset.gpu_memory_gb}
        notes.append("LTX-Video: the per-stage memory plan is not modelled yet (unmeasured; see the preset's comments)")
    else:
        disk = sum(missing_bytes.values()) + _conversion_bytes(preset)
        memory, memory_problems = _memory(preset)
        problems.extend(memory_problems)
    ok = not problems and not any(row["problems"] for row in components)
    return {"ok": ok, "components": components, "memory": memory, "disk_bytes": int(disk),
            "problems": problems, "notes": notes}


def _conversion_bytes(preset: Preset) -> int:
    """The fp16 safetensors file the StreamingT2V checkpoint becomes, when it is not written yet."""
    from studio.generate.checkpoint import converted_path
    from studio.models.memory import _full_size_parameters

    if converted_path(preset).is_file():
        return 0
    return _full_size_parameters(preset.streaming.apm_tokens)["streaming_model"] * 2


def _memory(preset: Preset) -> tuple[dict, list[str]]:
    from studio.models.memory import plan

    stages = plan(preset)
    budget = float(preset.gpu_memory_gb)
    problems = [f"stage {name} needs about {stage.peak_gb:.1f} GB of GPU memory, more than the preset's "
                f"gpu_memory_gb {budget:g}; set models.cpu_offload: true or lower its sizes"
                for name, stage in stages.items() if stage.peak_gb > budget]
    memory: dict[str, Any] = {"stages": {name: {"components": list(s.components), "weights_gb": s.weights_gb,
                                                "activations_gb": s.activations_gb, "peak_gb": s.peak_gb}
                                         for name, s in stages.items()}, "budget_gb": budget}
    gpu = _this_gpu()
    if gpu:
        memory["gpu"] = gpu
        problems += [f"stage {name} needs about {stage.peak_gb:.1f} GB and this GPU ({gpu['name']}) has "
                     f"{gpu['memory_gb']:.1f} GB; set models.cpu_offload: true"
                     for name, stage in stages.items() if stage.peak_gb > gpu["memory_gb"]]
    return memory, problems


def _this_gpu() -> dict | None:
    import torch

    if not torch.cuda.is_available():
        return None
    props = torch.cuda.get_device_properties(0)
    return {"name": props.name, "memory_gb": round(props.total_memory / 1e9, 2)}


# ----------------------------------------------------------------------------- verifying cached files


def _verified(preset: Preset, part: Declared, paths: dict[str, Path]) -> list[str]:
    """Problems of a component whose files are all cached, each one line naming the file."""
    kind = part.verify
    folder = next(iter(paths.values())).parent if part.folder else None
    try:
        if kind.startswith(("diffusers:", "transformers:")):
            return _shapes_match(preset, part, kind, paths)
        if kind == "tokenizer":
            return _tokenizer_sane(preset, part.repo, part.folder, folder)
        if kind == "pipeline":
            problems = []
            for sub, cls in (("unet", "diffusers:UNet2DConditionModel"), ("vae", "diffusers:AutoencoderKL"),
                             ("text_encoder", "transformers:CLIPTextModel")):
                sub_part = Declared(part.name, part.repo, sub, files=files_under(preset, part.repo, sub))
                problems += _shapes_match(preset, sub_part, cls, {p: paths[p] for p in sub_part.files if p in paths})
            tokenizer_folder = paths.get("tokenizer/vocab.json")
            if tokenizer_folder is not None:
                problems += _tokenizer_sane(preset, part.repo, "tokenizer", tokenizer_folder.parent)
            return problems
        if kind == "streaming":
            return _streaming_maps(preset, paths[part.only[0]])
        if kind == "config":
            config = next((p for name, p in paths.items() if name.endswith("config.json") and "/" not in name), None)
            if config is not None:
                import json

                json.loads(config.read_text(encoding="utf-8"))
    except Exception as error:  # noqa: BLE001 - whatever a damaged file raises: one line naming the component
        return [f"{part.name} ({part.repo}/{part.folder or part.only[0] if part.only else part.repo}): "
                f"{type(error).__name__}: {first_line(error, 160)}"]
    return []


def _weight_file(paths: dict[str, Path]) -> tuple[str, Path] | None:
    for name, path in paths.items():
        if name.endswith((".safetensors", ".bin")):
            return name, path
    return None


def _file_shapes(path: Path) -> dict[str, tuple]:
    """Every tensor's shape in a weight file, without reading the tensors."""
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            return {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}
    import torch

    state = torch.load(str(path), map_location="meta", weights_only=True)
    return {key: tuple(value.shape) for key, value in state.items()}


def _meta_model(kind: str, folder: Path):
    """The model a config folder describes, on the meta device."""
    import json

    import torch

    library, cls_name = kind.split(":")
    if library == "diffusers":
        import diffusers

        cls = getattr(diffusers, cls_name)
        config = cls.load_config(str(folder))
        with torch.device("meta"):
            return cls.from_config(config)
    import transformers

    from studio.models.hub import image_encoder_overrides

    cls = getattr(transformers, cls_name)
    raw = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config = cls.config_class.from_pretrained(str(folder), **image_encoder_overrides(raw))
    with torch.device("meta"):
        return cls(config)


def _shapes_match(preset: Preset, part: Declared, kind: str, paths: dict[str, Path]) -> list[str]:
    weights = _weight_file(paths)
    if weights is None:
        return [f"{part.repo}/{part.folder}: the preset records no weight file for {part.name}"]
    name, path = weights
    model = _meta_model(kind, path.parent)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = _file_shapes(path)
    wrong = [f"{key} is {found[key]} in the file, {shape} by the config" for key, shape in expected.items()
             if key in found and found[key] != shape]
    missing = [key for key in expected if key not in found and not key.endswith("position_ids")]
    problems = []
    if wrong:
        problems.append(f"{part.repo}/{name}: {len(wrong)} tensors do not match {part.folder or '.'}/config.json "
                        f"(first: {wrong[0]}); the file or the config is of another model or revision: download it again")
    if missing:
        problems.append(f"{part.repo}/{name}: {len(missing)} tensors the config needs are not in the file "
                        f"(first: {missing[0]}); download it again")
    return problems


def _tokenizer_sane(preset: Preset, repo: str, subfolder: str, folder: Path | None) -> list[str]:
    import transformers

    from studio.errors import StudioError
    from studio.models.hub import check_clip_tokenizer

    tokenizer = transformers.CLIPTokenizer.from_pretrained(str(folder))
    try:
        check_clip_tokenizer(tokenizer, preset, repo, subfolder)
    except StudioError as error:
        return [str(error)]
    return []


def _streaming_maps(preset: Preset, checkpoint: Path) -> list[str]:
    """The released checkpoint against the StreamingModel the cached configs describe, strictly."""
    from studio.generate.checkpoint import compare_with_model, map_state_dict, refusal
    from studio.generate.ckpt_reader import read_checkpoint

    expected = streaming_shapes(preset)
    mapped, report = map_state_dict(read_checkpoint(checkpoint))
    compare_with_model(mapped, expected, report)
    reason = refusal(report)
    return [f"{preset.models.streaming_checkpoint}/{checkpoint.name}: {reason}"] if reason else []


def streaming_shapes(preset: Preset) -> dict[str, tuple]:
    """Our names -> shapes of the StreamingModel built on meta from the cached UNet and image encoder configs."""
    from studio.generate.model import StreamingModel

    m = preset.models
    unet_config = cached_path(preset, m.base_video, "unet/config.json")
    encoder_config = cached_path(preset, m.image_encoder, f"{m.image_encoder_subfolder}/config.json")
    vae_config = cached_path(preset, m.base_video, "vae/config.json")
    if unet_config is None or encoder_config is None or vae_config is None:
        from studio.generate.weights_check import expected_shapes

        return expected_shapes(preset)
    import json

    import torch

    unet = _meta_model("diffusers:UNet3DConditionModel", unet_config.parent)
    encoder = _meta_model("transformers:CLIPVisionModelWithProjection", encoder_config.parent)
    scale = 2 ** (len(json.loads(vae_config.read_text(encoding="utf-8"))["block_out_channels"]) - 1)
    with torch.device("meta"):
        model = StreamingModel.build(unet, encoder, scale, image_tokens=preset.streaming.apm_tokens)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


# ----------------------------------------------------------------------------- printing


def format_report(report: dict) -> str:
    lines = []
    for row in report["components"]:
        state = "cached" if row["cached"] else "missing"
        lines.append(f"{row['name']:<22} {row['repo']}@{row['revision'][:12]:<12} {row['download_bytes'] / 1e9:7.2f} GB  {state}")
        lines += [f"  problem: {p}" for p in row["problems"]]
    lines.append(f"disk still needed: {report['disk_bytes'] / 1e9:.1f} GB (downloads + the checkpoint's fp16 conversion)")
    memory = report["memory"]
    for name, stage in memory["stages"].items():
        lines.append(f"stage {name:<12} weights {stage['weights_gb']:5.2f} GB  peak {stage['peak_gb']:5.2f} GB "
                     f"(budget {memory['budget_gb']:g} GB)")
    lines += [f"problem: {p}" for p in report["problems"]]
    lines += [f"note: {n}" for n in report["notes"]]
    lines.append("ok" if report["ok"] else "not ready: see the problems above")
    return "\n".join(lines)


def markdown_tables(report: dict) -> str:
    """The README's download and memory tables, from the same report."""
    lines = ["| component | repository | revision | files | download |", "|---|---|---|---|---|"]
    for row in report["components"]:
        files = ", ".join(f"`{p}`" for p in row["files"]) or "—"
        lines.append(f"| {row['name']} | {row['repo']} | `{row['revision'][:12]}` | {files} | "
                     f"{row['download_bytes'] / 1e9:.2f} GB |")
    lines.append(f"\nDisk needed on an empty cache: {report['disk_bytes'] / 1e9:.1f} GB "
                 "(each file once, plus the checkpoint's fp16 conversion).\n")
    memory = report["memory"]
    lines += ["| stage | on the GPU | weights | activations (est.) | peak (est.) |", "|---|---|---|---|---|"]
    for name, stage in memory["stages"].items():
        lines.append(f"| {name} | {', '.join(stage['components'])} | {stage['weights_gb']:.2f} GB | "
                     f"{stage['activations_gb']:.2f} GB | {stage['peak_gb']:.2f} GB |")
    lines.append(f"\nBudget: `gpu_memory_gb` {memory['budget_gb']:g} GB; peak = weights + activations + 1 GB overhead.")
    return "\n".join(lines)

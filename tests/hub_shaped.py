"""An offline Hugging Face cache with one tiny repository per component of the gpu preset, shaped as published.

`build_hub_cache(root, preset)` writes `root/models--org--name/{refs/main, snapshots/<commit>/...}` for every
repository the preset loads, with the published file names and folders (README: "Published repositories"),
at tiny sizes: diffusers folders with model_index.json and fp16 variant files where the repository publishes
them, the .bin-only zeroscope UNet, IP-Adapter's `models/` and `models/image_encoder/`, CLIP tokenizers with a
49,408-token vocabulary and 77 tokens, and a Lightning-shaped StreamingT2V checkpoint that fits the tiny
UNet and image encoder. Every file the preset records under models.repos must be written (checked), so the
preset cannot name a file no repository has.

`tiny_hub_preset()` is the gpu preset with its sizes made tiny (same repositories, loaders and revisions).
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from pathlib import Path

import torch

PROJECTION_DIM = 24  # the tiny ViT's projection (1024 in the real ViT-H)
CLIP_VOCAB = 49408


def fake_commit(repo: str) -> str:
    """A 40-hex commit for a repository the preset leaves at `main` (its refs/main points there)."""
    return hashlib.sha1(repo.encode()).hexdigest()


def snapshot_of(root: Path, repo: str, revision: str) -> Path:
    commit = revision if len(revision) == 40 else fake_commit(repo)
    base = root / f"models--{repo.replace('/', '--')}"
    (base / "refs").mkdir(parents=True, exist_ok=True)
    (base / "refs" / "main").write_text(commit)
    snapshot = base / "snapshots" / commit
    snapshot.mkdir(parents=True, exist_ok=True)
    return snapshot


def tiny_hub_preset():
    """The gpu preset at tiny sizes on the CPU: same repositories, loaders, revisions and variants."""
    from studio.config import load_preset

    preset = copy.deepcopy(load_preset("gpu"))
    preset.models.device, preset.models.dtype = "cpu", "float32"
    preset.planning.planner = "rules"
    s = preset.streaming
    s.width = s.height = 32
    s.frames_per_chunk, s.context_frames, s.steps = 8, 4, 2
    preset.first_chunk.steps = 2
    r = preset.references
    r.width = r.height = r.scene_width = r.scene_height = 32
    r.steps = 2
    f = preset.refine
    f.width = f.height = 48
    f.window, f.overlap, f.steps = 8, 4, 2
    f.feed_forward_tokens = 64  # small enough that the refiner's feed-forward layers really run in slices
    return preset


# ----------------------------------------------------------------------------- file writers


def _clip_vocab() -> dict[str, int]:
    """CLIP's layout: 256 byte chars, the same with </w>, fillers up to 49,406, then the two specials."""
    from studio.models.tiny import _bytes_to_unicode

    chars = list(_bytes_to_unicode().values())
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(vocab) + i for i, c in enumerate(chars)})
    while len(vocab) < CLIP_VOCAB - 2:
        vocab[f"filler{len(vocab)}</w>"] = len(vocab)
    vocab["<|startoftext|>"] = CLIP_VOCAB - 2
    vocab["<|endoftext|>"] = CLIP_VOCAB - 1
    return vocab


def write_clip_tokenizer(folder: Path, files=("vocab.json", "merges.txt", "special_tokens_map.json",
                                              "tokenizer_config.json")) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(_clip_vocab()), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    specials = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
                "pad_token": "<|endoftext|>"}
    (folder / "special_tokens_map.json").write_text(json.dumps(specials), encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {**specials, "model_max_length": 77, "tokenizer_class": "CLIPTokenizer", "do_lower_case": True}), encoding="utf-8")
    if "tokenizer.json" in files:
        from transformers import CLIPTokenizer

        CLIPTokenizer.from_pretrained(str(folder)).backend_tokenizer.save(str(folder / "tokenizer.json"))


def _clip_text(seed: int):
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    return CLIPTextModel(CLIPTextConfig(hidden_size=32, intermediate_size=64, num_attention_heads=2, num_hidden_layers=2,
                                        vocab_size=CLIP_VOCAB, max_position_embeddings=77, projection_dim=32,
                                        bos_token_id=CLIP_VOCAB - 2, eos_token_id=CLIP_VOCAB - 1,
                                        pad_token_id=CLIP_VOCAB - 1)).eval()


def save_transformers(model, folder: Path, *, fp16: bool) -> None:
    """config.json + model.safetensors (+ model.fp16.safetensors where the repository publishes one)."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    model.config.save_pretrained(str(folder))
    state, seen = {}, set()
    for key, value in model.state_dict().items():
        if value.data_ptr() in seen:  # a tied weight (Qwen's lm_head): the published file holds it once
            continue
        seen.add(value.data_ptr())
        state[key] = value.contiguous()
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    if fp16:
        save_file({k: v.half() for k, v in state.items()}, str(folder / "model.fp16.safetensors"), metadata={"format": "pt"})


def save_diffusers(model, folder: Path, *, fp16: bool, bin_only: bool = False) -> None:
    if bin_only:  # zeroscope: config.json + diffusion_pytorch_model.bin, no safetensors, no variant
        folder.mkdir(parents=True, exist_ok=True)
        model.save_config(str(folder))
        torch.save({k: v.half() for k, v in model.state_dict().items()}, folder / "diffusion_pytorch_model.bin")
        return
    model.save_pretrained(str(folder), safe_serialization=True)
    if fp16:
        model.to(torch.float16).save_pretrained(str(folder), safe_serialization=True, variant="fp16")
        model.to(torch.float32)


def _diffusers_index(folder: Path, pipeline: str, parts: dict) -> None:
    index = {"_class_name": pipeline, "_diffusers_version": "0.19.0", **parts}
    (folder / "model_index.json").write_text(json.dumps(index, indent=2), encoding="utf-8")


# ----------------------------------------------------------------------------- the repositories


def write_text_to_video(snap: Path):
    """damo-vilab/text-to-video-ms-1.7b: a TextToVideoSDPipeline folder, fp16 variant files beside fp32 ones."""
    from studio.models import tiny

    _diffusers_index(snap, "TextToVideoSDPipeline", {
        "scheduler": ["diffusers", "DDIMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet3DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"]})
    tiny.ddim_scheduler().save_pretrained(str(snap / "scheduler"))
    save_transformers(_clip_text(1), snap / "text_encoder", fp16=True)
    write_clip_tokenizer(snap / "tokenizer")
    unet = tiny.unet3d(seed_offset=2)
    save_diffusers(unet, snap / "unet", fp16=True)
    save_diffusers(tiny.vae(), snap / "vae", fp16=True)
    return unet


def tiny_vit(projection_dim: int = PROJECTION_DIM):
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(4)
    return CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=32, intermediate_size=64, num_attention_heads=2, num_hidden_layers=2, image_size=224, patch_size=32,
        projection_dim=projection_dim)).eval()


def write_ip_adapter(snap: Path, sd_unet):
    """h94/IP-Adapter: models/image_encoder/{config.json, model.safetensors} (a standalone
    CLIPVisionModelWithProjection config) and models/ip-adapter_sd15.safetensors (image_proj.*, ip_adapter.*)."""
    from safetensors.torch import save_file

    from studio.references.ip_adapter import random_ip_adapter_state_dict

    encoder = tiny_vit()
    save_transformers(encoder, snap / "models" / "image_encoder", fp16=False)
    nested = random_ip_adapter_state_dict(sd_unet, PROJECTION_DIM)
    flat = {f"{group}.{key}": value.contiguous() for group, part in nested.items() for key, value in part.items()}
    save_file({k: v.half() for k, v in flat.items()}, str(snap / "models" / "ip-adapter_sd15.safetensors"))
    return encoder


def write_laion_clip(snap: Path, vision_projection: int | None) -> None:
    """A LAION-style CLIPModel config.json: its vision_config leaves projection_dim out (None) or gives a wrong one;
    the weights have the top-level projection_dim's width."""
    from transformers import CLIPConfig, CLIPModel

    torch.manual_seed(8)
    config = CLIPConfig(text_config=dict(hidden_size=32, intermediate_size=64, num_attention_heads=2, num_hidden_layers=2,
                                         vocab_size=CLIP_VOCAB),
                        vision_config=dict(hidden_size=32, intermediate_size=64, num_attention_heads=2,
                                           num_hidden_layers=2, image_size=224, patch_size=32),
                        projection_dim=PROJECTION_DIM)
    save_transformers(CLIPModel(config).eval(), snap, fp16=False)
    raw = json.loads((snap / "config.json").read_text())
    raw["vision_config"].pop("projection_dim", None)
    raw["text_config"].pop("projection_dim", None)
    if vision_projection is not None:
        raw["vision_config"]["projection_dim"] = vision_projection
    (snap / "config.json").write_text(json.dumps(raw, indent=2))


def write_stable_diffusion(snap: Path):
    """stable-diffusion-v1-5: StableDiffusionPipeline folders (feature_extractor, safety_checker config, PNDM
    scheduler, text_encoder, tokenizer, unet, vae), fp16 variant files beside fp32 ones."""
    from diffusers import PNDMScheduler
    from transformers import CLIPImageProcessor

    from studio.models import tiny

    _diffusers_index(snap, "StableDiffusionPipeline", {
        "feature_extractor": ["transformers", "CLIPImageProcessor"], "safety_checker": ["stable_diffusion",
                                                                                      "StableDiffusionSafetyChecker"],
        "scheduler": ["diffusers", "PNDMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"]})
    CLIPImageProcessor(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}).save_pretrained(
        str(snap / "feature_extractor"))
    (snap / "safety_checker").mkdir()
    (snap / "safety_checker" / "config.json").write_text(json.dumps({"_name_or_path": "safety_checker"}))
    PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", skip_prk_steps=True,
                  steps_offset=1).save_pretrained(str(snap / "scheduler"))
    save_transformers(_clip_text(5), snap / "text_encoder", fp16=True)
    write_clip_tokenizer(snap / "tokenizer")
    unet = tiny.unet2d()
    save_diffusers(unet, snap / "unet", fp16=True)
    save_diffusers(tiny.vae(), snap / "vae", fp16=True)
    return unet


def write_zeroscope(snap: Path) -> None:
    """cerspense/zeroscope_v2_XL: .bin files only (no safetensors, no fp16 variant)."""
    from studio.models import tiny

    _diffusers_index(snap, "TextToVideoSDPipeline", {"unet": ["diffusers", "UNet3DConditionModel"],
                                                     "vae": ["diffusers", "AutoencoderKL"]})
    save_diffusers(tiny.unet3d(seed_offset=12), snap / "unet", fp16=False, bin_only=True)
    save_diffusers(tiny.vae(), snap / "vae", fp16=False, bin_only=True)


def write_streaming_checkpoint(snap: Path, unet, encoder, vae_scale: int, text_tokens: int = 77) -> None:
    """PAIR/StreamingT2V: a Lightning checkpoint (state_dict with the official names plus extras) for these sizes."""
    from studio.generate.model import StreamingModel
    from studio.models.tiny_release import write_synthetic_release

    model = StreamingModel.build(copy.deepcopy(unet), copy.deepcopy(encoder), vae_scale, text_tokens=text_tokens)
    write_synthetic_release(model, snap / "streaming_t2v.ckpt")


def write_qwen(snap: Path) -> None:
    """Qwen/Qwen2.5-1.5B-Instruct: config.json, generation_config.json, model.safetensors, tokenizer files."""
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    from studio.models import tiny

    _, tokenizer = tiny.causal_lm()
    torch.manual_seed(6)
    model = Qwen2ForCausalLM(Qwen2Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                         tie_word_embeddings=True)).eval()
    save_transformers(model, snap, fp16=False)
    GenerationConfig(do_sample=False).save_pretrained(str(snap))
    tokenizer.save_pretrained(str(snap))
    vocab = tokenizer.get_vocab()
    (snap / "vocab.json").write_text(json.dumps(vocab))
    (snap / "merges.txt").write_text("#version: 0.2\n")


def write_clip_metric(snap: Path) -> None:
    """openai/clip-vit-base-patch32: a CLIPModel, its preprocessor config and CLIP tokenizer files."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    torch.manual_seed(7)
    config = CLIPConfig(text_config=dict(hidden_size=32, intermediate_size=64, num_attention_heads=2, num_hidden_layers=2,
                                         vocab_size=CLIP_VOCAB, bos_token_id=CLIP_VOCAB - 2, eos_token_id=CLIP_VOCAB - 1),
                        vision_config=dict(hidden_size=32, intermediate_size=64, num_attention_heads=2,
                                           num_hidden_layers=2, image_size=32, patch_size=8), projection_dim=16)
    save_transformers(CLIPModel(config).eval(), snap, fp16=False)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(str(snap))
    write_clip_tokenizer(snap, files=("tokenizer.json",))


def build_hub_cache(root: Path, preset) -> Path:
    """Every repository of `preset` (the gpu preset or tiny_hub_preset()) under `root`; returns root."""
    m = preset.models

    def snap(repo: str) -> Path:
        return snapshot_of(root, repo, preset.models.repos.get(repo, {}).get("revision", "main"))

    unet3d = write_text_to_video(snap(m.base_video))
    sd_unet = write_stable_diffusion(snap(m.text_to_image))
    encoder = write_ip_adapter(snap(m.ip_adapter), sd_unet)
    write_zeroscope(snap(m.refiner))
    write_streaming_checkpoint(snap(m.streaming_checkpoint), unet3d, encoder, vae_scale=4)
    write_qwen(snap(m.planner_llm))
    write_clip_metric(snap(m.clip_metric))
    for repo, entry in m.repos.items():  # the preset names no file the repository does not have
        folder = snap(repo)
        absent = [path for path in entry.get("files", {}) if not (folder / path).is_file()]
        assert not absent, f"{repo}: the preset records {absent}, which the repository shape does not have"
    return root


def remove_cached(root: Path, repo: str, path: str) -> Path:
    """Delete one file of a cached repository (every snapshot); returns the path removed."""
    for found in (root / f"models--{repo.replace('/', '--')}" / "snapshots").glob(f"*/{path}"):
        found.unlink()
        return found
    raise FileNotFoundError(path)


def copy_cache(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target

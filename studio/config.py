"""Presets: every model id, size, step count and option of a run, as data (presets/*.yaml).

A preset file has one section per stage; an unknown key anywhere is an error that names the key and
the file, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.errors import StudioError, first_line
from studio.project.model import FAMILIES, MAX_TAKES_PER_CHUNK

PRESETS_DIR = Path(__file__).resolve().parent.parent / "presets"
BACKENDS = ("tiny", "hub", "animatic", "random")
# The one list of each choice: the CLI's choices, the preset checks, the UI's radios and the stages read these.
PLANNERS = ("rules", "local", "remote")
REFINE_MODES = ("randomized", "shared-noise", "naive")

SCHEDULERS = ("ddim", "dpm-solver++", "unipc")
# Chunk 0 of a text-started scene: the official stage runs diffusers' DPMSolverMultistepScheduler with its defaults.
FIRST_CHUNK_SCHEDULERS = ("dpm-solver-multistep", *SCHEDULERS)
FIRST_CHUNK_UNETS = ("base", "streaming")
BETWEEN_STAGES = ("offload", "free", "keep")


def one_of(choices: tuple[str, ...]) -> str:
    """'a, b or c' for a message naming the allowed choices."""
    return ", ".join(choices[:-1]) + " or " + choices[-1] if len(choices) > 1 else choices[0]


@dataclass
class ModelsConfig:
    """Which weights each stage uses. `backend` picks how they are made:
    tiny = built in code with random weights (tests, CI); hub = from_pretrained; animatic = no models;
    random = real-size architectures with random weights (the benchmark, where the Hub is out of reach)."""

    backend: str = "animatic"
    architecture: str = "full"  # random backend only: full (ModelScope size) | small (CPU benchmark)
    dtype: str = "float32"  # float32 | bfloat16 | float16
    device: str = "auto"  # auto | cpu | cuda
    base_video: str = "damo-vilab/text-to-video-ms-1.7b"  # UNet3D, VAE, CLIP text encoder
    streaming_checkpoint: str = "PAIR/StreamingT2V"  # CAM + APM weights (streaming_t2v.ckpt)
    streaming_checkpoint_file: str = "streaming_t2v.ckpt"
    # The APM's anchor encoder and IP-Adapter's image encoder: one OpenCLIP ViT-H-14 (projection 1024), shipped
    # standalone in IP-Adapter's repository (a CLIPVisionModelWithProjection config), so one download serves both.
    image_encoder: str = "h94/IP-Adapter"
    image_encoder_subfolder: str = "models/image_encoder"
    refiner: str = "cerspense/zeroscope_v2_XL"  # UNet3D video-to-video
    text_to_image: str = "stable-diffusion-v1-5/stable-diffusion-v1-5"
    ip_adapter: str = "h94/IP-Adapter"
    ip_adapter_subfolder: str = "models"
    ip_adapter_weight: str = "ip-adapter_sd15.safetensors"
    planner_llm: str = "Qwen/Qwen2.5-1.5B-Instruct"
    clip_metric: str = "openai/clip-vit-base-patch32"
    cpu_offload: bool = False  # diffusers model CPU offload, for GPUs under ~12 GB
    # Which video model makes and refines the chunks (FAMILIES); `backend` above says where its weights come from.
    family: str = "streaming-t2v"
    ltx_model: str = "Lightricks/LTX-Video-0.9.7-distilled"  # diffusers layout: transformer, vae, text_encoder, tokenizer
    ltx_revision: str = "main"
    ltx_upsampler: str = "Lightricks/ltxv-spatial-upscaler-0.9.7"  # latent_upsampler (LTXLatentUpsamplePipeline layout)
    ltx_upsampler_revision: str = "main"
    # What happens to the models a stage does not need before it runs (studio.models.memory):
    # offload = moved to the CPU (fast to bring back), free = dropped (loaded again when needed), keep = stay.
    between_stages: str = "offload"
    # Per repository: revision (a commit hash, or a branch with a note saying it must be pinned), variant
    # ("fp16" where the repository publishes one) and the files the loaders fetch with their sizes in bytes
    # (what `models check` reports when the Hub is out of reach). See presets/gpu.yaml.
    repos: dict = field(default_factory=dict)


@dataclass
class PlanningConfig:
    planner: str = "rules"  # rules | local | remote
    num_scenes: int = 0  # 0 = as many as the prompt has events
    default_chunks: int = 4
    remote_base_url: str = ""  # OpenAI-compatible endpoint; env STUDIO_PLANNER_URL overrides
    remote_model: str = ""  # model name at the endpoint / HF provider
    remote_provider: str = ""  # Hugging Face inference provider, e.g. "together"
    timeout_seconds: float = 60.0
    max_retries: int = 3
    max_new_tokens: int = 1024


@dataclass
class ReferencesConfig:
    width: int = 512
    height: int = 512
    steps: int = 30
    guidance: float = 7.5
    background_phrase: str = "isolated on a plain neutral grey background, studio lighting, full body"
    negative_prompt: str = "blurry, low quality, deformed"
    foreground_scale: float = 0.5  # VideoStudio-Img
    background_scale: float = 0.33
    scene_width: int = 256  # the scene image is the first chunk's conditioning: the video size
    scene_height: int = 256
    max_upload_pixels: int = 16_000_000


@dataclass
class StreamingConfig:
    width: int = 256
    height: int = 256
    frames_per_chunk: int = 16
    context_frames: int = 8  # CAM conditioning: the last 8 frames of the previous chunk
    steps: int = 50
    guidance: float = 7.5
    eta: float = 1.0
    scheduler: str = "ddim"  # ddim | dpm-solver++ | unipc
    negative_prompt: str = ""
    fps: int = 8
    max_chunks: int = 64
    max_takes: int = 8  # versions kept per chunk (the active one included); making one more drops the oldest
    use_cam: bool = True
    use_apm: bool = True
    apm_tokens: int = 16
    batched_guidance: bool = True  # both guidance branches in one forward (False: two forwards, the naive way)
    compile: bool = False  # torch.compile the denoising step (GPU; the first chunk pays the compile time)
    compile_backend: str = "inductor"  # torch.compile's backend ("eager": graph capture only, for CPU tests)
    vae_slicing: bool = True
    # Exact savings: what is the same at every step is done once per chunk, and only the frames a chunk
    # keeps are decoded (False: the work done every step, for the benchmark's before/after).
    reuse_chunk_work: bool = True


@dataclass
class FirstChunkConfig:
    """Chunk 0 of a scene started from text alone (no scene image, so no context for the CAM).

    The official StreamingT2V makes those 16 frames with the untouched public ModelScope pipeline, not
    with its fine-tuned base: that base's spatial layers were trained with the APM's image tokens and
    never ran text-only. A scene started from its scene image does not use this section.
    """

    unet: str = "base"  # base = the public ModelScope UNet; streaming = the fine-tuned one (the old behaviour)
    scheduler: str = "dpm-solver-multistep"  # official: DPMSolverMultistepScheduler from the base scheduler config
    steps: int = 50
    guidance: float = 9.0  # diffusers' TextToVideoSDPipeline default, which the official code keeps


@dataclass
class RefineConfig:
    width: int = 720
    height: int = 720
    window: int = 24  # frames per refiner window (official default)
    overlap: int = 8
    strength: float = 0.6  # SDEdit: noise to t = 600 of 1000
    # SDEdit strength of seam healing (studio/generate/seam.py): lower than `strength`, since healing
    # the frames around a kept chunk's seam should change them less than a refinement does.
    seam_strength: float = 0.35
    steps: int = 30
    guidance: float = 7.5
    guidance_rescale: float = 0.0  # 0 = plain guidance; the official refiner uses 0.2
    mode: str = "randomized"  # randomized | shared-noise | naive
    negative_prompt: str = ""
    vae_tiling: bool = True
    # Memory (studio.models.memory): windows per UNet call (x2 for guidance) and the most tokens one
    # feed-forward call takes (0 = no chunking); at 720x720 one window is 48 frames of 8100 latent tokens.
    windows_per_call: int = 1
    feed_forward_tokens: int = 65536


@dataclass
class LtxConfig:
    """LTX-Video chunk making (studio/generate/ltx/): what the two memories and the sampler do.

    Chunk k > 0 is conditioned on the last `streaming.context_frames` frames of the chunks before it, put at
    frame 0 of the new clip (LTXVideoCondition(video=..., frame_index=0)); frames_per_chunk and
    context_frames are both 8k + 1 and the sizes multiples of 32 (the VAE's temporal and spatial ratios).
    """

    condition_strength: float = 1.0  # short-term memory: 1 = the previous frames' latents are kept exactly
    image_strength: float = 1.0  # a scene image as frame 0 of chunk 0 (image-to-video)
    adain_factor: float = 0.25  # long-term memory: pull each chunk's latent statistics towards the anchor's (0 = off)
    sigmas: list[float] = field(default_factory=list)  # the first pass's noise levels; empty = linear-quadratic(steps)
    refine_sigmas: list[float] = field(default_factory=list)  # the second pass's; empty = `refine.steps` from refine.strength
    decode_timestep: float = 0.05  # VAEs with timestep conditioning (0.9.5 and later)
    decode_noise_scale: float = 0.025
    max_sequence_length: int = 128  # T5 tokens


@dataclass
class ExportConfig:
    fps: int = 8
    transition: str = "cut"  # cut | crossfade
    crossfade_seconds: float = 0.5


@dataclass
class QaConfig:
    """Limits of the per-chunk drift checks (`studio qa`); a chunk past any of them is flagged.

    How they were chosen: the model-free limits from the animatic preset's own output (4 scenes x 6
    chunks, every camera move: colour shift up to 15 delta E (a long zoom), spread shift up to 8, seam
    ratios 0.5-1.4) against deliberate faults (an inverted chunk: seam ratios 15-110; a chunk from another
    scene: 7-50; a +40 red / -40 blue grade: 27-36 delta E). Each limit sits between the two, nearer the
    faults, so camera moves pass. The similarity limits are CLIP ViT-B/32 image-to-image cosines: frames
    of one shot score above ~0.85 and unrelated pictures ~0.4-0.6; a reference (one entity on grey)
    matches a full frame less well, hence its lower limit. 0 turns a similarity check off.
    """

    max_colour_shift: float = 20.0  # delta E (CIE76) of the chunk's mean Lab colour from the anchor's
    max_spread_shift: float = 15.0  # distance of the per-channel Lab standard deviations from the anchor's
    max_seam_flow_ratio: float = 4.0  # start-seam flow / median flow inside the chunk
    max_seam_residual_ratio: float = 4.0  # start-seam residual after flow compensation / the chunk's median
    min_anchor_similarity: float = 0.75  # CLIP cosine of the chunk's frames to the scene's anchor
    min_reference_similarity: float = 0.55  # CLIP cosine to the approved references of the scene's entities
    embedding_frames: int = 4  # frames of each chunk embedded (evenly spaced)


@dataclass
class BenchConfig:
    chunk_counts: list[int] = field(default_factory=lambda: [2, 4, 8])
    refine: bool = True


@dataclass
class ClusterConfig:
    """Where the server's Generate, Regenerate and Refine jobs run. Env STUDIO_CLUSTER / STUDIO_WORKERS override."""

    spec: str = ""  # "" = in this process; local | auto | ray://HOST:PORT = on Ray workers (studio/cluster/)
    workers: int = 0  # 0 = one per GPU of this machine (local); auto and ray:// need the count


@dataclass
class Preset:
    name: str
    description: str = ""
    gpu_memory_gb: float = 0.0  # what the preset needs on the GPU; 0 = runs on the CPU
    models: ModelsConfig = field(default_factory=ModelsConfig)
    planning: PlanningConfig = field(default_factory=PlanningConfig)
    references: ReferencesConfig = field(default_factory=ReferencesConfig)
    streaming: StreamingConfig = field(default_factory=StreamingConfig)
    first_chunk: FirstChunkConfig = field(default_factory=FirstChunkConfig)
    refine: RefineConfig = field(default_factory=RefineConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    ltx: LtxConfig = field(default_factory=LtxConfig)
    qa: QaConfig = field(default_factory=QaConfig)
    bench: BenchConfig = field(default_factory=BenchConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    source: str = ""  # the file it came from (not a YAML key)


def _build(cls: type, data: dict[str, Any], where: str, source: str) -> Any:
    """Build dataclass `cls` from `data`, refusing unknown keys and wrong types."""
    if not isinstance(data, dict):
        raise StudioError(f"{source}: section {where!r} must be a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "source"}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            raise StudioError(f"{source}: unknown key {where + '.' if where else ''}{key!r} (known: {', '.join(fields)})")
        default = fields[key].default_factory() if fields[key].default_factory is not dataclasses.MISSING else fields[key].default
        if dataclasses.is_dataclass(default):
            kwargs[key] = _build(type(default), value or {}, f"{where + '.' if where else ''}{key}", source)
            continue
        kwargs[key] = _coerce(value, default, f"{where + '.' if where else ''}{key}", source)
    return cls(**kwargs)


def _coerce(value: Any, default: Any, key: str, source: str) -> Any:
    if default is dataclasses.MISSING or default is None:
        return value
    expected = type(default)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is int and isinstance(value, bool) or not isinstance(value, expected):
        raise StudioError(f"{source}: {key} must be {expected.__name__}, got {value!r}")
    return value


def check_cluster_spec(spec: str) -> str:
    """A cluster to run on: local, auto or ray://HOST:PORT (what cluster.spec and --cluster accept).
    Here, not in studio/cluster: the configuration is below every package that reads it, and imports none."""
    if spec in ("local", "auto") or (spec.startswith("ray://") and len(spec) > len("ray://")):
        return spec
    raise StudioError(f"cluster {spec!r} is not one of local, auto or ray://HOST:PORT; pick one of those")


def check_preset(preset: Preset) -> Preset:
    """Cross-field checks; raise with the key, the value and the file."""
    where = preset.source or preset.name
    if preset.models.backend not in BACKENDS:
        raise StudioError(f"{where}: models.backend {preset.models.backend!r} must be one of {', '.join(BACKENDS)}")
    if preset.models.architecture not in ("full", "small"):
        raise StudioError(f"{where}: models.architecture {preset.models.architecture!r} must be full or small")
    if preset.models.dtype not in ("float32", "bfloat16", "float16"):
        raise StudioError(f"{where}: models.dtype {preset.models.dtype!r} must be float32, bfloat16 or float16")
    if preset.models.family not in FAMILIES:
        raise StudioError(f"{where}: models.family {preset.models.family!r} must be {one_of(FAMILIES)}")
    if preset.models.family == "ltx":
        from studio.generate.ltx.shapes import check_ltx_preset  # light: no torch

        check_ltx_preset(preset, where)
    s = preset.streaming
    if not 0 < s.context_frames < s.frames_per_chunk:
        raise StudioError(f"{where}: streaming.context_frames {s.context_frames} must be between 1 and frames_per_chunk - 1")
    if not 1 <= s.max_takes <= MAX_TAKES_PER_CHUNK:
        raise StudioError(f"{where}: streaming.max_takes {s.max_takes} must be between 1 and {MAX_TAKES_PER_CHUNK}; the default is 8")
    if s.scheduler not in SCHEDULERS:
        raise StudioError(f"{where}: streaming.scheduler {s.scheduler!r} must be {one_of(SCHEDULERS)}")
    first = preset.first_chunk
    if first.unet not in FIRST_CHUNK_UNETS:
        raise StudioError(f"{where}: first_chunk.unet {first.unet!r} must be {one_of(FIRST_CHUNK_UNETS)}")
    if first.scheduler not in FIRST_CHUNK_SCHEDULERS:
        raise StudioError(f"{where}: first_chunk.scheduler {first.scheduler!r} must be {one_of(FIRST_CHUNK_SCHEDULERS)}")
    if first.steps < 1 or s.steps < 1:
        raise StudioError(f"{where}: first_chunk.steps {first.steps} and streaming.steps {s.steps} must be at least 1")
    for section, width, height in (("streaming", s.width, s.height), ("refine", preset.refine.width, preset.refine.height)):
        if width % 8 or height % 8:
            raise StudioError(f"{where}: {section} size {width}x{height} must be divisible by 8")
    if preset.models.between_stages not in BETWEEN_STAGES:
        raise StudioError(f"{where}: models.between_stages {preset.models.between_stages!r} must be {one_of(BETWEEN_STAGES)}")
    if preset.refine.windows_per_call < 1 or preset.refine.feed_forward_tokens < 0:
        raise StudioError(f"{where}: refine.windows_per_call must be at least 1 and refine.feed_forward_tokens at least 0")
    if preset.models.repos:
        from studio.models.repos import check_repos  # light: no torch

        check_repos(preset.models.repos, where)
    if not 0.0 <= preset.refine.guidance_rescale <= 1.0:
        raise StudioError(f"{where}: refine.guidance_rescale {preset.refine.guidance_rescale} must be between 0 and 1")
    if not 0.0 < preset.refine.seam_strength <= 1.0:
        raise StudioError(f"{where}: refine.seam_strength {preset.refine.seam_strength} must be in (0, 1]; the default is 0.35")
    if preset.refine.mode not in REFINE_MODES:
        raise StudioError(f"{where}: refine.mode {preset.refine.mode!r} must be {one_of(REFINE_MODES)}")
    if preset.planning.planner not in PLANNERS:
        raise StudioError(f"{where}: planning.planner {preset.planning.planner!r} must be {one_of(PLANNERS)}")
    if preset.export.transition not in ("cut", "crossfade"):
        raise StudioError(f"{where}: export.transition {preset.export.transition!r} must be cut or crossfade")
    if preset.cluster.spec or preset.cluster.workers:
        try:
            check_cluster_spec(preset.cluster.spec)
        except StudioError as error:
            raise StudioError(f"{where}: cluster.spec: {error}") from None
        if preset.cluster.workers < 0:
            raise StudioError(f"{where}: cluster.workers {preset.cluster.workers} must be 0 (one per GPU) or more")
    if preset.qa.embedding_frames < 1:
        raise StudioError(f"{where}: qa.embedding_frames {preset.qa.embedding_frames} must be at least 1")
    return preset


def preset_from_dict(data: dict[str, Any], source: str = "<dict>") -> Preset:
    if not isinstance(data, dict) or "name" not in data:
        raise StudioError(f"{source}: a preset needs a 'name' key")
    preset = _build(Preset, data, "", source)
    preset.source = source
    return check_preset(preset)


def available_presets() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def preset_reference(preset: Preset) -> str:
    """How a project records its preset: by name only (a path in project.json could name any file, so a
    project made from a preset file is run with that file again through --preset)."""
    import re

    return re.sub(r"[^A-Za-z0-9_-]+", "-", preset.name).strip("-_")[:64] or "animatic"


def load_named_preset(name: str) -> Preset:
    """The bundled preset a project names; never a path (a project file may come from anyone)."""
    if name not in available_presets():
        raise StudioError(f"the project names preset {name!r}, which is not one of {', '.join(available_presets())}; "
                          "give the preset file with --preset")
    return load_preset(name)


def load_preset(name_or_path: str | Path) -> Preset:
    """Load a preset by name (presets/<name>.yaml) or by path to a YAML file."""
    import yaml  # light, but only needed here

    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = PRESETS_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        offered = [name for name in available_presets() if not name.startswith("bench-")]  # bench-*: `studio bench` only
        raise StudioError(f"preset {str(name_or_path)!r} not found: use one of {', '.join(offered)} or a path to a .yaml file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise StudioError(f"{path}: not valid YAML ({first_line(error)})") from None
    return preset_from_dict(data, str(path))

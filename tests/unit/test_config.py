"""Presets: every bundled file loads; unknown keys and bad values fail loudly, naming the key and the file."""

import pytest

from studio.config import available_presets, load_preset, preset_from_dict, preset_reference
from studio.errors import StudioError


def test_every_bundled_preset_loads():
    names = available_presets()
    assert {"tiny", "animatic", "gpu", "zerogpu"} <= set(names)
    for name in names:
        preset = load_preset(name)
        assert preset.name == name
        assert preset_reference(preset) == name


def test_gpu_presets_state_their_memory_and_real_model_ids():
    gpu = load_preset("gpu")
    assert gpu.gpu_memory_gb > 0 and gpu.models.backend == "hub"
    assert gpu.models.base_video == "damo-vilab/text-to-video-ms-1.7b"
    assert (gpu.streaming.steps, gpu.streaming.guidance, gpu.streaming.eta, gpu.streaming.fps) == (50, 7.5, 1.0, 8)
    assert load_preset("tiny").gpu_memory_gb == 0


def test_unknown_key_names_the_key_and_the_file(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\nstreaming:\n  stepz: 3\n")
    with pytest.raises(StudioError, match=r"mine.yaml: unknown key streaming\.'stepz'"):
        load_preset(path)
    path.write_text("name: mine\ncolour: red\n")
    with pytest.raises(StudioError, match="unknown key 'colour'"):
        load_preset(path)


@pytest.mark.parametrize(
    "data, message",
    [
        ({"streaming": {"steps": "many"}}, "streaming.steps must be int"),
        ({"streaming": {"width": 250}}, "divisible by 8"),
        ({"refine": {"mode": "fancy"}}, "refine.mode 'fancy'"),
        ({"refine": {"seam_strength": 0}}, r"refine.seam_strength 0.0 must be in \(0, 1\]"),
        ({"refine": {"seam_strength": 1.5}}, r"refine.seam_strength 1.5 must be in \(0, 1\]"),
        ({"models": {"backend": "cloud"}}, "models.backend 'cloud'"),
        ({"streaming": {"context_frames": 16}}, "context_frames 16"),
        ({"first_chunk": {"scheduler": "euler"}}, "x.yaml: first_chunk.scheduler 'euler' must be dpm-solver-multistep, ddim"),
        ({"first_chunk": {"unet": "finetuned"}}, "first_chunk.unet 'finetuned' must be base or streaming"),
        ({"first_chunk": {"steps": 0}}, "first_chunk.steps 0"),
        ({"first_chunk": {"guidance": "high"}}, "first_chunk.guidance must be float"),
    ],
)
def test_bad_values_are_refused(data, message):
    with pytest.raises(StudioError, match=message) as error:
        preset_from_dict({"name": "x", **data}, "x.yaml")
    assert "\n" not in str(error.value)  # one line


def test_the_first_chunk_section_defaults_to_the_official_first_stage():
    first = preset_from_dict({"name": "x"}, "x.yaml").first_chunk
    assert (first.unet, first.scheduler, first.steps, first.guidance) == ("base", "dpm-solver-multistep", 50, 9.0)
    for name in ("gpu", "bench-gpu"):
        first = load_preset(name).first_chunk
        assert (first.unet, first.scheduler, first.steps, first.guidance) == ("base", "dpm-solver-multistep", 50, 9.0)
        streaming = load_preset(name).streaming  # the CAM/APM chunks keep the official DDIM settings
        assert (streaming.scheduler, streaming.steps, streaming.guidance, streaming.eta) == ("ddim", 50, 7.5, 1.0)


def test_preset_by_path_and_missing_preset(tmp_path):
    path = tmp_path / "custom.yaml"
    path.write_text("name: custom\nstreaming:\n  steps: 4\n")
    preset = load_preset(str(path))
    assert preset.streaming.steps == 4 and preset.streaming.guidance == 7.5
    assert preset_reference(preset) == "custom"  # a project names presets by name only, never by path
    with pytest.raises(StudioError, match="not found: use one of") as error:
        load_preset("nope")
    assert "animatic" in str(error.value) and "bench-" not in str(error.value)  # bench presets are for `bench`


def test_a_project_preset_is_a_bundled_name_never_a_path(tmp_path):
    """An archive cannot ship its own preset (and so raise its own limits): a path is honoured from --preset only."""
    from studio.config import load_named_preset

    path = tmp_path / "evil.yaml"
    path.write_text("name: evil\nreferences:\n  max_upload_pixels: 999999999\n")
    assert load_named_preset("tiny").name == "tiny"
    for name in (str(path), "../presets/tiny", "evil"):
        with pytest.raises(StudioError, match="give the preset file with --preset"):
            load_named_preset(name)

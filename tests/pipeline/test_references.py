"""Stage 2 on the tiny preset: references, scene images through the real IP-Adapter path, approval, uploads."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
from PIL import Image

from studio.errors import StudioError
from studio.models.cache import get_component
from studio.project.lock import LOCK_FILE
from studio.project.model import Entity, Scene, Script, load_project, new_project, save_project
from studio.references import stage as references

FOX, OWL, FOREST = "fox", "owl", "forest"


def make_project(project_dir, seeds=(11, 22, 33)):
    """Three entities (two characters, one place) and three scenes: all three, the owl alone, nobody."""
    script = Script(
        prompt="a fox and an owl in a forest",
        entities=[
            Entity(id=FOX, name="fox", description="a small red fox", seed=seeds[0]),
            Entity(id=OWL, name="owl", description="an old grey owl", seed=seeds[1]),
            Entity(id=FOREST, name="forest", description="a snowy pine forest", seed=seeds[2], kind="background"),
        ],
        scenes=[
            Scene(id="s1", title="meet", event="the fox meets the owl", entity_ids=[FOX, OWL, FOREST],
                  background="a snowy pine forest", camera="pan left", seed=101),
            Scene(id="s2", title="owl", event="the owl flies", entity_ids=[OWL], camera="static", seed=102),
            Scene(id="s3", title="sky", event="stars over the hills", entity_ids=[], camera="tilt up", seed=103),
        ],
    )
    save_project(new_project("demo", "tiny", script), project_dir)
    return project_dir


def snapshot(project_dir):
    """Every file's bytes (the project.json backup and the empty lock file aside)."""
    return {p.relative_to(project_dir).as_posix(): p.read_bytes()
            for p in sorted(project_dir.rglob("*")) if p.is_file() and p.name not in ("project.json.bak", LOCK_FILE)}


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path / "demo")


def test_makes_one_png_per_entity_and_scene_and_reruns_identically(tmp_path, tiny_preset):
    first = make_project(tmp_path / "a")
    calls = []
    made = references.make_references(first, tiny_preset, progress=lambda f, m: calls.append((f, m)))
    files = snapshot(first)
    assert sorted(files) == ["entities/forest.png", "entities/fox.png", "entities/owl.png", "project.json",
                             "scenes/s1/image.png", "scenes/s2/image.png", "scenes/s3/image.png"]
    for name, data in files.items():
        if name.endswith(".png"):
            image = Image.open(io.BytesIO(data))
            assert image.mode == "RGB" and image.size == (32, 32)
    assert [e.status for e in made.script.entities] == ["pending"] * 3
    assert made.script.entity(FOX).ref_prompt.startswith("a small red fox, isolated on a plain neutral grey")
    assert load_project(first) == made
    assert calls[-1][0] == 1.0 and [f for f, _ in calls] == sorted(f for f, _ in calls)

    # Same seeds in another folder: the same bytes; a second call on a complete project makes nothing.
    second = make_project(tmp_path / "b")
    references.make_references(second, tiny_preset)
    assert snapshot(second) == files
    references.make_references(first, tiny_preset)
    assert {k: v for k, v in snapshot(first).items() if k != "project.json"} == \
           {k: v for k, v in files.items() if k != "project.json"}


def test_regenerating_one_entity_changes_only_it_and_its_scenes(project, tiny_preset):
    references.make_references(project, tiny_preset, approve=True)
    before = snapshot(project)
    updated = references.make_references(project, tiny_preset, entity_id=FOX, approve=True)
    after = snapshot(project)
    assert updated.script.entity(FOX).seed == 12  # the old seed + 1
    changed = {name for name in before if before[name] != after[name]}
    # The fox and the one scene it is in; the owl, the forest and the other scenes keep their bytes.
    assert changed == {"entities/fox.png", "scenes/s1/image.png", "project.json"}

    # Not approved: back to pending, and its scene is remade without it.
    pending = references.make_references(project, tiny_preset, entity_id=FOX, seed=500)
    assert pending.script.entity(FOX).seed == 500 and pending.script.entity(FOX).status == "pending"


def test_explicit_seed_matches_a_fresh_entity_with_that_seed(tmp_path, tiny_preset):
    regenerated = make_project(tmp_path / "a")
    references.make_references(regenerated, tiny_preset)
    references.make_references(regenerated, tiny_preset, entity_id=OWL, seed=77)
    fresh = make_project(tmp_path / "b", seeds=(11, 77, 33))
    references.make_references(fresh, tiny_preset)
    assert (regenerated / "entities/owl.png").read_bytes() == (fresh / "entities/owl.png").read_bytes()
    assert (regenerated / "entities/owl.png").read_bytes() != (tmp_path / "b/entities/fox.png").read_bytes()


def test_ip_adapter_gets_the_right_references_in_order_with_scales_and_masks(project, tiny_preset, monkeypatch):
    pipe = get_component(tiny_preset, "text_to_image")
    scales, images, masks = [], [], []
    original_scale, original_embeds, original_masks = (pipe.set_ip_adapter_scale, pipe.prepare_ip_adapter_image_embeds,
                                                       references._mask_tensor)

    def spy_scale(scale):
        scales.append(scale)
        return original_scale(scale)

    def spy_embeds(ip_adapter_image, *args, **kwargs):
        images.append([np.asarray(image) for image in ip_adapter_image[0]])
        return original_embeds(ip_adapter_image, *args, **kwargs)

    def spy_masks(mask_images, width, height):
        masks.append([np.asarray(m) > 0 for m in mask_images])
        return original_masks(mask_images, width, height)

    monkeypatch.setattr(pipe, "set_ip_adapter_scale", spy_scale)
    monkeypatch.setattr(pipe, "prepare_ip_adapter_image_embeds", spy_embeds)
    monkeypatch.setattr(references, "_mask_tensor", spy_masks)
    references.make_references(project, tiny_preset, approve=True)

    fg, bg = tiny_preset.references.foreground_scale, tiny_preset.references.background_scale
    assert (fg, bg) == (0.5, 0.33)
    assert scales == [[[fg, fg, bg]], [[fg]]]  # s1: fox, owl, forest; s2: owl; s3 has no reference: no adapter
    refs = {e: np.asarray(Image.open(project / f"entities/{e}.png")) for e in (FOX, OWL, FOREST)}
    assert len(images) == 2 and len(images[0]) == 3 and len(images[1]) == 1
    for got, wanted in zip(images[0] + images[1], [FOX, OWL, FOREST, OWL]):
        assert np.array_equal(got, refs[wanted])
    # Two characters: left and right halves; the background everywhere; one character alone: everywhere.
    fox_mask, owl_mask, forest_mask = masks[0]
    assert fox_mask[:, :16].all() and not fox_mask[:, 16:].any()
    assert owl_mask[:, 16:].all() and not owl_mask[:, :16].any()
    assert forest_mask.all() and masks[1][0].all()
    # The shared pipeline is plain again afterwards.
    assert pipe.unet.encoder_hid_proj is None and pipe.unet.config.encoder_hid_dim_type is None
    assert not any(hasattr(p, "to_k_ip") for p in pipe.unet.attn_processors.values())


def test_adapter_changes_the_scene_and_leaves_plain_calls_alone(tmp_path, tiny_preset):
    entity = Entity(id="probe", name="probe", description="a blue kettle", seed=5)
    before = np.asarray(references._render_entity(tiny_preset, entity, "a blue kettle"))
    with_refs, without_refs = make_project(tmp_path / "a"), make_project(tmp_path / "b")
    references.make_references(with_refs, tiny_preset, approve=True)
    references.make_references(without_refs, tiny_preset)  # pending references are not fed to scenes
    after = np.asarray(references._render_entity(tiny_preset, entity, "a blue kettle"))
    assert np.array_equal(before, after)
    image = lambda root, scene: np.asarray(Image.open(root / f"scenes/{scene}/image.png")).astype(int)
    assert np.abs(image(with_refs, "s1") - image(without_refs, "s1")).mean() > 1.0
    assert np.array_equal(image(with_refs, "s3"), image(without_refs, "s3"))  # no entities: no adapter


def test_status_changes_clear_the_scenes_that_use_the_entity(project, tiny_preset):
    references.make_references(project, tiny_preset)
    updated = references.set_entity_status(project, OWL, "approved")
    assert updated.script.entity(OWL).status == "approved"
    assert not (project / "scenes/s1/image.png").exists()
    assert not (project / "scenes/s2/image.png").exists() and (project / "scenes/s3/image.png").exists()
    assert load_project(project) == updated
    # The next call remakes exactly the cleared ones, now with the owl's reference.
    remade = references.make_references(project, tiny_preset)
    assert all((project / f"scenes/{s.id}/image.png").is_file() for s in remade.script.scenes)
    # A rejected reference is no longer drawn: the scenes it was in are cleared, to be remade without it.
    references.set_entity_status(project, FOX, "rejected")
    assert not (project / "scenes/s1/image.png").exists()


@pytest.mark.parametrize("call, message", [
    (lambda p, preset: references.make_references(p, preset, entity_id="dragon"), "entity 'dragon' is not in the script"),
    (lambda p, preset: references.make_references(p, preset, entity_id=FOX, seed=-3), "seed -3"),
    (lambda p, preset: references.make_references(p, preset, seed=4), "--entity"),
    (lambda p, preset: references.set_entity_status(p, FOX, "great"), "status 'great'"),
    (lambda p, preset: references.set_entity_status(p, FOX, "approved"), "no reference image yet"),
    (lambda p, preset: references.set_entity_status(p, "dragon", "approved"), "not in the script"),
    (lambda p, preset: references.make_references(
        p, dataclasses.replace(preset, models=dataclasses.replace(preset.models, text_to_image=""))), "no text-to-image model"),
])
def test_bad_input_is_refused_and_the_project_is_unchanged(project, tiny_preset, call, message):
    before = snapshot(project)
    with pytest.raises(StudioError, match=message):
        call(project, tiny_preset)
    assert snapshot(project) == before


def test_a_failure_midway_leaves_the_project_as_it_was(project, tiny_preset, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    before = snapshot(project)
    monkeypatch.setattr(references, "_render_scene", broken)
    with pytest.raises(RuntimeError):
        references.make_references(project, tiny_preset)  # the entity images were made, then a scene failed
    assert snapshot(project) == before
    monkeypatch.undo()

    references.make_references(project, tiny_preset)
    before = snapshot(project)
    monkeypatch.setattr(references, "save_project", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        references.make_references(project, tiny_preset, entity_id=FOX)  # files written, project.json not
    assert snapshot(project) == before


def test_upload_converts_stores_rgb_approves_and_clears_scenes(project, tiny_preset):
    references.make_references(project, tiny_preset)
    rgba = np.zeros((20, 30, 4), dtype=np.uint8)
    rgba[..., :3], rgba[:10, :, 3] = (40, 90, 200), 255  # top half opaque blue, bottom transparent
    updated = references.upload_entity_image(project, FOX, Image.fromarray(rgba, "RGBA"))
    stored = Image.open(project / "entities/fox.png")
    assert stored.format == "PNG" and stored.mode == "RGB" and stored.size == (30, 20)
    pixels = np.asarray(stored)
    assert (pixels[:10] == (40, 90, 200)).all() and (pixels[10:] == 255).all()
    assert updated.script.entity(FOX).status == "approved"
    assert not (project / "scenes/s1/image.png").exists() and (project / "scenes/s2/image.png").exists()


def test_bad_uploads_leave_the_project_unchanged(project, tiny_preset, tmp_path):
    references.make_references(project, tiny_preset)
    before = snapshot(project)
    text = tmp_path / "fox.png"
    text.write_text("not a picture")
    huge = io.BytesIO()
    Image.new("L", (7100, 7100)).save(huge, format="PNG")  # 50.4 megapixels
    for source, message in ((text, "not an image"), (b"\x89PNG\r\n\x1a\ngarbage", "not an image"),
                            (huge.getvalue(), "50.4 megapixels")):
        with pytest.raises(StudioError, match=message):
            references.upload_entity_image(project, FOX, source)
    with pytest.raises(StudioError, match="not in the script"):
        references.upload_entity_image(project, "dragon", text)
    assert snapshot(project) == before


def test_animatic_backend_renders_cards_and_scene_images(tmp_path):
    from studio.config import load_preset

    preset = load_preset("animatic")
    first, second = make_project(tmp_path / "a"), make_project(tmp_path / "b")
    references.make_references(first, preset, approve=True)
    references.make_references(second, preset, approve=True)
    files = snapshot(first)
    assert snapshot(second) == files
    r = preset.references
    assert Image.open(first / "entities/fox.png").size == (r.width, r.height)
    assert Image.open(first / "scenes/s1/image.png").size == (r.scene_width, r.scene_height)


def test_cli_plan_then_refs_writes_every_image_identically(tmp_path):
    from studio.cli import main

    prompt = "A red fox meets an old owl in a snowy forest. The fox and the owl fly over a frozen lake."
    outputs = []
    for name in ("a", "b"):
        project_dir = tmp_path / name
        assert main(["plan", prompt, "--project", str(project_dir), "--preset", "tiny"]) == 0
        assert main(["refs", str(project_dir), "--preset", "tiny"]) == 0
        project = load_project(project_dir)
        pngs = {k: v for k, v in snapshot(project_dir).items() if k.endswith(".png")}
        assert len(pngs) == len(project.script.entities) + len(project.script.scenes) > 0
        outputs.append(pngs)
    assert outputs[0] == outputs[1]


def test_concurrent_sessions_get_the_same_images_as_serial_ones(tmp_path, tiny_preset):
    from concurrent.futures import ThreadPoolExecutor

    serial = make_project(tmp_path / "serial")
    references.make_references(serial, tiny_preset, approve=True)
    parallel = [make_project(tmp_path / f"p{i}") for i in range(2)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda root: references.make_references(root, tiny_preset, approve=True), parallel))
    for root in parallel:
        assert {k: v for k, v in snapshot(root).items() if k.endswith(".png")} == \
               {k: v for k, v in snapshot(serial).items() if k.endswith(".png")}


def test_hub_style_checkpoint_file_loads_and_a_missing_one_is_a_clear_error(tmp_path, tiny_preset):
    from safetensors.torch import save_file

    from studio.errors import ModelUnavailableError
    from studio.references.ip_adapter import load_ip_adapter_weights, random_ip_adapter_state_dict

    pipe = get_component(tiny_preset, "text_to_image")
    state = random_ip_adapter_state_dict(pipe.unet, pipe.image_encoder.config.projection_dim, seed=3)
    (tmp_path / "models").mkdir()
    flat = {f"{part}.{key}": value.contiguous() for part, tensors in state.items() for key, value in tensors.items()}
    save_file(flat, str(tmp_path / "models" / "ip-adapter_sd15.safetensors"))
    models = dataclasses.replace(tiny_preset.models, backend="hub", ip_adapter=str(tmp_path))
    hub_like = dataclasses.replace(tiny_preset, models=models)

    weights = load_ip_adapter_weights(hub_like, pipe)
    ip_processors = [p for p in weights.processors.values() if hasattr(p, "to_k_ip")]
    assert len(ip_processors) == len(state["ip_adapter"]) // 2 == 4
    assert any(torch_equal(p.to_k_ip[0].weight, state["ip_adapter"]["1.to_k_ip.weight"]) for p in ip_processors)
    assert pipe.unet.encoder_hid_proj is None  # put back to plain

    missing = dataclasses.replace(hub_like, models=dataclasses.replace(models, ip_adapter_weight="nope.safetensors"))
    with pytest.raises(ModelUnavailableError, match="could not load ip_adapter .*nope.safetensors"):
        load_ip_adapter_weights(missing, pipe)
    assert not any(hasattr(p, "to_k_ip") for p in pipe.unet.attn_processors.values())


def torch_equal(a, b):
    import torch

    return torch.equal(a.detach().cpu(), b)

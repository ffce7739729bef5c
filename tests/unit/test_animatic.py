"""The animatic renderer: shapes, determinism, real camera moves, seamless chunks, captions, cards."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
from PIL import Image

from studio.animatic import (
    frames_to_image,
    render_chunk,
    render_entity_card,
    render_frames,
    render_scene_image,
    scene_length_frames,
)
from studio.animatic.camera import PAN_ZOOM, layer_poses, scene_progress
from studio.animatic.render import caption_text, chunk_frame_numbers
from studio.animatic.scenery import choose_look
from studio.animatic.text import CAPTION_MAX_LINES, caption_overlay, font, label_strip_height, text_width, wrap_text
from studio.config import load_preset
from studio.errors import StudioError
from studio.project.model import CAMERA_MOVES, Entity, Scene, Script


@pytest.fixture(scope="module")
def preset():
    return load_preset("animatic")


def make_script(camera="static", background="a pine forest", entity_ids=("fox", "owl"), n_chunks=3, seed=7):
    entities = [Entity(id="fox", name="Ruby the Fox", description="a small red fox"),
                Entity(id="owl", name="Professor Owl", description="a wise brown owl"),
                Entity(id="woods", name="The Woods", description="a dark forest", kind="background")]
    scene = Scene(id="s1", title="Meeting", event="The fox meets the owl", entity_ids=list(entity_ids),
                  background=background, camera=camera, n_chunks=n_chunks, seed=seed)
    return Script(prompt="a fox and an owl", scenes=[scene], entities=entities), scene


def textured_anchor(height=256, width=256, seed=0):
    """A scene image with detail at every scale, so shifts and zooms are measurable anywhere."""
    rng = np.random.default_rng(seed)
    noise = rng.random((height // 8, width // 8, 3)).astype(np.float32)
    coarse = cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    fine = cv2.GaussianBlur(rng.random((height, width, 3)).astype(np.float32), (0, 0), 1.5)
    return np.clip((0.7 * coarse + 0.3 * fine) * 255, 0, 255).astype(np.uint8)


def picture_rows(preset):
    """Rows between the label strip and the caption band: the picture alone."""
    return slice(label_strip_height(preset.streaming.height) + 2, int(preset.streaming.height * 0.7))


def gray(frame):
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)


def shift_between(preset, a, b):
    rows = picture_rows(preset)
    window = cv2.createHanningWindow(gray(a[rows]).shape[::-1], cv2.CV_32F)
    (dx, dy), _ = cv2.phaseCorrelate(gray(a[rows]), gray(b[rows]), window)
    return dx, dy


def all_frames(preset, script, scene, anchor=None):
    return render_frames(preset, script, scene, range(scene_length_frames(preset, scene)), anchor, "The fox meets the owl")


# ----------------------------------------------------------------------------- shapes, determinism, speed


def test_chunk_shapes_and_dtype(preset, tiny_preset):
    script, scene = make_script(camera="pan right")
    first = render_chunk(preset, script, scene, 0, None, None, 1, scene.prompt_for_chunk(0))
    later = render_chunk(preset, script, scene, 1, first[-8:], None, 2, scene.prompt_for_chunk(1))
    assert first.shape == (16, 256, 256, 3) and first.dtype == np.uint8
    assert later.shape == (8, 256, 256, 3) and later.dtype == np.uint8
    tiny = render_chunk(tiny_preset, script, scene, 2, None, None, 3, "a very long caption " * 20)
    assert tiny.shape == (8, tiny_preset.streaming.height, tiny_preset.streaming.width, 3)
    assert frames_to_image(first[:6], columns=4).size == (4 * 260 + 4, 2 * 260 + 4)


def test_same_inputs_give_identical_frames_and_seed_changes_layout(preset):
    script, scene = make_script(camera="orbit")
    a = render_chunk(preset, script, scene, 1, None, None, 5, "event")
    b = render_chunk(preset, script, scene, 1, None, None, 5, "event")
    assert np.array_equal(a, b)
    other_script, other_scene = make_script(camera="orbit", seed=8)
    c = render_chunk(preset, other_script, other_scene, 1, None, None, 5, "event")
    assert not np.array_equal(a, c)  # the layout follows the scene's seed


def test_chunk_zero_is_sixteen_frames(preset):
    # How long it takes is a figure of `python -m studio bench` (report["animatic"]), not an assertion here.
    script, scene = make_script(camera="dolly in", background="a city street at night")
    frames = render_chunk(preset, script, scene, 0, None, None, 0, "The fox meets the owl")
    assert frames.shape == (16, preset.streaming.height, preset.streaming.width, 3) and frames.dtype == np.uint8


# ----------------------------------------------------------------------------- the camera really moves


@pytest.mark.parametrize("move, axis, sign", [("pan right", 0, -1), ("pan left", 0, 1), ("tilt down", 1, -1),
                                              ("tilt up", 1, 1)])
def test_pan_and_tilt_shift_the_picture_by_the_planned_amount(preset, move, axis, sign):
    script, scene = make_script(camera=move)
    frames = render_frames(preset, script, scene, [4, 12], textured_anchor(), "caption")
    shift = shift_between(preset, frames[0], frames[1])
    total = scene_length_frames(preset, scene)
    poses = [layer_poses(move, scene_progress(n, total), n, False)[0] for n in (4, 12)]
    delta = (poses[1].cx - poses[0].cx) if axis == 0 else (poses[1].cy - poses[0].cy)
    expected = -delta * preset.streaming.width * PAN_ZOOM  # the window moves one way, the content the other
    assert np.sign(shift[axis]) == sign and abs(expected) > 5
    assert shift[axis] == pytest.approx(expected, abs=1.0)
    assert abs(shift[1 - axis]) < 0.5


def test_composed_pan_moves_background_and_cards_together(preset):
    script, scene = make_script(camera="pan right", background="a city street")
    frames = all_frames(preset, script, scene)
    dx, dy = shift_between(preset, frames[0], frames[10])
    assert dx < -5 and abs(dy) < 0.5


def _best_scale(a, b, centre):
    """The factor s for which `a` scaled by s about `centre` best matches `b` (inner region only)."""
    h, w = a.shape
    inner = (slice(h // 4, 3 * h // 4), slice(w // 4, 3 * w // 4))
    errors = {}
    for s in np.arange(0.6, 1.6, 0.01):
        matrix = cv2.getRotationMatrix2D(centre, 0.0, float(s))
        scaled = cv2.warpAffine(a, matrix, (w, h), flags=cv2.INTER_LINEAR)
        errors[round(float(s), 2)] = float(np.mean((scaled[inner] - b[inner]) ** 2))
    return min(errors, key=errors.get)


@pytest.mark.parametrize("move, grows", [("zoom in", True), ("zoom out", False)])
def test_zoom_scales_the_content(preset, move, grows):
    script, scene = make_script(camera=move)
    frames = render_frames(preset, script, scene, [0, 20], textured_anchor(), "")
    total = scene_length_frames(preset, scene)
    zooms = [layer_poses(move, scene_progress(n, total), n, False)[0].zoom for n in (0, 20)]
    centre = (preset.streaming.width / 2 - 0.5, preset.streaming.height / 2 - 0.5)
    scale = _best_scale(gray(frames[0]), gray(frames[1]), centre)
    assert (scale > 1.05) if grows else (scale < 0.95)
    assert scale == pytest.approx(zooms[1] / zooms[0], abs=0.02)


def test_static_frames_are_identical_below_the_label_strip(preset):
    anchor = textured_anchor()
    script, scene = make_script(camera="static")
    frames = render_frames(preset, script, scene, range(16), anchor, "The fox meets the owl")
    strip = label_strip_height(preset.streaming.height)
    assert all(np.array_equal(frames[0, strip:], frame[strip:]) for frame in frames[1:])
    assert not np.array_equal(frames[0, :strip], frames[-1, :strip])  # the time label counts on
    rows = picture_rows(preset)
    assert np.array_equal(frames[0, rows], anchor[rows])  # the static view is the scene image itself


def test_dolly_grows_cards_faster_than_background(preset):
    total = 32
    bg, cards = layer_poses("dolly in", 1.0, total, True)
    assert cards.zoom > bg.zoom > 1.0
    script, scene = make_script(camera="dolly in")
    frames = all_frames(preset, script, scene)
    assert not np.array_equal(frames[0], frames[-1])


@pytest.mark.parametrize("move", list(CAMERA_MOVES))
def test_every_camera_move_renders_both_ways(preset, move):
    script, scene = make_script(camera=move, n_chunks=2)
    for anchor in (None, textured_anchor()):
        first = render_chunk(preset, script, scene, 0, None, anchor, 0, "caption")
        second = render_chunk(preset, script, scene, 1, first[-8:], anchor, 1, "caption")
        assert first.shape == (16, 256, 256, 3) and second.shape == (8, 256, 256, 3)
        rows = picture_rows(preset)
        moved = not np.array_equal(first[0, rows], second[-1, rows])
        assert moved == (move != "static"), move


# ----------------------------------------------------------------------------- continuity over chunks


@pytest.mark.parametrize("move", ["pan right", "orbit", "tracking", "dolly out"])
def test_concatenated_chunks_equal_one_long_render(preset, move):
    script, scene = make_script(camera=move, n_chunks=3)
    chunks = [render_chunk(preset, script, scene, k, None, None, k, "The fox meets the owl") for k in range(3)]
    long_render = all_frames(preset, script, scene)
    assert long_render.shape[0] == 16 + 8 * 2
    assert np.array_equal(np.concatenate(chunks), long_render)


def test_frame_numbers_follow_the_chunk_layout(preset):
    assert list(chunk_frame_numbers(preset, 0)) == list(range(16))
    assert list(chunk_frame_numbers(preset, 3)) == list(range(16 + 8 * 2, 16 + 8 * 3))


def test_camera_stays_smooth_past_the_planned_length():
    progress = [scene_progress(n, 32) for n in range(80)]
    assert min(progress) == 0.0 and max(progress) == pytest.approx(1.0)
    assert max(abs(b - a) for a, b in zip(progress, progress[1:])) < 0.06  # no jump anywhere


# ----------------------------------------------------------------------------- captions and labels


def test_long_captions_wrap_and_stay_inside_the_frame():
    width, height = 256, 256
    overlay = caption_overlay("The fox runs through the whole forest and " * 30, width, height)
    rows, cols = np.nonzero(overlay[..., 3])
    assert rows.min() > height // 2 and rows.max() < height and cols.min() > 0 and cols.max() < width - 1
    face = font(14)
    lines, complete = wrap_text("word " * 200 + "x" * 300, face, 200, CAPTION_MAX_LINES)
    assert not complete and len(lines) == CAPTION_MAX_LINES and lines[-1].endswith("…")
    assert all(text_width(line, face) <= 200 for line in lines)
    one_word, _ = wrap_text("y" * 120, face, 100, 5)
    assert len(one_word) > 1 and all(text_width(line, face) <= 100 for line in one_word)


def test_caption_drops_the_camera_phrase_the_label_shows():
    scene = Scene(id="s", title="t", event="A fox runs", background="forest", camera="pan left")
    assert caption_text(scene.prompt_for_chunk(0), "pan left") == "A fox runs, forest"
    assert caption_text("  spaced   out  ", "static") == "spaced out"
    assert caption_text("A fox runs, camera pans left", "pan left") == "A fox runs"  # older chunk prompts


# ----------------------------------------------------------------------------- cards, scene images, looks


def test_entity_card_shows_the_colour_of_its_description():
    fox = Entity(id="fox", name="Ruby", description="a bright red fox")
    frog = Entity(id="frog", name="Kermit", description="a green frog")
    red, green = (np.asarray(render_entity_card(e, 96, 128, 3)) for e in (fox, frog))
    assert red.shape == (128, 96, 3)
    assert np.mean((red[..., 0] > 150) & (red[..., 1] < 90)) > 0.05
    assert np.mean((green[..., 1] > 120) & (green[..., 0] < 100)) > 0.05
    assert np.array_equal(red, np.asarray(render_entity_card(fox, 96, 128, 3)))
    # The name is written in dark ink in the bottom part of the card.
    assert np.mean(red[96:, :, :].max(axis=2) < 80) > 0.01
    unnamed = np.asarray(render_entity_card(dataclasses.replace(fox, name="x"), 96, 128, 3))
    assert not np.array_equal(red[96:], unnamed[96:])


def test_scene_image_places_the_given_entity_images():
    script, scene = make_script(background="a sunny beach")
    magenta = Image.new("RGB", (64, 64), (255, 0, 255))
    with_image = np.asarray(render_scene_image(script, scene, {"fox": magenta}, 192, 160, 1))
    drawn = np.asarray(render_scene_image(script, scene, {}, 192, 160, 1))
    assert with_image.shape == (160, 192, 3)
    is_magenta = lambda a: np.mean((a[..., 0] > 200) & (a[..., 1] < 60) & (a[..., 2] > 200))  # noqa: E731
    assert is_magenta(with_image) > 0.02 and is_magenta(drawn) == 0.0


def test_looks_come_from_the_scene_text():
    assert choose_look("a snowy city").theme.name == "snow"
    assert choose_look("a city in the snow").theme.name == "city"
    night = choose_look("a pine forest", "the owl hoots at midnight")
    assert (night.theme.name, night.time) == ("forest", "night")
    assert choose_look("", "they build a sandcastle on the beach").theme.name == "beach"
    dream_a, dream_b = choose_look("a misty dreamscape"), choose_look("an odd vapour realm")
    assert dream_a.theme.name == "abstract" and dream_a.theme.sky != dream_b.theme.sky


def test_backgrounds_differ_by_place(preset):
    pictures = []
    for place in ("a pine forest", "a city street at night", "outer space", "a cozy kitchen"):
        script, scene = make_script(background=place, entity_ids=())
        pictures.append(np.asarray(render_scene_image(script, scene, {}, 64, 64, 0)).astype(np.float32))
    for i in range(len(pictures)):
        for j in range(i + 1, len(pictures)):
            assert np.abs(pictures[i] - pictures[j]).mean() > 10


# ----------------------------------------------------------------------------- errors and odd inputs


def test_errors_name_the_bad_value(preset):
    script, scene = make_script(camera="spin")
    with pytest.raises(StudioError, match="'spin'"):
        render_chunk(preset, script, scene, 0, None, None, 0, "x")
    script, scene = make_script()
    with pytest.raises(StudioError, match="shape"):
        render_chunk(preset, script, scene, 0, None, np.zeros((10, 10)), 0, "x")
    with pytest.raises(StudioError, match="-1"):
        render_chunk(preset, script, scene, -1, None, None, 0, "x")


def test_odd_anchors_and_unknown_entities_still_render(preset):
    script, scene = make_script(camera="zoom in", entity_ids=("fox", "ghost"))
    float_anchor = np.random.default_rng(0).random((100, 300, 3)).astype(np.float32)
    frames = render_chunk(preset, script, scene, 0, None, float_anchor, 0, "x")
    assert frames.shape == (16, 256, 256, 3)
    rgba = np.zeros((256, 256, 4), np.uint8)
    assert render_chunk(preset, script, scene, 0, None, rgba, 0, "x").shape == (16, 256, 256, 3)
    assert render_chunk(preset, script, scene, 0, None, None, 0, "").shape == (16, 256, 256, 3)


def test_weather_falls_and_stays_seamless_across_chunks(preset):
    script, scene = make_script(camera="static", background="a field in the rain", n_chunks=2)
    chunks = [render_chunk(preset, script, scene, k, None, None, k, "The fox meets the owl") for k in range(2)]
    long_render = all_frames(preset, script, scene)
    assert np.array_equal(np.concatenate(chunks), long_render)
    rows = picture_rows(preset)
    assert not np.array_equal(long_render[0, rows], long_render[1, rows])  # the rain moves on a static shot

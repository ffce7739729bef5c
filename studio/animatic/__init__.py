"""The animatic renderer: the offline default when there is no GPU or no Hub.

No neural network: each scene becomes a legible storyboard a creator can time and review — a
background chosen from the scene text, entity cards (reference images when they exist), the camera
move applied as a real pan / zoom / tilt / dolly / orbit / tracking over the frames, the event as a
caption, and a small label that says it is an animatic.
"""

from studio.animatic.cards import render_entity_card, render_scene_image
from studio.animatic.render import chunk_frame_numbers, frames_to_image, render_chunk, render_frames, scene_length_frames

__all__ = ["render_chunk", "render_entity_card", "render_scene_image", "render_frames", "chunk_frame_numbers",
           "scene_length_frames", "frames_to_image"]

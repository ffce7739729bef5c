"""Stage 4, Refine: each scene upscaled window by window without seams (StreamingT2V stage 3).

- stage.py     refine_scene / refine_project: SDEdit over overlapping windows, shared noise, X-T slices
- blending.py  pure functions of the window schedule and the randomized blending of overlaps
"""

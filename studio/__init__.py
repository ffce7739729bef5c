"""StreamStudio: one prompt to a long, multi-scene, consistent video.

The pipeline has five stages, each a function of the previous artifact:
Plan (studio.planning) -> Cast (studio.references) -> Shoot (studio.streaming)
-> Refine (studio.refine) -> Export (studio.export). Nothing heavy happens at import.
"""

__version__ = "0.1.0"

"""Media files: frames <-> mp4 and npz (video.py), images in and out (images.py)."""

import os

os.environ.setdefault("ASTROCORE_PROGRESS", "0")

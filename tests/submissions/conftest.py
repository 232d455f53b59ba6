"""The notebooks here are contest hand-ins to grade (some crash or never end on purpose),
not notebooks for nbval to run."""

collect_ignore_glob = ["*.ipynb"]

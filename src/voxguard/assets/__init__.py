"""Small data files shipped with voxguard (demo audio)."""

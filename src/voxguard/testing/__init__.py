"""voxguard.testing."""

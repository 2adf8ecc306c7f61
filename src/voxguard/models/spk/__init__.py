"""spk models; each module registers its variants."""

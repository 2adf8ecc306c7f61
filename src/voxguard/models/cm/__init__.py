"""cm models; each module registers its variants."""

"""Pieces every search composes: samples and signal injection, mJJ region grids, spectrum
analysis with a fit strategy, and sensitivity (Delta-Z)."""

"""Channels: the adapter seam, the provider registry and the ingress pipeline."""

"""The Lightning backend: MMEngine hooks as a Lightning Callback, and the config -> Trainer mapping."""

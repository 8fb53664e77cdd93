"""Aurora trainer package: the generator and CLIP text tower (PyTorch twins of our ONNX graph),
the discriminator, and the procedural training world. Import submodules directly, e.g.
`from aurora_train.generator import AuroraGenerator`, `from aurora_train.clip_text import ClipTextTower`."""

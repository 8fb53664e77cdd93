"""One reference module per file (models/text_generator.py of zhujiapeng/Aurora), in PyTorch."""
